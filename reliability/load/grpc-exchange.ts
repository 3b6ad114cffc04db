// The load client's gRPC calls: unary calls with @grpc/grpc-js on one channel, as a gRPC application makes them, each reply checked against its request.
//
// The method takes raw bytes and answers them back (the test apps' echo service), so no .proto is
// needed and a reply that differs from its request is caught (EMISMATCH: a call that "succeeded"
// with altered data is a failure). A failed call is recorded with its
// grpc-status and the `x-ferry-response-flags` the mesh put in its trailers or response headers. The client keeps
// grpc-js's defaults (transparent retry of streams the server never saw included).

import * as grpc from '@grpc/grpc-js';
import type { Exchange, Exchanger } from './exchange';
import { failed } from './exchange';
import { payloadFor } from './tcp-exchange';

export interface GrpcOptions {
  readonly host: string;
  readonly port: number;
  /** The full method path, `/package.Service/Method`. */
  readonly path: string;
  /** Bytes of each request message (0: empty messages). */
  readonly bytes: number;
}

const identity = (b: Buffer): Buffer => b;

function flagOfMetadata(md: grpc.Metadata | undefined): string {
  return (md?.get('x-ferry-response-flags') ?? []).map(String).join(',');
}

export function grpcExchanger(o: GrpcOptions): Exchanger {
  if (!/^\/[^/]+\/[^/]+$/.test(o.path)) throw new RangeError(`load: grpc needs path /package.Service/Method, got ${JSON.stringify(o.path)}`);
  const target = o.host.includes(':') ? `ipv6:[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return {
    send(x: Exchange) {
      const want = payloadFor(x.index, o.bytes);
      // The flag comes in the trailers of a trailers-only answer, or in the response headers when a proxy split them off the status.
      let headerFlag = '';
      const call = client.makeUnaryRequest(o.path, identity, identity, want, new grpc.Metadata(), (err: grpc.ServiceError | null, reply?: Buffer) => {
        if (err) return x.settle({ status: 0, flag: flagOfMetadata(err.metadata) || headerFlag, error: err.details || grpc.status[err.code] || '', grpcStatus: err.code });
        if (!reply || !reply.equals(want)) return x.settle(failed('EMISMATCH'));
        x.settle({ status: 0, flag: '', error: '', grpcStatus: 0 });
      });
      call.on('metadata', (md: grpc.Metadata) => (headerFlag = flagOfMetadata(md)));
      return () => call.cancel();
    },
    close: () => client.close(),
  };
}
