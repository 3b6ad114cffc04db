// Generates the Envoy v3 bootstrap (YAML) each benchmark proxy hop runs; Envoy and Ferry load the same file.
//
// Follows Envoy's own benchmarking advice: circuit-breaker thresholds raised out of reach,
// generate_request_id off, the router's dynamic_stats off, no access logs, no extra stats tags.

import { stringify } from 'yaml';

/** Circuit breakers effectively disabled (1e9 of everything). */
const UNLIMITED = 1_000_000_000;

/** One side of mutual TLS between the two hops of a pair, from certificate files. */
export interface HopTls {
  /** `client`: this hop originates mTLS to its upstream (A); `server`: it terminates mTLS (B). */
  readonly role: 'client' | 'server';
  readonly certFile: string;
  readonly keyFile: string;
  /** Trust bundle the peer's chain must verify against. */
  readonly caFile: string;
  /** The SPIFFE ID (URI SAN) the peer's certificate must carry. */
  readonly peerSpiffeId: string;
}

export interface HttpHopOptions {
  readonly listenPort: number;
  /** Where this hop forwards: the upstream server or the next proxy. */
  readonly upstreamPort: number;
  /** Admin listener; each hop needs its own so two proxies of a pair do not collide. */
  readonly adminPort: number;
  /** mTLS towards the upstream (client) or on the listener (server); absent: plain text. */
  readonly tls?: HopTls;
}

export interface ManyServicesOptions extends HttpHopOptions {
  readonly services: number;
}

/** Host name of generated service `i` (the virtual host that routes to cluster `svc-i`). */
export function serviceHost(i: number): string {
  return `svc-${i}.bench.local`;
}

function thresholds(): Record<string, unknown> {
  return {
    thresholds: ['DEFAULT', 'HIGH'].map((priority) => ({
      priority,
      max_connections: UNLIMITED,
      max_pending_requests: UNLIMITED,
      max_requests: UNLIMITED,
      max_retries: UNLIMITED,
    })),
  };
}

function staticCluster(name: string, port: number, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: thresholds(),
    ...(transportSocket ? { transport_socket: transportSocket } : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(port) } }] }],
    },
  };
}

const TLS_TYPES = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.';

/**
 * common_tls_context from files: our certificate, the trust bundle, and the peer's SPIFFE ID as an
 * exact URI SAN match (what a mesh sidecar checks). HTTP hops pin ALPN to http/1.1 on both sides so
 * the pair speaks the same protocol as the plain-text pair, whichever proxy runs it.
 */
function commonTlsContext(t: HopTls, http: boolean): Record<string, unknown> {
  return {
    ...(http ? { alpn_protocols: ['http/1.1'] } : {}),
    tls_certificates: [{ certificate_chain: { filename: t.certFile }, private_key: { filename: t.keyFile } }],
    validation_context: {
      trusted_ca: { filename: t.caFile },
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: t.peerSpiffeId } }],
    },
  };
}

/** The transport_socket for A's cluster (UpstreamTlsContext) or B's filter chain (DownstreamTlsContext). */
export function tlsTransportSocket(t: HopTls, http: boolean): Record<string, unknown> {
  const typed = t.role === 'client'
    ? { '@type': `${TLS_TYPES}UpstreamTlsContext`, common_tls_context: commonTlsContext(t, http) }
    : { '@type': `${TLS_TYPES}DownstreamTlsContext`, require_client_certificate: true, common_tls_context: commonTlsContext(t, http) };
  return { name: 'envoy.transport_sockets.tls', typed_config: typed };
}

function upstreamSocket(t: HopTls | undefined, http: boolean): Record<string, unknown> | undefined {
  return t?.role === 'client' ? tlsTransportSocket(t, http) : undefined;
}

function downstreamSocket(t: HopTls | undefined, http: boolean): Record<string, unknown> {
  return t?.role === 'server' ? { transport_socket: tlsTransportSocket(t, http) } : {};
}

function socketAddress(port: number): Record<string, unknown> {
  return { socket_address: { address: '127.0.0.1', port_value: port } };
}

function route(cluster: string): Record<string, unknown> {
  return { match: { prefix: '/' }, route: { cluster } };
}

function httpListener(port: number, virtualHosts: readonly Record<string, unknown>[], tls?: HopTls): Record<string, unknown> {
  return {
    name: 'bench_http',
    address: socketAddress(port),
    filter_chains: [
      {
        ...downstreamSocket(tls, true),
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'bench',
              codec_type: 'AUTO',
              generate_request_id: false,
              route_config: { name: 'bench', virtual_hosts: virtualHosts },
              http_filters: [
                {
                  name: 'envoy.filters.http.router',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                    dynamic_stats: false,
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

function bootstrap(adminPort: number, listener: Record<string, unknown>, clusters: readonly Record<string, unknown>[]): string {
  const doc = {
    node: { id: 'bench', cluster: 'bench' },
    admin: { address: socketAddress(adminPort) },
    static_resources: { listeners: [listener], clusters },
  };
  return stringify(doc, { lineWidth: 0 });
}

/** One HTTP hop: listener → http_connection_manager → route "/" → STATIC cluster `upstream`. */
export function httpHopBootstrap(opts: HttpHopOptions): string {
  const vhost = { name: 'all', domains: ['*'], routes: [route('upstream')] };
  return bootstrap(opts.adminPort, httpListener(opts.listenPort, [vhost], opts.tls), [staticCluster('upstream', opts.upstreamPort, upstreamSocket(opts.tls, true))]);
}

/** One opaque TCP hop: listener → tcp_proxy → STATIC cluster `upstream`. */
export function tcpHopBootstrap(opts: HttpHopOptions): string {
  const listener = {
    name: 'bench_tcp',
    address: socketAddress(opts.listenPort),
    filter_chains: [
      {
        ...downstreamSocket(opts.tls, false),
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
              stat_prefix: 'bench_tcp',
              cluster: 'upstream',
            },
          },
        ],
      },
    ],
  };
  return bootstrap(opts.adminPort, listener, [staticCluster('upstream', opts.upstreamPort, upstreamSocket(opts.tls, false))]);
}

/**
 * `services` clusters `svc-<i>` (all pointing at the same upstream) and as many virtual hosts
 * `svc-<i>.bench.local`, each with one route to its cluster: the memory footprint of a large mesh.
 */
export function manyServicesBootstrap(opts: ManyServicesOptions): string {
  const vhosts: Record<string, unknown>[] = [];
  const clusters: Record<string, unknown>[] = [];
  for (let i = 0; i < opts.services; i++) {
    vhosts.push({ name: `svc-${i}`, domains: [serviceHost(i)], routes: [route(`svc-${i}`)] });
    clusters.push(staticCluster(`svc-${i}`, opts.upstreamPort));
  }
  return bootstrap(opts.adminPort, httpListener(opts.listenPort, vhosts), clusters);
}
