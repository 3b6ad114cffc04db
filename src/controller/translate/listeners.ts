// Model → the sidecar's two capture listeners: outbound 15001 (chains per service VIP:port) and inbound 15006.

import { PORT_INBOUND_CAPTURE, PORT_OUTBOUND_CAPTURE } from '../../mesh/constants';
import type { MeshService, PortProtocol, RateLimitSpec } from '../model/types';
import {
  ADS_SOURCE,
  BLACKHOLE_CLUSTER,
  dur,
  HCM,
  HCM_TYPE,
  inboundClusterName,
  INBOUND_LISTENER,
  INBOUND_PASSTHROUGH_CLUSTER,
  LISTENER_FILTERS,
  LOCAL_RATELIMIT_TYPE,
  outboundClusterName,
  OUTBOUND_LISTENER,
  PASSTHROUGH_CLUSTER,
  routerFilter,
  socketAddress,
  TCP_PROXY,
  TCP_PROXY_TYPE,
} from './envoy-names';

type Json = Record<string, unknown>;

/** HTTP/1.1 and h2c as the HTTP inspector reports them; a chain matching these handles sniffed HTTP. */
export const SNIFFED_HTTP = ['http/1.1', 'h2c'];

function listenerFilters(): Json[] {
  return [
    { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': LISTENER_FILTERS.originalDst } },
    { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': LISTENER_FILTERS.tlsInspector } },
    { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': LISTENER_FILTERS.httpInspector } },
  ];
}

export function tcpProxy(statPrefix: string, cluster: string): Json {
  return { name: TCP_PROXY, typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, cluster } };
}

export function hcm(statPrefix: string, route: Json, filters: Json[] = []): Json {
  return { name: HCM, typed_config: { '@type': HCM_TYPE, stat_prefix: statPrefix, ...route, http_filters: [...filters, routerFilter()] } };
}

function prefixRange(ip: string): Json {
  return { address_prefix: ip, prefix_len: ip.includes(':') ? 128 : 32 };
}

/** The chains for one destination: HTTP, TCP, or both split by the HTTP inspector when the protocol is unknown. */
export function chains(name: string, match: Json, protocol: PortProtocol, http: () => Json, tcp: () => Json): Json[] {
  if (protocol === 'tcp') return [{ name, filter_chain_match: match, filters: [tcp()] }];
  if (protocol !== 'unknown') return [{ name, filter_chain_match: match, filters: [http()] }];
  return [
    { name: `${name}_http`, filter_chain_match: { ...match, application_protocols: SNIFFED_HTTP }, filters: [http()] },
    { name: `${name}_tcp`, filter_chain_match: match, filters: [tcp()] },
  ];
}

/**
 * 0.0.0.0:15001. Each service VIP:port has its own chain (HTTP through RDS `<port>`, or TCP); any other
 * destination takes the default chain: PassthroughCluster (the original destination) or BlackHoleCluster.
 */
export function outboundListener(services: readonly MeshService[], passthrough: boolean): Json {
  const filterChains: Json[] = [];
  for (const svc of services) {
    if (!svc.clusterIP || svc.headless) continue;
    for (const p of svc.ports) {
      const name = `${svc.clusterIP}_${p.port}`;
      const cluster = outboundClusterName(p.port, svc.hostname);
      const match = { destination_port: p.port, prefix_ranges: [prefixRange(svc.clusterIP)] };
      filterChains.push(
        ...chains(
          name,
          match,
          p.protocol,
          () => hcm(`outbound_${p.port}`, { rds: { route_config_name: String(p.port), config_source: ADS_SOURCE } }),
          () => tcpProxy(cluster, cluster),
        ),
      );
    }
  }
  const fallback = passthrough ? PASSTHROUGH_CLUSTER : BLACKHOLE_CLUSTER;
  return {
    name: OUTBOUND_LISTENER,
    address: socketAddress('0.0.0.0', PORT_OUTBOUND_CAPTURE),
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    listener_filters: listenerFilters(),
    filter_chains: filterChains,
    default_filter_chain: { name: fallback, filters: [tcpProxy(fallback, fallback)] },
  };
}

export interface InboundPort {
  readonly port: number;
  readonly protocol: PortProtocol;
  readonly rateLimit: RateLimitSpec | null;
}

export function rateLimitFilter(rl: RateLimitSpec): Json {
  const always = { default_value: { numerator: 100, denominator: 'HUNDRED' }, runtime_key: 'ferry_inbound_ratelimit' };
  return {
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: {
      '@type': LOCAL_RATELIMIT_TYPE,
      stat_prefix: 'inbound_ratelimit',
      token_bucket: { max_tokens: rl.maxTokens, tokens_per_fill: rl.tokensPerFill, fill_interval: dur(rl.fillIntervalMs) },
      filter_enabled: always,
      filter_enforced: always,
    },
  };
}

/** The chains of one workload port (`match` selects it): HTTP with the rate limit, or TCP, to `inbound|<port>||`. */
export function inboundChains(p: InboundPort, match: Json): Json[] {
  const cluster = inboundClusterName(p.port);
  const routeConfig = {
    name: cluster,
    virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s' } }] }],
  };
  const filters = p.rateLimit ? [rateLimitFilter(p.rateLimit)] : [];
  return chains(
    `inbound_${p.port}`,
    match,
    p.protocol,
    () => hcm(`inbound_${p.port}`, { route_config: routeConfig }, filters),
    () => tcpProxy(cluster, cluster),
  );
}

/**
 * 0.0.0.0:15006: one chain per port of the workload (matched on the original destination port) to
 * `inbound|<port>||`; other ports pass through to the original destination.
 */
export function inboundListener(ports: readonly InboundPort[]): Json {
  const filterChains = ports.flatMap((p) => inboundChains(p, { destination_port: p.port }));
  return {
    name: INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', PORT_INBOUND_CAPTURE),
    traffic_direction: 'INBOUND',
    listener_filters: listenerFilters(),
    filter_chains: filterChains,
    default_filter_chain: { name: INBOUND_PASSTHROUGH_CLUSTER, filters: [tcpProxy(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)] },
  };
}
