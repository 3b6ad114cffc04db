// Incremental (delta) ADS: codecs for DeltaDiscoveryRequest/DeltaDiscoveryResponse and the
// DeltaAggregatedResources method of envoy.service.discovery.v3.AggregatedDiscoveryService.

import { Writer } from 'protobufjs';
import type { MethodDefinition } from '@grpc/grpc-js';
import { lookupType, toProtoObject, fromProtoObject, type AnyMessage } from './protos';

const REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
const RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
const RESOURCE = 'envoy.service.discovery.v3.Resource';

/** A DeltaDiscoveryRequest in proto3 JSON names; `node` is proto3 JSON (metadata as plain JSON). */
export interface DeltaDiscoveryRequestMsg {
  node?: Record<string, unknown>;
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  /** Resource name → the version the client holds (first request of a type on a reconnected stream). */
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: { code?: number; message?: string };
}

/** One envoy.service.discovery.v3.Resource: a named, versioned resource (the Any still encoded). */
export interface DeltaResourceMsg {
  name: string;
  version: string;
  resource?: AnyMessage;
}

export interface DeltaDiscoveryResponseMsg {
  systemVersionInfo: string;
  resources: DeltaResourceMsg[];
  typeUrl: string;
  removedResources: string[];
  nonce: string;
}

export function encodeDeltaDiscoveryRequest(req: DeltaDiscoveryRequestMsg): Buffer {
  const t = lookupType(REQUEST);
  return Buffer.from(t.encode(t.fromObject(toProtoObject(REQUEST, req))).finish());
}

export function decodeDeltaDiscoveryRequest(buf: Buffer): DeltaDiscoveryRequestMsg {
  const t = lookupType(REQUEST);
  const o = t.toObject(t.decode(buf), { json: true, defaults: false, enums: String, longs: String, bytes: String });
  return fromProtoObject(REQUEST, o) as DeltaDiscoveryRequestMsg;
}

export function encodeDeltaDiscoveryResponse(res: DeltaDiscoveryResponseMsg): Buffer {
  const t = lookupType(RESPONSE);
  const msg = t.fromObject({
    system_version_info: res.systemVersionInfo,
    resources: res.resources.map((r) => ({ name: r.name, version: r.version, resource: r.resource })),
    type_url: res.typeUrl,
    removed_resources: res.removedResources,
    nonce: res.nonce,
  });
  return Buffer.from(t.encode(msg).finish());
}

export function decodeDeltaDiscoveryResponse(buf: Buffer): DeltaDiscoveryResponseMsg {
  const m = lookupType(RESPONSE).decode(buf) as unknown as {
    system_version_info?: string;
    resources?: { name?: string; version?: string; resource?: { type_url: string; value: Uint8Array } }[];
    type_url?: string;
    removed_resources?: string[];
    nonce?: string;
  };
  return {
    systemVersionInfo: m.system_version_info ?? '',
    resources: (m.resources ?? []).map((r) => ({
      name: r.name ?? '',
      version: r.version ?? '',
      ...(r.resource ? { resource: { type_url: r.resource.type_url, value: r.resource.value } } : {}),
    })),
    typeUrl: m.type_url ?? '',
    removedResources: [...(m.removed_resources ?? [])],
    nonce: m.nonce ?? '',
  };
}

/** One Resource message {name, version, resource}, to be encoded once and shared by every stream. */
export function encodeDeltaResource(name: string, version: string, any: AnyMessage): Buffer {
  const t = lookupType(RESOURCE);
  return Buffer.from(t.encode(t.fromObject({ name, version, resource: any })).finish());
}

/**
 * A DeltaDiscoveryResponse from Resource messages already encoded (`encodeDeltaResource`): only the
 * envelope is written per stream. Same bytes as `encodeDeltaDiscoveryResponse` up to field order.
 */
export function deltaResponseBytes(systemVersionInfo: string, typeUrl: string, resources: readonly Uint8Array[], removed: readonly string[], nonce: string): Buffer {
  const w = Writer.create();
  if (systemVersionInfo) w.uint32((1 << 3) | 2).string(systemVersionInfo);
  for (const r of resources) w.uint32((2 << 3) | 2).bytes(r);
  w.uint32((4 << 3) | 2).string(typeUrl);
  w.uint32((5 << 3) | 2).string(nonce);
  for (const n of removed) w.uint32((6 << 3) | 2).string(n);
  return Buffer.from(w.finish());
}

export const DELTA_ADS_METHOD_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/** The DeltaAggregatedResources method; a server may write a pre-encoded Buffer instead of a message. */
export function deltaAdsMethodDefinition(): MethodDefinition<DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg | Buffer> {
  return {
    path: DELTA_ADS_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    originalName: 'deltaAggregatedResources',
    requestSerialize: encodeDeltaDiscoveryRequest,
    requestDeserialize: decodeDeltaDiscoveryRequest,
    responseSerialize: (r: DeltaDiscoveryResponseMsg | Buffer) => (Buffer.isBuffer(r) ? r : encodeDeltaDiscoveryResponse(r)),
    responseDeserialize: decodeDeltaDiscoveryResponse,
  };
}
