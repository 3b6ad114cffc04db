// The mesh's safe defaults, applied when no TrafficPolicy / AccessPolicy targets a service (see decision 0006).

import type { EffectiveAccessPolicy, OutlierSpec, RetrySpec } from './types';

/** Retry only failures where the request never reached the app, on another host. */
export const DEFAULT_RETRIES: RetrySpec = Object.freeze({
  retryOn: Object.freeze(['connect-failure', 'refused-stream']),
  attempts: 2,
  perTryTimeoutMs: 0,
  budget: null,
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
