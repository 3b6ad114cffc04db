// Model → Cluster and ClusterLoadAssignment resources: EDS clusters with the TrafficPolicy as Envoy fields.

import { BEFORE_APP_RETRY_ON, DEFAULT_RETRY_BUDGET, UNLIMITED_CONCURRENT_RETRIES } from '../model/defaults';
import { DEFAULT_HEALTH_CHECK_JITTER_PERCENT, DEFAULT_HEALTH_CHECK_NO_TRAFFIC_HEALTHY_MS, DEFAULT_HEALTH_CHECK_NO_TRAFFIC_MS, DEFAULT_HEALTH_CHECK_STATUSES } from '../model/defaults';
import type { EffectiveTrafficPolicy, MeshEndpoint, MeshPort, MeshService, PortProtocol } from '../model/types';
import { ADS_SOURCE, BLACKHOLE_CLUSTER, dur, http2Options, httpOptionsWithIdleTimeout, inboundClusterName, INBOUND_PASSTHROUGH_CLUSTER, outboundClusterName, PASSTHROUGH_CLUSTER, socketAddress } from './envoy-names';
import { MESH_HTTP_ALPN, meshSni, portIdentities, upstreamTlsSocket } from './mtls';

type Json = Record<string, unknown>;

/** A cluster's connect_timeout when its TrafficPolicy sets none. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

const LB_POLICY: Record<string, string> = {
  RoundRobin: 'ROUND_ROBIN',
  LeastRequest: 'LEAST_REQUEST',
  Random: 'RANDOM',
  RingHash: 'RING_HASH',
  Maglev: 'MAGLEV',
};

function usesHttp2(p: PortProtocol): boolean {
  return p === 'grpc' || p === 'http2';
}

/**
 * The cluster's thresholds: what the TrafficPolicy's connectionPool and retries.budget set. A policy
 * that sets no retry limit gets the mesh's (decision 0015): none while every retry condition is a
 * failure before the app, the default retry budget as soon as one is not, for any method (the
 * default's `reset` for idempotent methods is one).
 */
function circuitBreakers(tp: EffectiveTrafficPolicy, grpc: boolean): Json | null {
  const cp = tp.connectionPool;
  const t: Json = { priority: 'DEFAULT' };
  if (cp?.maxRequests != null) t.max_requests = cp.maxRequests;
  if (!grpc) {
    if (cp?.maxConnections != null) t.max_connections = cp.maxConnections;
    if (cp?.maxPendingRequests != null) t.max_pending_requests = cp.maxPendingRequests;
    const budget = tp.retries.budget;
    if (cp?.maxRetries != null) t.max_retries = cp.maxRetries;
    else if (!budget) {
      const r = tp.retries;
      const beforeApp = (c: string): boolean => BEFORE_APP_RETRY_ON.has(c);
      // The default's reset retries of idempotent requests (idempotentRetryOn) ride along: a budget
      // refused them exactly when one replica of three died with its requests in flight (0015).
      if (r.retryOn.every(beforeApp)) t.max_retries = UNLIMITED_CONCURRENT_RETRIES;
      else t.retry_budget = retryBudget(DEFAULT_RETRY_BUDGET);
    }
    if (budget) t.retry_budget = retryBudget(budget);
  }
  return Object.keys(t).length > 1 ? { thresholds: [t] } : null;
}

function retryBudget(b: NonNullable<EffectiveTrafficPolicy['retries']['budget']>): Json {
  return { budget_percent: { value: b.percent }, min_retry_concurrency: b.minRetryConcurrency };
}

function outlierDetection(tp: EffectiveTrafficPolicy): Json | null {
  const od = tp.outlierDetection;
  if (!od.enabled) return null;
  const out: Json = {
    consecutive_5xx: od.consecutive5xx,
    interval: dur(od.intervalMs),
    base_ejection_time: dur(od.baseEjectionTimeMs),
    max_ejection_percent: od.maxEjectionPercent,
    // Only consecutive failures eject: success-rate ejection needs volume a small mesh rarely has.
    enforcing_success_rate: 0,
  };
  if (od.consecutive5xx === 0) out.enforcing_consecutive_5xx = 0;
  if (od.consecutiveGatewayErrors > 0) {
    out.consecutive_gateway_failure = od.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = 100;
  }
  return out;
}

/**
 * The service's own name is the checks' Host / :authority, as the app's callers send it. Without it
 * Envoy sends the cluster name, and `outbound|8080||…` is no valid authority: Node's HTTP/2 server
 * (nghttp2) resets such a stream, so every check failed, every host stayed unhealthy and the
 * balancer, in panic, sent traffic to ejected hosts too.
 */
function healthChecks(tp: EffectiveTrafficPolicy, protocol: PortProtocol, meshed: boolean, host: string): Json[] | null {
  const hc = tp.healthCheck;
  if (!hc) return null;
  if (hc.meshDefault) return defaultHealthChecks(hc, protocol, meshed, host);
  const out: Json = {
    timeout: dur(hc.timeoutMs),
    interval: dur(hc.intervalMs),
    unhealthy_threshold: hc.unhealthyThreshold,
    healthy_threshold: hc.healthyThreshold,
  };
  if (hc.kind === 'http') out.http_health_check = { path: hc.path, host, ...(usesHttp2(protocol) ? { codec_client_type: 'HTTP2' } : {}) };
  else if (hc.kind === 'tcp') out.tcp_health_check = {};
  else out.grpc_health_check = { ...(hc.path ? { service_name: hc.path } : {}), authority: host };
  return [out];
}

/**
 * The mesh default check (decision 0028): only on HTTP ports (an opaque TCP port's check would only
 * reach the peer sidecar, which accepts while its app is down); short no-traffic intervals so an
 * idle cluster notices a crash within seconds; jitter so 1,000 clusters do not check in step.
 * Ports of unknown protocol get none: their traffic may not be HTTP at all.
 */
function defaultHealthChecks(hc: NonNullable<EffectiveTrafficPolicy['healthCheck']>, protocol: PortProtocol, meshed: boolean, host: string): Json[] | null {
  if (protocol !== 'http' && protocol !== 'http2') return null;
  return [{
    timeout: dur(hc.timeoutMs),
    interval: dur(hc.intervalMs),
    interval_jitter_percent: DEFAULT_HEALTH_CHECK_JITTER_PERCENT,
    unhealthy_threshold: hc.unhealthyThreshold,
    healthy_threshold: hc.healthyThreshold,
    no_traffic_interval: dur(DEFAULT_HEALTH_CHECK_NO_TRAFFIC_MS),
    no_traffic_healthy_interval: dur(DEFAULT_HEALTH_CHECK_NO_TRAFFIC_HEALTHY_MS),
    http_health_check: {
      path: hc.path,
      host,
      expected_statuses: DEFAULT_HEALTH_CHECK_STATUSES.map(([start, end]) => ({ start, end })),
      // Between sidecars HTTP is h2 (ALPN h2 selects the peer's HTTP chain, which answers 503 for a dead app).
      ...(usesHttp2(protocol) || meshed ? { codec_client_type: 'HTTP2' } : {}),
    },
  }];
}

/**
 * `outbound|<port>|tcp|<host>`: for a meshed port of unknown protocol, the cluster its TCP chain
 * uses. It shares the port's endpoints (EDS service_name) but offers no ALPN, so the peer's inbound
 * side tells opaque TCP from HTTP/2 (ALPN h2) inside mTLS.
 */
export function opaqueClusterName(port: number, hostname: string): string {
  return `outbound|${port}|tcp|${hostname}`;
}

/**
 * Whether traffic to a service port goes over mTLS: the proxy has an identity (`trustDomain` set)
 * and the port's endpoints are workloads of the mesh (their Pods, hence identities, are known).
 */
export function meshedPort(port: MeshPort, trustDomain: string | null): string[] | null {
  if (trustDomain === null) return null;
  const ids = portIdentities(port, trustDomain);
  return ids.length > 0 ? ids : null;
}

/**
 * The EDS cluster of one service port. `grpc` clusters carry only what grpc-js-xds reads:
 * ROUND_ROBIN or RING_HASH (other policies fall back to ROUND_ROBIN), max_requests, outlier detection.
 * With `meshTrustDomain` (a sidecar holding a workload identity), a meshed port gets mTLS that
 * checks the server's SPIFFE ID, and HTTP ports speak HTTP/2 between the sidecars.
 */
export function outboundCluster(svc: MeshService, port: MeshPort, grpc: boolean, meshTrustDomain: string | null = null): Json {
  const tp = svc.trafficPolicy;
  const name = outboundClusterName(port.port, svc.hostname);
  let lb = LB_POLICY[tp.loadBalancer.type];
  if (grpc && lb !== 'RING_HASH') lb = 'ROUND_ROBIN';
  const out: Json = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE },
    connect_timeout: dur(tp.connectionPool?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: lb,
  };
  const cb = circuitBreakers(tp, grpc);
  if (cb) out.circuit_breakers = cb;
  const od = outlierDetection(tp);
  if (od) out.outlier_detection = od;
  if (!grpc) {
    const hc = healthChecks(tp, port.protocol, meshedPort(port, meshTrustDomain) !== null, svc.hostname);
    if (hc) {
      out.health_checks = hc;
      // The registry is the truth about which endpoints exist: a removed one leaves at once, even
      // while it still answers its health checks (Envoy's default would keep it until it fails).
      out.ignore_health_on_host_removal = true;
    }
    if (usesHttp2(port.protocol)) out.typed_extension_protocol_options = http2Options();
    const ids = meshedPort(port, meshTrustDomain);
    if (ids) {
      const http = port.protocol !== 'tcp';
      out.transport_socket = upstreamTlsSocket(meshSni(port.port, svc.hostname), ids, http ? MESH_HTTP_ALPN : []);
      if (http) out.typed_extension_protocol_options = http2Options();
    }
  }
  return out;
}

/** The TCP twin of a meshed unknown-protocol port's cluster (see opaqueClusterName): mTLS without ALPN, no HTTP/2 options. */
export function opaqueCluster(svc: MeshService, port: MeshPort, meshTrustDomain: string): Json {
  const base = outboundCluster(svc, port, false, meshTrustDomain);
  const { typed_extension_protocol_options: _h2, ...rest } = base;
  const ids = meshedPort(port, meshTrustDomain)!;
  return {
    ...rest,
    name: opaqueClusterName(port.port, svc.hostname),
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: outboundClusterName(port.port, svc.hostname) },
    transport_socket: upstreamTlsSocket(meshSni(port.port, svc.hostname), ids, []),
  };
}

function localityKey(e: MeshEndpoint): string {
  return e.zone;
}

/**
 * The ClusterLoadAssignment of one service port: ready, non-terminating endpoints only, grouped by
 * zone; each locality weighs as many endpoints as it has (gRPC balances localities by weight).
 */
export function loadAssignment(svc: MeshService, port: MeshPort): Json {
  const byZone = new Map<string, MeshEndpoint[]>();
  for (const e of port.endpoints) {
    if (!e.ready || e.terminating) continue;
    const k = localityKey(e);
    const l = byZone.get(k);
    if (l) l.push(e);
    else byZone.set(k, [e]);
  }
  const endpoints = [...byZone.keys()].sort().map((zone) => {
    const list = byZone.get(zone)!;
    return {
      locality: zone ? { zone } : {},
      load_balancing_weight: list.length,
      lb_endpoints: list.map((e) => ({ endpoint: { address: socketAddress(e.ip, e.port) } })),
    };
  });
  return { cluster_name: outboundClusterName(port.port, svc.hostname), endpoints };
}

/**
 * `inbound|<port>||`: the local app on 127.0.0.1:<appPort> (the workload port unless bind mode says
 * otherwise). With `sourceAddress` (capture mode: 127.0.0.6) the sidecar connects from that address,
 * which the capture rules never redirect, so the hop to the app is not captured again.
 */
export function inboundCluster(port: number, protocol: PortProtocol, appPort = port, sourceAddress: string | null = null): Json {
  const name = inboundClusterName(port);
  const out: Json = {
    name,
    type: 'STATIC',
    connect_timeout: dur(DEFAULT_CONNECT_TIMEOUT_MS),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', appPort) } }] }] },
  };
  if (sourceAddress !== null) out.upstream_bind_config = { source_address: { address: sourceAddress, port_value: 0 } };
  // Connections to the app are closed after INBOUND_IDLE_TIMEOUT_MS idle, before the app's own
  // keep-alive timeout (Node's server: 5 s) closes them: a request the sidecar sends just as the app
  // closes is lost in that race, and only idempotent ones are sent again (inboundRoutes). A new
  // connection over loopback costs little.
  if (protocol !== 'tcp') out.typed_extension_protocol_options = httpOptionsWithIdleTimeout(usesHttp2(protocol), INBOUND_IDLE_TIMEOUT_MS);
  // The one retry inboundRoutes allows per idempotent request must not meet Envoy's default limit of
  // 3 concurrent retries: several requests reset at once (the soak saw 7 and 13) would be refused
  // (503 UC,UO) though the app is up. max_requests (1,024) bounds them instead.
  out.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_retries: 1024 }] };
  return out;
}

/** Below the keep-alive timeouts of common app servers (Node 5 s, nginx 75 s, Go none); gunicorn's 2 s is shorter still. */
export const INBOUND_IDLE_TIMEOUT_MS = 4_000;

export function passthroughCluster(name = PASSTHROUGH_CLUSTER): Json {
  return { name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: dur(10_000) };
}

export function blackholeCluster(): Json {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: dur(10_000) };
}

/**
 * Inbound traffic to a port no Service declares goes to its original destination — from 127.0.0.6
 * (`sourceAddress`), which the capture rules pass, or it would be captured into 15006 again, forever.
 */
export function inboundPassthroughCluster(sourceAddress: string | null = null): Json {
  const c = passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER);
  if (sourceAddress !== null) c.upstream_bind_config = { source_address: { address: sourceAddress, port_value: 0 } };
  return c;
}
