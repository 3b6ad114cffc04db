// Model → the sidecar's two capture listeners: outbound 15001 (chains per service VIP:port) and inbound 15006.

import { PORT_INBOUND_CAPTURE, PORT_OUTBOUND_CAPTURE } from '../../mesh/constants';
import { IDEMPOTENT_METHODS } from '../model/defaults';
import type { EffectiveAccessPolicy, MeshService, PortProtocol, RateLimitSpec } from '../model/types';
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
import { allowedPeerMatchers, downstreamTlsSocket, INBOUND_HTTP_ALPN, MESH_HTTP_ALPN, rbacFilter, type InboundMtlsMode, type MeshSecurity } from './mtls';

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

/** The cluster a service port's TCP chain proxies to (mTLS may give unknown-protocol ports an opaque twin). */
export type TcpClusterFn = (svc: MeshService, port: MeshService['ports'][number]) => string;

const defaultTcpCluster: TcpClusterFn = (svc, p) => outboundClusterName(p.port, svc.hostname);

/**
 * 0.0.0.0:15001. Each service VIP:port has its own chain (HTTP through RDS `<port>`, or TCP); any other
 * destination takes the default chain: PassthroughCluster (the original destination) or BlackHoleCluster.
 */
export function outboundListener(services: readonly MeshService[], passthrough: boolean, tcpCluster: TcpClusterFn = defaultTcpCluster): Json {
  const filterChains: Json[] = [];
  for (const svc of services) {
    if (!svc.clusterIP || svc.headless) continue;
    for (const p of svc.ports) {
      const name = `${svc.clusterIP}_${p.port}`;
      const cluster = tcpCluster(svc, p);
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
  /** The AccessPolicy in force (allow rules); absent = everyone may call. */
  readonly policy?: EffectiveAccessPolicy;
  /** With mesh TLS: whether plaintext is refused (STRICT) or served next to mTLS (PERMISSIVE, the default). */
  readonly mtlsMode?: InboundMtlsMode;
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

/**
 * The chains of one workload port (`match` selects it): HTTP with authorization and the rate limit,
 * or TCP, to `inbound|<port>||`. Without mesh TLS, as before: plaintext chains (sniffed when the
 * protocol is unknown). With it (`sec.tls`):
 * - STRICT: only mTLS chains, matching every connection, so plaintext fails the handshake (it must
 *   not fall through to another chain, such as capture mode's passthrough default);
 * - PERMISSIVE: mTLS chains for `transport_protocol: tls` next to the plaintext ones;
 * - unknown protocol: inside mTLS, ALPN h2 (what sidecars offer for HTTP) selects HTTP, anything else TCP;
 * - TCP can only be authorized by the peer's certificate: with allow rules, the TCP chains accept
 *   only the allowed SPIFFE IDs and never plaintext (which has no identity).
 * With `sec.authorize`, HTTP chains carry the policy's RBAC filter first (plaintext peers have no
 * identity and are denied when the policy names who may call).
 */
export function inboundChains(p: InboundPort, match: Json, sec: MeshSecurity | null = null): Json[] {
  const cluster = inboundClusterName(p.port);
  const routeConfig = {
    name: cluster,
    virtual_hosts: [{ name: cluster, domains: ['*'], routes: inboundRoutes(cluster) }],
  };
  const filters: Json[] = [];
  const rbac = sec?.authorize && p.policy ? rbacFilter(p.policy, sec.trustDomain) : null;
  if (rbac) filters.push(rbac);
  if (p.rateLimit) filters.push(rateLimitFilter(p.rateLimit));
  const name = `inbound_${p.port}`;
  const http = (): Json => hcm(name, { route_config: routeConfig }, filters);
  const tcp = (): Json => tcpProxy(cluster, cluster);
  if (!sec?.tls) return chains(name, match, p.protocol, http, tcp);

  const td = sec.trustDomain;
  const peers = sec.authorize && p.policy ? allowedPeerMatchers(p.policy, td) : null;
  const strict = p.mtlsMode === 'STRICT';
  const tlsMatch = strict ? match : { ...match, transport_protocol: 'tls' };
  const tlsHttp = (n: string, m: Json): Json => ({ name: n, filter_chain_match: m, transport_socket: downstreamTlsSocket(td, INBOUND_HTTP_ALPN), filters: [http()] });
  const tlsTcp = (n: string, m: Json): Json => ({ name: n, filter_chain_match: m, transport_socket: downstreamTlsSocket(td, [], peers), filters: [tcp()] });
  if (p.protocol === 'tcp') {
    if (strict || peers) return [tlsTcp(`${name}_mtls`, match)];
    return [tlsTcp(`${name}_mtls`, tlsMatch), { name, filter_chain_match: match, filters: [tcp()] }];
  }
  if (p.protocol !== 'unknown') {
    if (strict) return [tlsHttp(`${name}_mtls`, match)];
    return [tlsHttp(`${name}_mtls`, tlsMatch), { name, filter_chain_match: match, filters: [http()] }];
  }
  const out = [tlsHttp(`${name}_mtls_http`, { ...tlsMatch, application_protocols: [...MESH_HTTP_ALPN] }), tlsTcp(`${name}_mtls_tcp`, tlsMatch)];
  if (strict) return out;
  out.push({ name: `${name}_http`, filter_chain_match: { ...match, application_protocols: SNIFFED_HTTP }, filters: [http()] });
  // Plaintext that is not HTTP has no identity to authorize: with allow rules it meets a handshake it cannot pass.
  out.push(peers ? tlsTcp(`${name}_tcp`, match) : { name: `${name}_tcp`, filter_chain_match: match, filters: [tcp()] });
  return out;
}

/**
 * The app's side of an inbound HTTP chain. An idempotent request (IDEMPOTENT_METHODS) reset by the
 * app before it answered is sent once more: the app closes an idle keep-alive connection (Node's
 * server after 5 s) just as the sidecar reuses it, and the request is lost in that race, which the
 * caller's sidecar cannot retry because it got an answer (503 UC) from this one. Other methods are
 * never replayed: the app may have acted on them.
 */
function inboundRoutes(cluster: string): Json[] {
  const route = { cluster, timeout: '0s' };
  return [
    { name: 'idempotent', match: { prefix: '/', headers: [INBOUND_IDEMPOTENT_MATCH] }, route: { ...route, retry_policy: { retry_on: 'reset', num_retries: 1 } } },
    { name: 'default', match: { prefix: '/' }, route },
  ];
}

const INBOUND_IDEMPOTENT_MATCH: Json = Object.freeze({ name: ':method', string_match: { safe_regex: { regex: IDEMPOTENT_METHODS.join('|') } } });

/** The listener filters a set of chains needs: the TLS inspector for transport/ALPN matches, the HTTP inspector for sniffed HTTP. */
export function inspectorsFor(filterChains: readonly Json[]): Json[] {
  const matches = filterChains.map((c) => (c.filter_chain_match ?? {}) as { transport_protocol?: string; application_protocols?: string[] });
  const out: Json[] = [];
  if (matches.some((m) => m.transport_protocol !== undefined || (m.application_protocols ?? []).some((a) => MESH_HTTP_ALPN.includes(a)))) {
    out.push({ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': LISTENER_FILTERS.tlsInspector } });
  }
  if (matches.some((m) => (m.application_protocols ?? []).some((a) => SNIFFED_HTTP.includes(a)))) {
    out.push({ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': LISTENER_FILTERS.httpInspector } });
  }
  return out;
}

/**
 * 0.0.0.0:15006: one chain per port of the workload (matched on the original destination port) to
 * `inbound|<port>||`; other ports pass through to the original destination.
 */
export function inboundListener(ports: readonly InboundPort[], sec: MeshSecurity | null = null, strictByDefault = false): Json {
  const filterChains = ports.flatMap((p) => inboundChains(p, { destination_port: p.port }, sec));
  const passthrough = [tcpProxy(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)];
  // Under a mesh-wide STRICT mode, ports no Service declares are mesh-only too (as in Istio).
  const defaultChain =
    sec?.tls && strictByDefault
      ? { name: INBOUND_PASSTHROUGH_CLUSTER, transport_socket: downstreamTlsSocket(sec.trustDomain, []), filters: passthrough }
      : { name: INBOUND_PASSTHROUGH_CLUSTER, filters: passthrough };
  return {
    name: INBOUND_LISTENER,
    address: socketAddress('0.0.0.0', PORT_INBOUND_CAPTURE),
    traffic_direction: 'INBOUND',
    listener_filters: listenerFilters(),
    filter_chains: filterChains,
    default_filter_chain: defaultChain,
  };
}
