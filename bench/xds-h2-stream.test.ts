// Tests for the simulator's gRPC-over-HTTP/2 client: framing across chunk boundaries, and ADS against the real grpc-js AdsServer.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AdsServer } from '../src/controller/ads/ads-server';
import { SnapshotCache } from '../src/controller/ads/snapshot-cache';
import type { Snapshot } from '../src/controller/types';
import { Logger } from '../src/observability/logger';
import { ADS_METHOD_PATH, encodeDiscoveryRequest } from '../src/xds/ads-service';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../src/xds/type-urls';
import { frameMessage, GRPC_UNIMPLEMENTED, GrpcH2Stream, GrpcMessageReader, GrpcStatusError, GrpcTransportError } from './xds-h2-stream';
import { addressMarker, clusterEdsName, decodeResponseHeader, encodeRequest, encodeResourceNames, listenerRdsNames, resourcesContain, type ResponseHeader } from './xds-wire';

// ─── framing ───

/** Three messages (empty, small, larger than one 16 KiB HTTP/2 frame), framed back to back. */
const MESSAGES = [Buffer.alloc(0), Buffer.from('ack'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251))];
const WIRE = Buffer.concat(MESSAGES.map(frameMessage));

function readAll(chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  const reader = new GrpcMessageReader((m) => out.push(Buffer.from(m)));
  for (const c of chunks) reader.push(c);
  assert.equal(reader.buffered, 0, 'nothing left over');
  return out;
}

function chunked(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

test('frameMessage: flag 0, big-endian length, the bytes', () => {
  assert.deepEqual(frameMessage(Buffer.from('abc')), Buffer.from([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]));
  assert.deepEqual(frameMessage(new Uint8Array(0)), Buffer.from([0, 0, 0, 0, 0]));
});

test('GrpcMessageReader: the same messages whatever the chunk boundaries', () => {
  const cases: [string, Buffer[]][] = [
    ['all in one chunk', [WIRE]],
    ['one byte at a time', chunked(WIRE, 1)],
    ['3-byte chunks (headers split)', chunked(WIRE, 3)],
    ['7-byte chunks', chunked(WIRE, 7)],
    ['16 KiB chunks (a message across several)', chunked(WIRE, 16_384)],
    ['split inside the second header', [WIRE.subarray(0, 7), WIRE.subarray(7)]],
    ['split right after a header', [WIRE.subarray(0, 10), WIRE.subarray(10)]],
    ['empty chunks between', [WIRE.subarray(0, 4), Buffer.alloc(0), WIRE.subarray(4, 20), Buffer.alloc(0), WIRE.subarray(20)]],
  ];
  for (const [name, chunks] of cases) assert.deepEqual(readAll(chunks), MESSAGES, name);
});

test('GrpcMessageReader: a message is delivered only once complete, and messages within a chunk are views of it', () => {
  const got: Buffer[] = [];
  const reader = new GrpcMessageReader((m) => got.push(m));
  const big = frameMessage(MESSAGES[2]!);
  reader.push(big.subarray(0, 1000));
  reader.push(big.subarray(1000, big.length - 1));
  assert.equal(got.length, 0);
  assert.equal(reader.buffered, big.length - 1);
  reader.push(Buffer.concat([big.subarray(big.length - 1), frameMessage(Buffer.from('x')), frameMessage(Buffer.from('yz')).subarray(0, 2)]));
  assert.deepEqual(got.map((m) => m.length), [70_000, 1]);
  assert.equal(reader.buffered, 2);
  const joined = Buffer.concat([frameMessage(Buffer.from('p')), frameMessage(Buffer.from('q'))]);
  const reader2 = new GrpcMessageReader((m) => got.push(m));
  reader2.push(joined);
  assert.equal(got.at(-1)!.buffer, joined.buffer, 'not copied');
});

test('GrpcMessageReader: rejects compressed messages and lengths over the limit, naming them', () => {
  const compressed = frameMessage(Buffer.from('z'));
  compressed[0] = 1;
  assert.throws(() => new GrpcMessageReader(() => {}).push(compressed), (e: unknown) => e instanceof GrpcTransportError && /compressed flag 1/.test(e.message));
  assert.throws(() => new GrpcMessageReader(() => {}, 100).push(frameMessage(Buffer.alloc(101))), /101 bytes, over the 100-byte limit/);
  assert.throws(() => new GrpcMessageReader(() => {}, 100).push(Buffer.from([0, 0xff, 0xff, 0xff, 0xff])), /4294967295 bytes/);
});

// ─── against the ADS server ───

const cluster = (name: string) => ({ name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} }, service_name: `${name}-eds` } });
const cla = (name: string, ip: string) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } } }] }] });
const listener = (name: string, route: string) => ({
  name,
  address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
  filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 'x', rds: { route_config_name: route, config_source: { ads: {} } }, http_filters: [{ name: 'router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] } }] }],
});
const routeConfig = (name: string) => ({ name, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }] }] });

function snapshot(bIp: string): Snapshot {
  return {
    [CLUSTER_TYPE]: new Map([['a', cluster('a')], ['b', cluster('b')], ['c', cluster('c')]]),
    [ENDPOINT_TYPE]: new Map([['a-eds', cla('a-eds', '10.0.0.1')], ['b-eds', cla('b-eds', bIp)], ['c-eds', cla('c-eds', '10.0.0.3')]]),
    [LISTENER_TYPE]: new Map([['outbound', listener('outbound', '80')]]),
    [ROUTE_TYPE]: new Map([['80', routeConfig('80')]]),
  };
}

const NODE_FIELD = encodeDiscoveryRequest({ node: { id: 'sidecar~10.1.0.1~app-0.bench~bench.svc.cluster.local', cluster: 'bench', userAgentName: 'ferry' } });

/** A client stream with a queue of decoded responses and the call's outcome. */
class Client {
  private readonly queue: ResponseHeader[] = [];
  private waiters: (() => void)[] = [];
  error: Error | null = null;
  ended = false;
  readonly call: GrpcH2Stream;

  constructor(port: number, path = ADS_METHOD_PATH) {
    this.call = new GrpcH2Stream(`127.0.0.1:${port}`, path, {
      onMessage: (m) => {
        // Copied: the wire views point into a DATA chunk, and the test keeps them past this callback.
        this.queue.push(decodeResponseHeader(Buffer.from(m)));
        this.wake();
      },
      onError: (err) => {
        this.error = err;
        this.wake();
      },
      onEnd: () => {
        this.ended = true;
        this.wake();
      },
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async next(): Promise<ResponseHeader> {
    await this.until(() => this.queue.length > 0 || this.error !== null, 'DiscoveryResponse');
    if (this.queue.length === 0) throw this.error!;
    return this.queue.shift()!;
  }

  async failure(): Promise<Error> {
    await this.until(() => this.error !== null || this.ended, 'end of the call');
    assert.ok(this.error, 'the call ended with grpc-status 0, want an error');
    return this.error;
  }

  request(typeUrl: string, names: readonly string[] | null, acking?: ResponseHeader, node = false): void {
    const namesField = names === null ? Buffer.alloc(0) : encodeResourceNames(names);
    assert.ok(this.call.write(encodeRequest(acking?.versionInfo ?? '', node ? NODE_FIELD : Buffer.alloc(0), namesField, typeUrl, acking?.nonce ?? '')));
  }
}

async function setup(t: TestContext) {
  const cache = new SnapshotCache();
  const server = new AdsServer({ cache, logger: new Logger('test', 'off'), nodeKey: () => 'default', debounceMs: 0 });
  const clients: Client[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.call.close()));
    await server.close(200);
  });
  const port = await server.listen('127.0.0.1:0');
  const open = (path?: string) => {
    const c = new Client(port, path);
    clients.push(c);
    return c;
  };
  return { cache, open };
}

test('ADS over node:http2 against the AdsServer: CDS, ACK, EDS by name, a pushed change, LDS → RDS names', async (t) => {
  const { cache, open } = await setup(t);
  cache.setSnapshot('default', snapshot('10.0.0.2'));
  const s = open();
  s.request(CLUSTER_TYPE, null, undefined, true);
  const cds = await s.next();
  assert.equal(cds.typeUrl, CLUSTER_TYPE);
  assert.notEqual(cds.versionInfo, '');
  assert.notEqual(cds.nonce, '');
  const edsNames = cds.resources.map(clusterEdsName);
  assert.deepEqual([...edsNames].sort(), ['a-eds', 'b-eds', 'c-eds']);
  s.request(CLUSTER_TYPE, null, cds);
  s.request(ENDPOINT_TYPE, edsNames as string[]);

  const eds = await s.next();
  assert.equal(eds.typeUrl, ENDPOINT_TYPE);
  assert.equal(eds.resources.length, 3);
  assert.equal(resourcesContain(eds.resources, addressMarker('10.0.0.2')), true);
  assert.equal(resourcesContain(eds.resources, addressMarker('10.250.0.7')), false);
  s.request(ENDPOINT_TYPE, edsNames as string[], eds);

  cache.setSnapshot('default', snapshot('10.250.0.7'));
  const push = await s.next();
  assert.equal(push.typeUrl, ENDPOINT_TYPE);
  assert.notEqual(push.versionInfo, eds.versionInfo);
  assert.notEqual(push.nonce, eds.nonce);
  assert.equal(resourcesContain(push.resources, addressMarker('10.250.0.7')), true);
  s.request(ENDPOINT_TYPE, edsNames as string[], push);

  s.request(LISTENER_TYPE, null);
  const lds = await s.next();
  assert.equal(lds.typeUrl, LISTENER_TYPE);
  assert.deepEqual(lds.resources.flatMap((r) => listenerRdsNames(r)), ['80']);
  s.request(LISTENER_TYPE, null, lds);
  assert.equal(s.error, null);
});

test('a non-zero grpc-status surfaces as GrpcStatusError: unknown method (trailers-only), stream without a node', async (t) => {
  const { cache, open } = await setup(t);
  cache.setSnapshot('default', snapshot('10.0.0.2'));
  const unknown = open('/envoy.service.discovery.v3.AggregatedDiscoveryService/NoSuchMethod');
  unknown.request(CLUSTER_TYPE, null, undefined, true);
  const e1 = await unknown.failure();
  assert.ok(e1 instanceof GrpcStatusError, String(e1));
  assert.equal(e1.status, GRPC_UNIMPLEMENTED);
  assert.match(e1.message, /^grpc-status 12/);

  const noNode = open();
  noNode.request(CLUSTER_TYPE, null);
  const e2 = await noNode.failure();
  assert.ok(e2 instanceof GrpcStatusError, String(e2));
  assert.equal(e2.status, 3); // INVALID_ARGUMENT
  assert.match(e2.details, /node/i);
});

test('a refused connection surfaces as GrpcTransportError, and close() still resolves', async () => {
  const probe = new AdsServer({ cache: new SnapshotCache(), logger: new Logger('test', 'off') });
  const port = await probe.listen('127.0.0.1:0');
  await probe.close(0); // a port nothing listens on any more
  let failed!: (e: Error) => void;
  const failure = new Promise<Error>((resolve) => (failed = resolve));
  const s = new GrpcH2Stream(`127.0.0.1:${port}`, ADS_METHOD_PATH, { onMessage: () => {}, onError: (e) => failed(e) });
  let timer: NodeJS.Timeout | undefined;
  try {
    const error = await Promise.race([failure, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no error within 3000 ms')), 3000)))]);
    assert.ok(error instanceof GrpcTransportError, String(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  } finally {
    clearTimeout(timer);
    await s.close();
  }
});
