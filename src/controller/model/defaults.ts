// The mesh's safe defaults, applied when no TrafficPolicy / AccessPolicy targets a service (see decision 0006).

import type { EffectiveAccessPolicy, HealthCheckSpec, OutlierSpec, RetrySpec } from './types';

/**
 * RFC 9110 §9.2.2's idempotent methods: sending one twice has the effect of sending it once, so it
 * may be replayed even when the first attempt may have reached the app. POST, PATCH and CONNECT
 * (hence every gRPC call) are not among them.
 */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Retry failures where the request never reached the app, for every method, and for idempotent
 * methods also a reset after it was sent (a replica that crashed with the request in flight), on
 * another host.
 */
export const DEFAULT_RETRIES: RetrySpec = Object.freeze({
  retryOn: Object.freeze(['connect-failure', 'refused-stream']),
  idempotentRetryOn: Object.freeze(['reset']),
  attempts: 2,
  perTryTimeoutMs: 0,
  budget: null,
});

/**
 * Retry conditions that fire only when the request never reached the app (no connection, a stream the
 * server refused unread, a reset before the request was sent): a retry repeats no work upstream.
 */
export const BEFORE_APP_RETRY_ON: ReadonlySet<string> = new Set(['connect-failure', 'refused-stream', 'reset-before-request']);

/**
 * The retry circuit breaker of a cluster whose policy sets no limit (`retries.budget`,
 * `connectionPool.maxRetries`), when its retries follow only failures before the app and the mesh
 * default's resets of idempotent requests: off, as in Istio (decision 0015). Each request still retries at most `attempts` times, after jittered back-off,
 * on another host, and outlier detection soon ejects a host that keeps failing.
 */
export const UNLIMITED_CONCURRENT_RETRIES = 0xffffffff;

/**
 * The retry circuit breaker of a cluster whose policy also retries failures the app may have seen
 * (5xx, resets, status codes; the default's reset for idempotent methods too) and sets no limit: Envoy's retry budget defaults, so retries add at most a
 * fifth to the requests in flight (a retry storm cannot build up), yet grow with the load.
 */
export const DEFAULT_RETRY_BUDGET: NonNullable<RetrySpec['budget']> = Object.freeze({
  percent: 20,
  minRetryConcurrency: 3,
});

/** Eject a host after 5 consecutive 5xx (connect failures count) for 30 s × ejections, at most half the hosts. */
export const DEFAULT_OUTLIER: OutlierSpec = Object.freeze({
  enabled: true,
  consecutive5xx: 5,
  consecutiveGatewayErrors: 0,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 50,
});

/** The whole-request timeout (all retries included). */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** No AccessPolicy: the mesh-wide mTLS mode applies (PERMISSIVE unless the controller says otherwise). */
export const DEFAULT_ACCESS: EffectiveAccessPolicy = Object.freeze({
  source: null,
  mtlsMode: null,
  allowedIdentities: Object.freeze([]) as readonly string[],
  allowedNamespaces: Object.freeze([]) as readonly string[],
  rateLimit: null,
});

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * The active health check of every HTTP service port no TrafficPolicy health check covers (decision
 * 0028): GET / through the replica's sidecar every 5 s, out after 2 failures, back after 1 success.
 * Any answer from the app short of a 5xx counts as healthy (see DEFAULT_HEALTH_CHECK_STATUSES), so an
 * app without a `/` handler stays in; a crashed app makes its sidecar answer 503 and leaves rotation.
 */
export const DEFAULT_HEALTH_CHECK: HealthCheckSpec = Object.freeze({
  kind: 'http',
  path: '/',
  intervalMs: 5_000,
  timeoutMs: 1_000,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  meshDefault: true,
});

/** Envoy's `no_traffic_interval` for the default check: its 60 s would leave an idle cluster unchecked. */
export const DEFAULT_HEALTH_CHECK_NO_TRAFFIC_MS = 5_000;

/** The interval for settled healthy hosts of an idle cluster: half the rate, to keep 1,000 idle clusters cheap. */
export const DEFAULT_HEALTH_CHECK_NO_TRAFFIC_HEALTHY_MS = 10_000;

/** Spreads the checks of many clusters so they do not fire together (percent of the interval). */
export const DEFAULT_HEALTH_CHECK_JITTER_PERCENT = 20;

/** Expected statuses of the default check, Envoy's half-open ranges: 200–499. */
export const DEFAULT_HEALTH_CHECK_STATUSES: readonly (readonly [number, number])[] = Object.freeze([Object.freeze([200, 500] as const)]);
