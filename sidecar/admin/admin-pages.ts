// The admin pages of a proxy — /config_dump and /clusters (JSON and Envoy's text) — as pure functions of its state.

import type { BootstrapConfig, ClusterConfig, HealthStatus, ListenerConfig, RouteConfiguration } from '../../src/config/types';

/** An endpoint as the admin pages show it (a cluster's UpstreamHost). */
export interface HostAdminView {
  readonly key: string;
  readonly weight: number;
  readonly priority: number;
  readonly edsStatus: HealthStatus;
  readonly failedActiveHc: boolean;
  readonly ejected: boolean;
  readonly usable: boolean;
  readonly stats: { readonly activeRequests: number; readonly totalRequests: number };
}

/** A cluster as the admin pages show it (an UpstreamCluster). */
export interface ClusterAdminView {
  readonly name: string;
  readonly config: ClusterConfig;
  /** Its circuit breaker; `connections` counts the upstream connections open now. */
  readonly resources: { readonly connections: number };
  readonly allHosts: readonly HostAdminView[];
}

/** What /config_dump shows: the bootstrap and what xDS added to it. */
export interface ProxyAdminState {
  readonly bootstrap: BootstrapConfig;
  /** Every cluster the proxy has now, static and dynamic. */
  readonly clusters: Iterable<ClusterAdminView>;
  /** Listeners from LDS (warming ones are not listed). */
  readonly dynamicListeners: Iterable<ListenerConfig>;
  /** Route configurations from RDS. */
  readonly routeConfigs: Iterable<RouteConfiguration>;
  /** The xDS client's status (connected, versions ACKed, last NACK per type), or null without xDS. */
  readonly xds: unknown;
}

/** /config_dump: the bootstrap, then the dynamic listeners, clusters (those not in the bootstrap) and routes, and the xDS status. */
export function configDump(s: ProxyAdminState): unknown {
  const dynamicClusters: ClusterConfig[] = [];
  for (const c of s.clusters) if (!s.bootstrap.clusters.includes(c.config)) dynamicClusters.push(c.config);
  return {
    bootstrap: s.bootstrap,
    dynamic_listeners: [...s.dynamicListeners],
    dynamic_clusters: dynamicClusters,
    dynamic_route_configs: [...s.routeConfigs],
    xds: s.xds,
  };
}

/** /clusters?format=json: each cluster's thresholds and open connections, and each endpoint's state and request counts. */
export function clustersJson(clusters: Iterable<ClusterAdminView>): unknown {
  const out: unknown[] = [];
  for (const c of clusters) {
    out.push({
      name: c.name,
      circuit_breakers: c.config.circuitBreakers,
      connections: c.resources.connections,
      hosts: c.allHosts.map((h) => ({
        address: h.key,
        weight: h.weight,
        priority: h.priority,
        health_status: h.edsStatus,
        failed_active_health_check: h.failedActiveHc,
        ejected: h.ejected,
        healthy: h.usable,
        active_requests: h.stats.activeRequests,
        total_requests: h.stats.totalRequests,
      })),
    });
  }
  return { clusters: out };
}

/** Envoy's health_flags for an endpoint: what takes it out of rotation, or `healthy`. */
export function healthFlags(h: HostAdminView): string {
  let flags = '';
  if (h.failedActiveHc) flags += '/failed_active_hc';
  if (h.ejected) flags += '/failed_outlier_check';
  if (h.edsStatus === 'UNHEALTHY') flags += '/failed_eds_health';
  if (h.edsStatus === 'DRAINING') flags += '/pending_dynamic_removal';
  return flags === '' ? 'healthy' : flags;
}

/** /clusters: Envoy's `cluster::…::stat::value` lines, thresholds first, then each endpoint. */
export function clustersText(clusters: Iterable<ClusterAdminView>): string {
  let s = '';
  for (const c of clusters) {
    const cb = c.config.circuitBreakers;
    s += `${c.name}::default_priority::max_connections::${cb.maxConnections}\n`;
    s += `${c.name}::default_priority::max_pending_requests::${cb.maxPendingRequests}\n`;
    s += `${c.name}::default_priority::max_requests::${cb.maxRequests}\n`;
    s += `${c.name}::default_priority::max_retries::${cb.maxRetries}\n`;
    for (const h of c.allHosts) {
      const p = `${c.name}::${h.key}`;
      s += `${p}::rq_active::${h.stats.activeRequests}\n`;
      s += `${p}::rq_total::${h.stats.totalRequests}\n`;
      s += `${p}::weight::${h.weight}\n`;
      s += `${p}::priority::${h.priority}\n`;
      s += `${p}::health_flags::${healthFlags(h)}\n`;
      s += `${p}::ejected::${h.ejected}\n`;
    }
  }
  return s;
}
