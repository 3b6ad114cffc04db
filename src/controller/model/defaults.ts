// The mesh's safe defaults, applied when no TrafficPolicy / AccessPolicy targets a service (see decision 0006).

import type { EffectiveAccessPolicy, OutlierSpec, RetrySpec } from './types';

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
 * `connectionPool.maxRetries`), when its retries only ever follow failures before the app: off, as in
 * Istio (decision 0015). Each request still retries at most `attempts` times, after jittered back-off,
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
