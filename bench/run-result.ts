// Builds RunResult entries: every figure null ("not measured") until a scenario fills it in.

import type { RunSpec } from './plan';
import type { RunResult } from './types';

/** The pair runs with mTLS between its hops; everything else is plain text. */
export function tlsOf(spec: RunSpec): RunResult['tls'] {
  return spec.topology === 'pair' ? 'mtls' : 'none';
}

/** A successful entry for `spec` with every figure null, to be overridden by the caller. */
export function emptyResult(spec: RunSpec, figures: Partial<RunResult> = {}): RunResult {
  return {
    scenario: spec.scenario, topology: spec.topology, proxy: spec.proxy, tls: tlsOf(spec), status: 'ok', error: null,
    duration_s: spec.durationS, qps_target: spec.qps, qps_actual: null, p50_ms: null, p90_ms: null, p99_ms: null,
    p999_ms: null, requests: null, errors: null, mb_per_s: null, proxy_cpu_s_per_1k_req: null, proxy_rss_mb: null,
    streams: spec.streams > 0 ? spec.streams : null, controller_cpu_s: null, controller_rss_mb: null, mb_per_proxy: null,
    rate_per_cpu_s: null,
    ...figures,
  };
}

/** A failed entry: the reason, no figures. */
export function failedResult(spec: RunSpec, reason: string): RunResult {
  return { ...emptyResult(spec), status: 'failed', error: reason };
}

/** n rounded to `digits` decimals (JSON stays readable). */
export function round(n: number, digits = 4): number {
  return Number(n.toFixed(digits));
}

/** The p-th percentile (nearest rank) of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
