// Parses the `node` of a DiscoveryRequest (proto3 JSON) into NodeInfo and tells the client kind.

import type { ClientKind, NodeInfo } from '../types';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The client kind from user_agent_name: Envoy says "envoy", grpc-js-xds "gRPC Node Pure JS"
 * (other gRPC languages say "gRPC C-core …", "gRPC Java", "gRPC Go"), the Ferry sidecar "ferry".
 */
export function clientKind(userAgentName: string): ClientKind {
  const ua = userAgentName.toLowerCase();
  if (ua === 'envoy' || ua.startsWith('envoy')) return 'envoy';
  if (ua.startsWith('ferry')) return 'ferry';
  if (ua.startsWith('grpc')) return 'grpc';
  return 'unknown';
}

/** proto3 JSON `node` (camelCase or snake_case keys) → NodeInfo. */
export function parseNode(node: Record<string, unknown> | undefined): NodeInfo {
  const n = obj(node);
  const pick = (camel: string, snake: string): unknown => n[camel] ?? n[snake];
  const loc = obj(n.locality);
  const ua = str(pick('userAgentName', 'user_agent_name'));
  const buildVersion = obj(pick('userAgentBuildVersion', 'user_agent_build_version'));
  const version = str(pick('userAgentVersion', 'user_agent_version')) || versionOfBuild(buildVersion);
  const features = pick('clientFeatures', 'client_features');
  return Object.freeze({
    id: str(n.id),
    cluster: str(n.cluster),
    metadata: Object.freeze({ ...obj(n.metadata) }),
    locality: Object.freeze({ region: str(loc.region), zone: str(loc.zone), subZone: str(loc.subZone ?? loc.sub_zone) }),
    userAgentName: ua,
    userAgentVersion: version,
    clientFeatures: Object.freeze(Array.isArray(features) ? features.filter((f): f is string => typeof f === 'string') : []),
    kind: clientKind(ua),
  });
}

function versionOfBuild(b: Record<string, unknown>): string {
  const v = obj(b.version);
  if (v.majorNumber === undefined && v.major_number === undefined) return '';
  return [v.majorNumber ?? v.major_number ?? 0, v.minorNumber ?? v.minor_number ?? 0, v.patch ?? 0].join('.');
}
