// The outlier detector: passive health checking that ejects endpoints after consecutive failures or statistical outliers.
//
// Pure: no timers, no sockets. The cluster calls `record()` after every upstream outcome, `evaluate(now)` when
// `nextEvaluationAt()` has passed, and applies the returned events to its host set.
//
// Semantics follow Envoy's outlier detection (v3 OutlierDetection):
// - Without split_external_local_origin_errors, local-origin failures are mapped to HTTP codes (connect failure
//   and reset → 503, timeout → 504) and share the 5xx / gateway-failure counters; a local-origin success
//   (connection established) is not counted at all, so it cannot hide the HTTP result that follows.
// - With the split, HTTP codes feed consecutive_5xx / consecutive_gateway_failure and the external success rate;
//   connect failures, resets and timeouts feed consecutive_local_origin_failure and a separate success rate.
// - A consecutive detector fires when its counter reaches the threshold exactly; the counter is then reset.
// - Ejection is allowed when (ejected + 1) / hosts ≤ max_ejection_percent, or, with always_eject_one_host, when
//   nothing is ejected yet. The ejection lasts min(base × backoff, max) + jitter where backoff grows by one per
//   ejection and drops by one per interval sweep the host stays un-ejected; jitter is uniform in [0, max_jitter].
// - The interval sweep un-ejects expired hosts, rotates the success-rate buckets, runs success-rate and
//   failure-percentage ejection (over non-ejected hosts with enough volume), then decays the backoff.

import type { OutlierDetectionConfig } from '../../src/config/types';

/** What happened on one upstream attempt, as the outlier detector classifies it. */
export type UpstreamOutcome =
  | { readonly kind: 'http'; readonly status: number }
  | { readonly kind: 'connect_failure' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'success_local' };

/** Shared outcome objects, so the data path need not allocate for the non-HTTP kinds. */
export const OUTCOME_CONNECT_FAILURE: UpstreamOutcome = Object.freeze({ kind: 'connect_failure' });
export const OUTCOME_TIMEOUT: UpstreamOutcome = Object.freeze({ kind: 'timeout' });
export const OUTCOME_RESET: UpstreamOutcome = Object.freeze({ kind: 'reset' });
export const OUTCOME_SUCCESS_LOCAL: UpstreamOutcome = Object.freeze({ kind: 'success_local' });

/** Envoy's OutlierEjectionType names (lower-case), used in events and stats. */
export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'success_rate_local_origin'
  | 'failure_percentage'
  | 'failure_percentage_local_origin';

export type OutlierEvent =
  /** `durationMs`: how long the host stays out; it returns at the first sweep after that. */
  | { readonly key: string; readonly type: 'eject'; readonly reason: EjectionType; readonly durationMs: number }
  | { readonly key: string; readonly type: 'uneject'; readonly reason: 'timeout' | 'active_health_check' };

/** Per-host numbers for the admin /clusters page. */
export interface OutlierHostStats {
  readonly ejected: boolean;
  /** Times this host has been ejected since it was added. */
  readonly ejectionCount: number;
  /** External-origin success rate (percent) of the last complete interval, or null when below request volume. */
  readonly successRate: number | null;
  readonly localOriginSuccessRate: number | null;
}

/** Cluster-wide counters, named like Envoy's outlier_detection.* stats. */
export interface OutlierDetectorStats {
  ejectionsActive: number;
  ejectionsOverflow: number;
  ejectionsEnforcedTotal: number;
  readonly detected: Record<EjectionType, number>;
  readonly enforced: Record<EjectionType, number>;
}

/** Settings Envoy has that Ferry's config contract does not carry yet (Envoy's defaults apply). */
export interface OutlierDetectorOptions {
  /** Time the detector starts, so the first sweep is one interval later. Default 0. */
  readonly now?: number;
  readonly alwaysEjectOneHost?: boolean; // Envoy default false
  readonly enforcingLocalOriginSuccessRate?: number; // Envoy default 100
  readonly enforcingFailurePercentageLocalOrigin?: number; // Envoy default 0
}

const NO_EVENTS: readonly OutlierEvent[] = Object.freeze([]);

class HostState {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  // success-rate buckets: the one being written and the last complete one
  extTotal = 0;
  extSuccess = 0;
  localTotal = 0;
  localSuccess = 0;
  lastExtTotal = 0;
  lastExtSuccess = 0;
  lastLocalTotal = 0;
  lastLocalSuccess = 0;
  successRate: number | null = null;
  localSuccessRate: number | null = null;

  ejected = false;
  ejectionCount = 0;
  backoff = 0;
  jitterMs = 0;
  lastEjectionAt = 0;
  lastUnejectionAt: number | null = null;
}

function newCounts(): Record<EjectionType, number> {
  return {
    consecutive_5xx: 0,
    consecutive_gateway_failure: 0,
    consecutive_local_origin_failure: 0,
    success_rate: 0,
    success_rate_local_origin: 0,
    failure_percentage: 0,
    failure_percentage_local_origin: 0,
  };
}

function isGatewayError(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export class OutlierDetector {
  readonly stats: OutlierDetectorStats = {
    ejectionsActive: 0,
    ejectionsOverflow: 0,
    ejectionsEnforcedTotal: 0,
    detected: newCounts(),
    enforced: newCounts(),
  };

  private readonly hosts = new Map<string, HostState>();
  private readonly random: () => number;
  private readonly config: OutlierDetectionConfig;
  private readonly split: boolean;
  private readonly alwaysEjectOneHost: boolean;
  private readonly enforcingLocalOriginSuccessRate: number;
  private readonly enforcingFailurePercentageLocalOrigin: number;
  private nextEvaluation: number;
  // Success-rate mean and threshold of the last sweep (external, local), -1 when not computed, as in Envoy.
  private srAverage = [-1, -1];
  private srThreshold = [-1, -1];
  private pending: OutlierEvent[] | null = null;

  constructor(config: OutlierDetectionConfig, random: () => number, options: OutlierDetectorOptions = {}) {
    this.config = config;
    this.random = random;
    this.split = config.splitExternalLocalOriginErrors;
    this.alwaysEjectOneHost = options.alwaysEjectOneHost ?? false;
    this.enforcingLocalOriginSuccessRate = options.enforcingLocalOriginSuccessRate ?? 100;
    this.enforcingFailurePercentageLocalOrigin = options.enforcingFailurePercentageLocalOrigin ?? 0;
    this.nextEvaluation = (options.now ?? 0) + config.intervalMs;
  }

  addHost(key: string): void {
    if (!this.hosts.has(key)) this.hosts.set(key, new HostState());
  }

  removeHost(key: string): void {
    const h = this.hosts.get(key);
    if (h === undefined) return;
    if (h.ejected) this.stats.ejectionsActive--;
    this.hosts.delete(key);
  }

  isEjected(key: string): boolean {
    return this.hosts.get(key)?.ejected ?? false;
  }

  /** When the cluster should call `evaluate()` next. */
  nextEvaluationAt(): number {
    return this.nextEvaluation;
  }

  hostStats(key: string): OutlierHostStats | null {
    const h = this.hosts.get(key);
    if (h === undefined) return null;
    return {
      ejected: h.ejected,
      ejectionCount: h.ejectionCount,
      successRate: h.successRate,
      localOriginSuccessRate: h.localSuccessRate,
    };
  }

  /** Mean success rate and ejection threshold of the last sweep (percent), -1 when not computed. */
  successRateAverage(localOrigin = false): number {
    return this.srAverage[localOrigin ? 1 : 0];
  }

  successRateEjectionThreshold(localOrigin = false): number {
    return this.srThreshold[localOrigin ? 1 : 0];
  }

  /** Record one outcome. Returns ejection events (a shared empty array when nothing changed). */
  record(key: string, outcome: UpstreamOutcome, now: number): readonly OutlierEvent[] {
    const h = this.hosts.get(key);
    if (h === undefined) return NO_EVENTS;
    if (this.split) {
      switch (outcome.kind) {
        case 'http':
          this.putHttpStatus(key, h, outcome.status, now);
          break;
        case 'success_local':
          h.localTotal++;
          h.localSuccess++;
          h.consecutiveLocalOriginFailure = 0;
          break;
        default: // connect_failure, timeout, reset
          h.localTotal++;
          if (++h.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) {
            this.onConsecutive(key, h, 'consecutive_local_origin_failure', now);
          }
      }
    } else {
      switch (outcome.kind) {
        case 'http':
          this.putHttpStatus(key, h, outcome.status, now);
          break;
        case 'timeout':
          this.putHttpStatus(key, h, 504, now);
          break;
        case 'connect_failure':
        case 'reset':
          this.putHttpStatus(key, h, 503, now);
          break;
        case 'success_local':
          break; // the HTTP result that follows is what counts
      }
    }
    return this.takeEvents();
  }

  /**
   * A successful active health check on a host whose active health state is healthy. With
   * successful_active_health_check_uneject_host (default true), an ejected host comes back at once.
   */
  onActiveHealthCheckPass(key: string, now: number): readonly OutlierEvent[] {
    if (!this.config.successfulActiveHealthCheckUnejectHost) return NO_EVENTS;
    const h = this.hosts.get(key);
    if (h === undefined || !h.ejected) return NO_EVENTS;
    this.uneject(key, h, now, 'active_health_check');
    return this.takeEvents();
  }

  /** The interval sweep. Call when `now >= nextEvaluationAt()`. */
  evaluate(now: number): readonly OutlierEvent[] {
    const cfg = this.config;
    for (const [key, h] of this.hosts) {
      if (h.ejected) {
        const base = cfg.baseEjectionTimeMs;
        const max = Math.max(cfg.maxEjectionTimeMs, base);
        if (Math.min(base * h.backoff, max) + h.jitterMs <= now - h.lastEjectionAt) {
          this.uneject(key, h, now, 'timeout');
        }
      }
      h.lastExtTotal = h.extTotal;
      h.lastExtSuccess = h.extSuccess;
      h.lastLocalTotal = h.localTotal;
      h.lastLocalSuccess = h.localSuccess;
      h.extTotal = h.extSuccess = h.localTotal = h.localSuccess = 0;
      h.successRate = null;
      h.localSuccessRate = null;
    }
    this.successRateSweep(false, now);
    this.successRateSweep(true, now);
    for (const h of this.hosts.values()) {
      if (!h.ejected && h.lastUnejectionAt !== null && now - h.lastUnejectionAt >= cfg.intervalMs && h.backoff > 0) {
        h.backoff--;
      }
    }
    this.nextEvaluation = now + cfg.intervalMs;
    return this.takeEvents();
  }

  // ───────────── internals ─────────────

  private putHttpStatus(key: string, h: HostState, status: number, now: number): void {
    h.extTotal++;
    if (status >= 500 && status < 600) {
      if (isGatewayError(status)) {
        if (++h.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure) {
          this.onConsecutive(key, h, 'consecutive_gateway_failure', now);
        }
      } else {
        h.consecutiveGatewayFailure = 0;
      }
      if (++h.consecutive5xx === this.config.consecutive5xx) {
        this.onConsecutive(key, h, 'consecutive_5xx', now);
      }
    } else {
      h.extSuccess++;
      h.consecutive5xx = 0;
      h.consecutiveGatewayFailure = 0;
    }
  }

  private onConsecutive(key: string, h: HostState, type: EjectionType, now: number): void {
    if (h.ejected) return; // Envoy leaves the counter alone for an already-ejected host
    this.stats.detected[type]++;
    this.eject(key, h, type, now);
    if (type === 'consecutive_5xx') h.consecutive5xx = 0;
    else if (type === 'consecutive_gateway_failure') h.consecutiveGatewayFailure = 0;
    else h.consecutiveLocalOriginFailure = 0;
  }

  private enforcing(type: EjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx':
        return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure':
        return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure':
        return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate':
        return c.enforcingSuccessRate;
      case 'success_rate_local_origin':
        return this.enforcingLocalOriginSuccessRate;
      case 'failure_percentage':
        return c.enforcingFailurePercentage;
      case 'failure_percentage_local_origin':
        return this.enforcingFailurePercentageLocalOrigin;
    }
  }

  private eject(key: string, h: HostState, type: EjectionType, now: number): void {
    if (h.ejected) return;
    const maxPercent = Math.min(100, this.config.maxEjectionPercent);
    const active = this.stats.ejectionsActive;
    let allowed = (100 * (active + 1)) / this.hosts.size <= maxPercent;
    if (this.alwaysEjectOneHost && active === 0) allowed = true;
    if (!allowed) {
      this.stats.ejectionsOverflow++;
      return;
    }
    const enforcing = this.enforcing(type);
    if (!(this.random() * 100 < enforcing)) return; // detected, not enforced
    const cfg = this.config;
    this.stats.ejectionsActive++;
    this.stats.ejectionsEnforcedTotal++;
    this.stats.enforced[type]++;
    h.ejected = true;
    h.ejectionCount++;
    h.lastEjectionAt = now;
    h.jitterMs = cfg.maxEjectionTimeJitterMs > 0 ? Math.floor(this.random() * (cfg.maxEjectionTimeJitterMs + 1)) : 0;
    const base = cfg.baseEjectionTimeMs;
    const max = Math.max(cfg.maxEjectionTimeMs, base);
    if (h.backoff * base < max + base) h.backoff++;
    const durationMs = Math.min(base * h.backoff, max) + h.jitterMs;
    this.push({ key, type: 'eject', reason: type, durationMs });
  }

  private uneject(key: string, h: HostState, now: number, reason: 'timeout' | 'active_health_check'): void {
    h.ejected = false;
    this.stats.ejectionsActive--;
    h.consecutive5xx = 0;
    h.consecutiveGatewayFailure = 0;
    h.consecutiveLocalOriginFailure = 0;
    h.lastUnejectionAt = now;
    this.push({ key, type: 'uneject', reason });
  }

  private successRateSweep(local: boolean, now: number): void {
    const idx = local ? 1 : 0;
    this.srAverage[idx] = -1;
    this.srThreshold[idx] = -1;
    const cfg = this.config;
    if (this.hosts.size < cfg.successRateMinimumHosts && this.hosts.size < cfg.failurePercentageMinimumHosts) return;

    const srKeys: string[] = [];
    const srRates: number[] = [];
    const fpKeys: string[] = [];
    const fpRates: number[] = [];
    let sum = 0;
    for (const [key, h] of this.hosts) {
      if (h.ejected) continue;
      const total = local ? h.lastLocalTotal : h.lastExtTotal;
      if (total === 0) continue;
      const rate = ((local ? h.lastLocalSuccess : h.lastExtSuccess) * 100) / total;
      if (total >= Math.min(cfg.successRateRequestVolume, cfg.failurePercentageRequestVolume)) {
        if (local) h.localSuccessRate = rate;
        else h.successRate = rate;
      }
      if (total >= cfg.successRateRequestVolume) {
        srKeys.push(key);
        srRates.push(rate);
        sum += rate;
      }
      if (total >= cfg.failurePercentageRequestVolume) {
        fpKeys.push(key);
        fpRates.push(rate);
      }
    }

    if (srKeys.length > 0 && srKeys.length >= cfg.successRateMinimumHosts) {
      const mean = sum / srKeys.length;
      let variance = 0;
      for (const r of srRates) variance += (r - mean) * (r - mean);
      variance /= srKeys.length;
      const threshold = mean - (cfg.successRateStdevFactor / 1000) * Math.sqrt(variance);
      this.srAverage[idx] = mean;
      this.srThreshold[idx] = threshold;
      const type: EjectionType = local ? 'success_rate_local_origin' : 'success_rate';
      for (let i = 0; i < srKeys.length; i++) {
        if (srRates[i] < threshold) {
          this.stats.detected[type]++;
          this.eject(srKeys[i], this.hosts.get(srKeys[i])!, type, now);
        }
      }
    }

    if (fpKeys.length > 0 && fpKeys.length >= cfg.failurePercentageMinimumHosts) {
      const type: EjectionType = local ? 'failure_percentage_local_origin' : 'failure_percentage';
      for (let i = 0; i < fpKeys.length; i++) {
        if (100 - fpRates[i] >= cfg.failurePercentageThreshold) {
          this.stats.detected[type]++;
          this.eject(fpKeys[i], this.hosts.get(fpKeys[i])!, type, now);
        }
      }
    }
  }

  private push(e: OutlierEvent): void {
    (this.pending ??= []).push(e);
  }

  private takeEvents(): readonly OutlierEvent[] {
    const p = this.pending;
    if (p === null) return NO_EVENTS;
    this.pending = null;
    return p;
  }
}
