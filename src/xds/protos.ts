// The Envoy v3 protos, loaded once on first use from @grpc/grpc-js-xds's deps/, and resource codecs.

import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { Root, common, type Type } from 'protobufjs';
import { ConfigError } from '../errors';
import { jsonToProto, oneofConflict, protoToJson, typeForUrl } from './proto-json';

/** A google.protobuf.Any as it travels: the type URL and the serialized message. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

/** Every .proto file Ferry's xDS peers may put in a resource (their imports come along). */
const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/upstreams/tcp/v3/tcp_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto',
  'envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto',
  'envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.proto',
];

/** The include folders inside the installed @grpc/grpc-js-xds package. */
export function protoIncludeDirs(): string[] {
  const base = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(base, d));
}

let root: Root | null = null;

/** The protobufjs root with every Envoy type Ferry uses (field names kept in snake_case). */
export function xdsRoot(): Root {
  if (root) return root;
  // descriptor.proto is imported by the validation annotations; protobufjs ships it as JSON.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const descriptor = require('protobufjs/google/protobuf/descriptor.json');
  common('descriptor', descriptor.nested.google.nested.protobuf.nested);
  const dirs = protoIncludeDirs();
  const r = new Root();
  const fallback = r.resolvePath.bind(r);
  r.resolvePath = (origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    for (const dir of dirs) {
      const full = join(dir, target);
      try {
        accessSync(full, constants.R_OK);
        return full;
      } catch {
        // next include folder
      }
    }
    return fallback(origin, target) ?? target;
  };
  r.loadSync(PROTO_FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** A message type by its full name (`envoy.config.cluster.v3.Cluster`). */
export function lookupType(fullName: string): Type {
  return xdsRoot().lookupType(fullName);
}

/** A proto3-JSON-ish object → protobuf bytes of `typeName`; ConfigError names a bad field. */
export function encodeMessage(typeName: string, obj: unknown, path = ''): Uint8Array {
  const t = lookupType(typeName);
  const proto = jsonToProto(xdsRoot(), t, obj, path) as Record<string, unknown>;
  return t.encode(t.fromObject(proto)).finish();
}

/** Protobuf bytes of `typeName` → its proto3 JSON form, unset fields absent. */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const t = lookupType(typeName);
  const o = t.toObject(t.decode(bytes), { json: true, defaults: false, enums: String, longs: String, bytes: String });
  return protoToJson(xdsRoot(), t, o) as Record<string, unknown>;
}

/** The snake_case message object protobufjs reads/writes ↔ proto3 JSON (for request/response codecs). */
export function toProtoObject(typeName: string, obj: unknown, path = ''): Record<string, unknown> {
  return jsonToProto(xdsRoot(), lookupType(typeName), obj, path) as Record<string, unknown>;
}

export function fromProtoObject(typeName: string, o: unknown): Record<string, unknown> {
  return protoToJson(xdsRoot(), lookupType(typeName), o) as Record<string, unknown>;
}

/**
 * A resource (plain object, snake_case or camelCase keys, nested Any as {'@type', ...}) → Any.
 * A top-level '@type', if present, must equal `typeUrl`.
 */
export function encodeResource(typeUrl: string, obj: Record<string, unknown>, path = ''): AnyMessage {
  const t = typeForUrl(xdsRoot(), typeUrl, path);
  let body = obj;
  if ('@type' in obj) {
    if (obj['@type'] !== typeUrl) throw new ConfigError(path ? `${path}.@type` : '@type', `is ${String(obj['@type'])}, expected ${typeUrl}`);
    body = { ...obj };
    delete body['@type'];
  }
  const proto = jsonToProto(xdsRoot(), t, body, path) as Record<string, unknown>;
  return { type_url: typeUrl, value: t.encode(t.fromObject(proto)).finish() };
}

/**
 * An Any → the proto3 JSON of the message inside (without '@type'). Bytes that are not a valid
 * encoding of the type (also inside a nested Any) are a ConfigError naming `path` and the type, and
 * so is a oneof with more than one member on the wire.
 */
export function decodeResource(any: { type_url: string; value: Uint8Array }, path = 'resource'): Record<string, unknown> {
  const t = typeForUrl(xdsRoot(), any.type_url, path);
  let o: Record<string, unknown>;
  try {
    o = t.toObject(t.decode(any.value), { json: true, defaults: false, enums: String, longs: String, bytes: String });
  } catch (err) {
    // protobufjs's own errors (truncated, bad wire type) and its TypeErrors on odd encodings, e.g. a
    // map entry without its value, which it decodes as null.
    throw new ConfigError(path, `does not decode as ${t.fullName.slice(1)}: ${(err as Error).message}`, { cause: err });
  }
  const conflict = oneofConflict(xdsRoot(), t, o, path);
  if (conflict !== null) throw new ConfigError(conflict.path, conflict.message);
  return protoToJson(xdsRoot(), t, o) as Record<string, unknown>;
}
