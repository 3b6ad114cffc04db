// The ADS gRPC service (envoy.service.discovery.v3.AggregatedDiscoveryService), state of the world:
// its grpc-js definition with codecs for DiscoveryRequest/DiscoveryResponse, and a client constructor.
// The definition also carries the incremental method (DeltaAggregatedResources, see delta-service.ts).

import { makeGenericClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { deltaAdsMethodDefinition } from './delta-service';
import { decodeDiscoveryRequestWire, type DiscoveryRequestMsg } from './discovery-request-wire';
import { lookupType, toProtoObject, fromProtoObject, type AnyMessage } from './protos';

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
const RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';

export type { DiscoveryRequestMsg } from './discovery-request-wire';

/** A DiscoveryResponse with its resources still encoded (decode each with `decodeResource`). */
export interface DiscoveryResponseMsg {
  versionInfo: string;
  resources: AnyMessage[];
  typeUrl: string;
  nonce: string;
}

export function encodeDiscoveryRequest(req: DiscoveryRequestMsg): Buffer {
  const t = lookupType(REQUEST);
  return Buffer.from(t.encode(t.fromObject(toProtoObject(REQUEST, req))).finish());
}

export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequestMsg {
  const t = lookupType(REQUEST);
  const o = t.toObject(t.decode(buf), { json: true, defaults: false, enums: String, longs: String, bytes: String });
  return fromProtoObject(REQUEST, o) as DiscoveryRequestMsg;
}

export function encodeDiscoveryResponse(res: DiscoveryResponseMsg): Buffer {
  const t = lookupType(RESPONSE);
  const msg = t.fromObject({ version_info: res.versionInfo, resources: res.resources, type_url: res.typeUrl, nonce: res.nonce });
  return Buffer.from(t.encode(msg).finish());
}

export function decodeDiscoveryResponse(buf: Buffer): DiscoveryResponseMsg {
  const m = lookupType(RESPONSE).decode(buf) as unknown as {
    version_info?: string;
    resources?: { type_url: string; value: Uint8Array }[];
    type_url?: string;
    nonce?: string;
  };
  return {
    versionInfo: m.version_info ?? '',
    resources: (m.resources ?? []).map((r) => ({ type_url: r.type_url, value: r.value })),
    typeUrl: m.type_url ?? '',
    nonce: m.nonce ?? '',
  };
}

/**
 * A DiscoveryResponse without its nonce, to be shared by every stream sent the same resources;
 * `withNonce` appends the nonce field (protobuf messages concatenate field by field).
 */
export function encodeResponseBody(versionInfo: string, typeUrl: string, resources: readonly AnyMessage[]): Buffer {
  const t = lookupType(RESPONSE);
  return Buffer.from(t.encode(t.fromObject({ version_info: versionInfo, resources, type_url: typeUrl })).finish());
}

/** body + field 5 (nonce, length-delimited). */
export function withNonce(body: Buffer, nonce: string): Buffer {
  const n = Buffer.from(nonce, 'utf8');
  const len: number[] = [];
  let v = n.length;
  while (v > 0x7f) {
    len.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  len.push(v);
  return Buffer.concat([body, Buffer.from([(5 << 3) | 2, ...len]), n]);
}

export const ADS_METHOD_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/**
 * The service definition for grpc-js servers and clients, both methods: StreamAggregatedResources
 * (state of the world) and DeltaAggregatedResources (incremental). A server may write a pre-encoded
 * Buffer instead of a response message (protobuf messages concatenate, see the ADS server).
 */
export function adsServiceDefinition(): ServiceDefinition {
  return {
    StreamAggregatedResources: {
      path: ADS_METHOD_PATH,
      requestStream: true,
      responseStream: true,
      originalName: 'streamAggregatedResources',
      // A client may write a pre-encoded request (the benchmark's simulated sidecars do).
      requestSerialize: (r: DiscoveryRequestMsg | Buffer) => (Buffer.isBuffer(r) ? r : encodeDiscoveryRequest(r)),
      // Servers read requests with the names left raw until needed (see discovery-request-wire.ts).
      requestDeserialize: decodeDiscoveryRequestWire,
      responseSerialize: (r: DiscoveryResponseMsg | Buffer) => (Buffer.isBuffer(r) ? r : encodeDiscoveryResponse(r)),
      responseDeserialize: decodeDiscoveryResponse,
    },
    DeltaAggregatedResources: deltaAdsMethodDefinition(),
  } as ServiceDefinition;
}

/**
 * A grpc-js client class for ADS: `new (adsClient())(target, creds).StreamAggregatedResources()`
 * (or `.DeltaAggregatedResources()`).
 */
export function adsClient() {
  return makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
}
