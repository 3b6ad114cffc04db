// Generates the Envoy v3 bootstrap (YAML) each benchmark proxy hop runs; Envoy and Ferry load the same file.
//
// Follows Envoy's own benchmarking advice: circuit-breaker thresholds raised out of reach,
// generate_request_id off, the router's dynamic_stats off, no access logs, no extra stats tags.

import { stringify } from 'yaml';

/** Circuit breakers effectively disabled (1e9 of everything). */
const UNLIMITED = 1_000_000_000;

export interface HttpHopOptions {
  readonly listenPort: number;
  /** Where this hop forwards: the upstream server or the next proxy. */
  readonly upstreamPort: number;
  /** Admin listener; each hop needs its own so two proxies of a pair do not collide. */
  readonly adminPort: number;
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

function staticCluster(name: string, port: number): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    circuit_breakers: thresholds(),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(port) } }] }],
    },
  };
}

function socketAddress(port: number): Record<string, unknown> {
  return { socket_address: { address: '127.0.0.1', port_value: port } };
}

function route(cluster: string): Record<string, unknown> {
  return { match: { prefix: '/' }, route: { cluster } };
}

function httpListener(port: number, virtualHosts: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    name: 'bench_http',
    address: socketAddress(port),
    filter_chains: [
      {
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
  return bootstrap(opts.adminPort, httpListener(opts.listenPort, [vhost]), [staticCluster('upstream', opts.upstreamPort)]);
}

/** One opaque TCP hop: listener → tcp_proxy → STATIC cluster `upstream`. */
export function tcpHopBootstrap(opts: HttpHopOptions): string {
  const listener = {
    name: 'bench_tcp',
    address: socketAddress(opts.listenPort),
    filter_chains: [
      {
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
  return bootstrap(opts.adminPort, listener, [staticCluster('upstream', opts.upstreamPort)]);
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
