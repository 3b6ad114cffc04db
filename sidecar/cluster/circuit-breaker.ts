// The circuit breaker: a cluster's resource manager that admits or refuses connections, requests and retries.
//
// Pure counters, as Envoy's per-priority ResourceManager: `tryAcquire(kind)` admits one unit when the count is
// below its threshold (and counts an overflow otherwise), `release(kind)` gives it back; `acquire(kind)` counts a
// unit whose admission was decided elsewhere (a pool opening a connection its own limit allows). Each kind maps to exactly
// one threshold, so the caller names the overflowed threshold with `THRESHOLD_FOR[kind]` without allocating.
// When a retry budget is set it replaces max_retries: concurrent retries may reach
// max(budget_percent % × (active requests + pending requests), min_retry_concurrency).

import type { CircuitBreakerThresholds } from '../../src/config/types';

export type ResourceKind = 'connections' | 'pendingRequests' | 'requests' | 'retries';

/** Values of the metric label `threshold` (Envoy's circuit_breakers field names). */
export type ThresholdName = 'max_connections' | 'max_pending_requests' | 'max_requests' | 'max_retries';

export const THRESHOLD_NAMES: readonly ThresholdName[] = Object.freeze([
  'max_connections',
  'max_pending_requests',
  'max_requests',
  'max_retries',
]);

export const THRESHOLD_FOR: Readonly<Record<ResourceKind, ThresholdName>> = Object.freeze({
  connections: 'max_connections',
  pendingRequests: 'max_pending_requests',
  requests: 'max_requests',
  retries: 'max_retries',
});

export interface ResourceSnapshot {
  readonly kind: ResourceKind;
  readonly threshold: ThresholdName;
  readonly active: number;
  readonly max: number;
  /** max − active, never below 0 (Envoy's remaining_* gauges, meaningful when track_remaining). */
  readonly remaining: number;
  /** Envoy's *_open gauge: 1 when the breaker refuses new units. */
  readonly open: boolean;
  readonly overflows: number;
}

export class ResourceManager {
  connections = 0;
  pendingRequests = 0;
  requests = 0;
  retries = 0;

  connectionOverflows = 0;
  pendingRequestOverflows = 0;
  requestOverflows = 0;
  retryOverflows = 0;

  constructor(readonly thresholds: CircuitBreakerThresholds) {}

  /** The current limit for `kind`; for retries with a budget it moves with the load. */
  max(kind: ResourceKind): number {
    const t = this.thresholds;
    switch (kind) {
      case 'connections':
        return t.maxConnections;
      case 'pendingRequests':
        return t.maxPendingRequests;
      case 'requests':
        return t.maxRequests;
      case 'retries': {
        const b = t.retryBudget;
        if (b === null) return t.maxRetries;
        const budget = Math.floor((b.budgetPercent / 100) * (this.requests + this.pendingRequests));
        return Math.max(budget, b.minRetryConcurrency);
      }
    }
  }

  active(kind: ResourceKind): number {
    switch (kind) {
      case 'connections':
        return this.connections;
      case 'pendingRequests':
        return this.pendingRequests;
      case 'requests':
        return this.requests;
      case 'retries':
        return this.retries;
    }
  }

  /** Whether one more unit would be admitted, without taking it (and without counting an overflow). */
  canAcquire(kind: ResourceKind): boolean {
    return this.active(kind) < this.max(kind);
  }

  /** Takes one unit; false (and an overflow counted against `THRESHOLD_FOR[kind]`) when at the limit. */
  tryAcquire(kind: ResourceKind): boolean {
    if (this.active(kind) >= this.max(kind)) {
      switch (kind) {
        case 'connections':
          this.connectionOverflows++;
          break;
        case 'pendingRequests':
          this.pendingRequestOverflows++;
          break;
        case 'requests':
          this.requestOverflows++;
          break;
        case 'retries':
          this.retryOverflows++;
          break;
      }
      return false;
    }
    this.acquire(kind);
    return true;
  }

  /**
   * Counts one unit whatever the limit, for a caller that decided admission itself: an upstream pool
   * opening a connection (the first to an endpoint, or one its own limit allows). The count may pass
   * the threshold; `canAcquire` is false until enough units are released.
   */
  acquire(kind: ResourceKind): void {
    switch (kind) {
      case 'connections':
        this.connections++;
        break;
      case 'pendingRequests':
        this.pendingRequests++;
        break;
      case 'requests':
        this.requests++;
        break;
      case 'retries':
        this.retries++;
        break;
    }
  }

  /** Gives one unit back. Releasing more than was acquired is a caller bug; the count stays at 0. */
  release(kind: ResourceKind): void {
    switch (kind) {
      case 'connections':
        if (this.connections > 0) this.connections--;
        break;
      case 'pendingRequests':
        if (this.pendingRequests > 0) this.pendingRequests--;
        break;
      case 'requests':
        if (this.requests > 0) this.requests--;
        break;
      case 'retries':
        if (this.retries > 0) this.retries--;
        break;
    }
  }

  overflows(kind: ResourceKind): number {
    switch (kind) {
      case 'connections':
        return this.connectionOverflows;
      case 'pendingRequests':
        return this.pendingRequestOverflows;
      case 'requests':
        return this.requestOverflows;
      case 'retries':
        return this.retryOverflows;
    }
  }

  /** For /clusters and gauges (allocates; not for the request path). */
  snapshot(): ResourceSnapshot[] {
    const kinds: ResourceKind[] = ['connections', 'pendingRequests', 'requests', 'retries'];
    return kinds.map((kind) => {
      const active = this.active(kind);
      const max = this.max(kind);
      return {
        kind,
        threshold: THRESHOLD_FOR[kind],
        active,
        max,
        remaining: Math.max(0, max - active),
        open: active >= max,
        overflows: this.overflows(kind),
      };
    });
  }
}
