// Cluster outlier_detection and circuit_breakers → OutlierDetectionConfig / CircuitBreakerThresholds.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { CircuitBreakerThresholds, OutlierDetectionConfig } from './types';
import { duration, percent, positiveDuration } from './common';
import { Reader } from './reader';

const U32 = 0xffffffff;

export function translateOutlierDetection(v: unknown, path: string): OutlierDetectionConfig {
  const r = new Reader(v, path);
  const pct = (key: string, def: number) => r.int(key, def, 0, 100);
  const out: OutlierDetectionConfig = {
    consecutive5xx: r.int('consecutive_5xx', 5, 0, U32),
    consecutiveGatewayFailure: r.int('consecutive_gateway_failure', 5, 0, U32),
    consecutiveLocalOriginFailure: r.int('consecutive_local_origin_failure', 5, 0, U32),
    intervalMs: positiveDuration(r, 'interval', 10_000),
    baseEjectionTimeMs: positiveDuration(r, 'base_ejection_time', 30_000),
    maxEjectionTimeMs: positiveDuration(r, 'max_ejection_time', 300_000),
    maxEjectionPercent: pct('max_ejection_percent', 10),
    enforcingConsecutive5xx: pct('enforcing_consecutive_5xx', 100),
    enforcingConsecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    enforcingConsecutiveLocalOriginFailure: pct('enforcing_consecutive_local_origin_failure', 100),
    enforcingSuccessRate: pct('enforcing_success_rate', 100),
    successRateMinimumHosts: r.int('success_rate_minimum_hosts', 5, 0, U32),
    successRateRequestVolume: r.int('success_rate_request_volume', 100, 0, U32),
    successRateStdevFactor: r.int('success_rate_stdev_factor', 1900, 0, U32),
    enforcingFailurePercentage: pct('enforcing_failure_percentage', 0),
    failurePercentageThreshold: pct('failure_percentage_threshold', 85),
    failurePercentageMinimumHosts: r.int('failure_percentage_minimum_hosts', 5, 0, U32),
    failurePercentageRequestVolume: r.int('failure_percentage_request_volume', 50, 0, U32),
    splitExternalLocalOriginErrors: r.bool('split_external_local_origin_errors', false),
    maxEjectionTimeJitterMs: duration(r, 'max_ejection_time_jitter', 0),
    successfulActiveHealthCheckUnejectHost: r.bool('successful_active_health_check_uneject_host', true),
  };
  // These only matter with split_external_local_origin_errors, for which Ferry has no success-rate split.
  if (r.has('enforcing_local_origin_success_rate') && r.int('enforcing_local_origin_success_rate', 100, 0, 100) !== 100) {
    throw new UnsupportedConfigError(r.at('enforcing_local_origin_success_rate'), 'is not supported by Ferry');
  }
  if (r.has('enforcing_failure_percentage_local_origin') && r.int('enforcing_failure_percentage_local_origin', 0, 0, 100) !== 0) {
    throw new UnsupportedConfigError(r.at('enforcing_failure_percentage_local_origin'), 'is not supported by Ferry');
  }
  r.reject('monitors', 'always_eject_one_host', 'detect_degraded_hosts');
  r.done();
  return out;
}

export const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: null,
};

function thresholds(r: Reader): CircuitBreakerThresholds {
  let retryBudget: CircuitBreakerThresholds['retryBudget'] = null;
  const b = r.obj('retry_budget');
  if (b) {
    retryBudget = {
      budgetPercent: percent(b, 'budget_percent', 20),
      minRetryConcurrency: b.int('min_retry_concurrency', 3, 0, U32),
    };
    b.done();
  }
  return {
    maxConnections: r.int('max_connections', 1024, 0, U32),
    maxPendingRequests: r.int('max_pending_requests', 1024, 0, U32),
    maxRequests: r.int('max_requests', 1024, 0, U32),
    maxRetries: r.int('max_retries', 3, 0, U32),
    retryBudget,
  };
}

/**
 * circuit_breakers → the thresholds of priority DEFAULT. HIGH thresholds are checked and dropped:
 * they only govern routes of priority HIGH, which route translation rejects, so no request could
 * ever be counted against them (Envoy with DEFAULT routes only never uses them either).
 */
export function translateCircuitBreakers(v: unknown, path: string): CircuitBreakerThresholds {
  const r = new Reader(v, path);
  let normal: CircuitBreakerThresholds | null = null;
  const seen = new Set<string>();
  r.objList('thresholds', (t) => {
    const priority = t.enumOf('priority', ['DEFAULT', 'HIGH'], 'DEFAULT', 'priority');
    const th = thresholds(t);
    t.bool('track_remaining', false); // only publishes remaining_* gauges
    t.reject('max_connection_pools');
    t.done();
    if (seen.has(priority)) throw new ConfigError(t.at('priority'), `thresholds for priority ${priority} are given twice`);
    seen.add(priority);
    if (priority === 'DEFAULT') normal = th;
  });
  r.reject('per_host_thresholds');
  r.done();
  return normal ?? DEFAULT_THRESHOLDS;
}
