// Names and small builders shared by the translators: cluster names, domains, durations, filter type URLs.

import type { MeshService } from '../model/types';

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const OUTBOUND_LISTENER = 'outbound';
export const INBOUND_LISTENER = 'inbound';

export const HCM = 'envoy.filters.network.http_connection_manager';
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY = 'envoy.filters.network.tcp_proxy';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const LOCAL_RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const LISTENER_FILTERS = {
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  tlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  httpInspector: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
} as const;

export const ADS_SOURCE = Object.freeze({ ads: {}, resource_api_version: 'V3' });

/** `outbound|<port>||<svc>.<ns>.svc.cluster.local` (Istio's naming, so dashboards map). */
export function outboundClusterName(port: number, hostname: string): string {
  return `outbound|${port}||${hostname}`;
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** A protobuf Duration in proto3 JSON: 1500 → "1.5s". */
export function dur(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * The Host values a service answers to on `port`: the FQDN and its shorter forms, the VIP, each
 * bare and with `:port`. The bare name only in the proxy's own namespace (as DNS search paths resolve it).
 */
export function serviceDomains(svc: MeshService, port: number, proxyNamespace: string): string[] {
  const names = [svc.hostname, `${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`];
  if (svc.namespace === proxyNamespace) names.push(svc.name);
  if (svc.clusterIP) names.push(svc.clusterIP.includes(':') ? `[${svc.clusterIP}]` : svc.clusterIP);
  return names.flatMap((n) => [n, `${n}:${port}`]).map((d) => d.toLowerCase());
}

export function routerFilter(name = 'envoy.filters.http.router'): Record<string, unknown> {
  return { name, typed_config: { '@type': ROUTER_TYPE } };
}

/** typed_extension_protocol_options that make a cluster speak HTTP/2 upstream (gRPC, h2c ports). */
export function http2Options(): Record<string, unknown> {
  return {
    [HTTP_PROTOCOL_OPTIONS_KEY]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

/** HTTP/1.1 or HTTP/2 to an upstream, whose idle connections the proxy closes after `idleTimeoutMs`. */
export function httpOptionsWithIdleTimeout(http2: boolean, idleTimeoutMs: number): Record<string, unknown> {
  return {
    [HTTP_PROTOCOL_OPTIONS_KEY]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`,
      common_http_protocol_options: { idle_timeout: dur(idleTimeoutMs) },
      explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
    },
  };
}

export function socketAddress(address: string, port: number): Record<string, unknown> {
  return { socket_address: { address, port_value: port } };
}
