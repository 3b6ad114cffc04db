// The active health check state machine: per-host thresholds, transitions and the next check interval.
//
// Pure: the health checker feeds it each probe result and asks when to probe next. Envoy's semantics:
// - A host starts unhealthy and pending its first check (FAILED_ACTIVE_HC + PENDING_ACTIVE_HC). The first
//   result decides at once: a pass makes it healthy without waiting for healthy_threshold; a failure
//   confirms it unhealthy (the pending mark is cleared, which the cluster must also act on).
// - A healthy host becomes unhealthy after unhealthy_threshold consecutive network failures or timeouts, or
//   retriable failures (HTTP retriable_statuses); any other failure (an unexpected HTTP status, gRPC
//   NOT_SERVING, a TCP reply that does not match) makes it unhealthy at once.
// - An unhealthy host becomes healthy after healthy_threshold consecutive passes.
// - The next interval depends on the last result and whether a change is pending: passes use `interval`
//   (`healthy_edge_interval` while an unhealthy host is on its way up), failures use `unhealthy_interval`
//   (`unhealthy_edge_interval` while a healthy host is on its way down). While the cluster has carried no
//   traffic, `no_traffic_interval` is used instead (`no_traffic_healthy_interval` for settled healthy hosts).
//   Jitter: + floor(random × interval_jitter_percent % of the base) + floor(random × interval_jitter), at least 1 ms.

import type { HealthCheckConfig } from '../../src/config/types';

/** How one probe ended. */
export type HealthCheckResult =
  | 'pass'
  /** The host answered, and the answer means "unhealthy now" (unexpected status, NOT_SERVING, bad reply). */
  | 'fail'
  /** The host answered with a retriable status: counts towards unhealthy_threshold. */
  | 'retriable_fail'
  /** Connection refused, reset, protocol error: counts towards unhealthy_threshold. */
  | 'network_fail'
  /** No answer within the timeout: counts towards unhealthy_threshold. */
  | 'timeout';

/** What a result did to the host's health (Envoy's HealthTransition, split by direction). */
export type HealthTransition =
  | 'became_healthy'
  | 'became_unhealthy'
  /** The first check failed: still unhealthy, but no longer pending. */
  | 'confirmed_unhealthy'
  /** Counting towards a threshold; no change yet. */
  | 'change_pending'
  | 'unchanged';

/** One host's active health state. Mutable; owned by the health checker. */
export class HostHealthState {
  healthy = false;
  /** No check has completed yet. */
  pending = true;
  /** The last failure was a timeout and the host is unhealthy (Envoy's ACTIVE_HC_TIMEOUT). */
  timedOut = false;
  consecutivePasses = 0;
  consecutiveFailures = 0;
  lastResult: 'pass' | 'fail' | null = null;
  lastTransition: HealthTransition = 'unchanged';
  checks = 0;
  failures = 0;
}

export class HealthCheckStateMachine {
  constructor(readonly config: HealthCheckConfig) {}

  newHost(): HostHealthState {
    return new HostHealthState();
  }

  /** Applies one probe result and returns what changed. */
  record(s: HostHealthState, result: HealthCheckResult): HealthTransition {
    const first = s.pending;
    s.pending = false;
    s.checks++;
    let t: HealthTransition = 'unchanged';
    if (result === 'pass') {
      s.consecutiveFailures = 0;
      s.lastResult = 'pass';
      if (!s.healthy) {
        if (first || ++s.consecutivePasses >= this.config.healthyThreshold) {
          s.healthy = true;
          s.timedOut = false;
          s.consecutivePasses = 0;
          t = 'became_healthy';
        } else {
          t = 'change_pending';
        }
      }
    } else {
      s.failures++;
      s.consecutivePasses = 0;
      s.lastResult = 'fail';
      if (s.healthy) {
        const counted = result !== 'fail';
        if (!counted || ++s.consecutiveFailures >= this.config.unhealthyThreshold) {
          s.healthy = false;
          s.consecutiveFailures = 0;
          t = 'became_unhealthy';
        } else {
          t = 'change_pending';
        }
      } else if (first) {
        t = 'confirmed_unhealthy';
      }
      s.timedOut = result === 'timeout' && !s.healthy;
    }
    s.lastTransition = t;
    return t;
  }

  /** Delay before the first probe of a host: uniform in [0, initial_jitter), 0 when unset. */
  initialDelayMs(random: () => number): number {
    const j = this.config.initialJitterMs;
    return j > 0 ? Math.floor(random() * j) : 0;
  }

  /** Delay before the next probe, after the result recorded last. */
  nextIntervalMs(s: HostHealthState, random: () => number, hasTraffic = true): number {
    const c = this.config;
    const pendingChange = s.lastTransition === 'change_pending';
    let base: number;
    if (hasTraffic) {
      if (s.lastResult === 'fail') base = pendingChange ? c.unhealthyEdgeIntervalMs : c.unhealthyIntervalMs;
      else base = pendingChange ? c.healthyEdgeIntervalMs : c.intervalMs;
    } else {
      base = s.lastResult === 'pass' && !pendingChange ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    }
    return withJitter(base, c.intervalJitterPercent, c.intervalJitterMs, random);
  }
}

/** base + floor(random × percent % of base) + floor(random × jitterMs), never below 1 ms. */
export function withJitter(baseMs: number, jitterPercent: number, jitterMs: number, random: () => number): number {
  let ms = baseMs;
  const percentMod = Math.floor((jitterPercent * baseMs) / 100);
  if (percentMod > 0) ms += Math.floor(random() * percentMod);
  if (jitterMs > 0) ms += Math.floor(random() * jitterMs);
  return Math.max(1, ms);
}
