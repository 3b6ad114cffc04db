// The load client's accounting: each request's outcome, and a run's figures (sent, ok, failures by reason, latency during the fault, recovery).
//
// Pure: a run is the list of its requests (send time, latency, status or error, response flag); the
// fault window is given in the same time base (milliseconds since the load started).

/** One request as the open-loop client saw it. */
export interface RequestRecord {
  /** When it was due and sent, ms since the load started (open loop: on schedule, whatever came back). */
  readonly at: number;
  /** From when it was due until the response ended, or the error, ms (from the schedule, so a late send is not hidden). */
  readonly latencyMs: number;
  /** How late the client sent it after it was due, ms (a loaded client shows here). */
  readonly lagMs: number;
  /** The HTTP status, or 0 when no response came (see `error`), the exchange was opaque TCP (see `echoed`) or the gRPC client does not tell it. */
  readonly status: number;
  /** The `x-ferry-response-flags` header, or '' when absent. */
  readonly flag: string;
  /** The socket error code (ECONNRESET, ETIMEDOUT, EMISMATCH, …), or '' when a response came. */
  readonly error: string;
  /** gRPC only: the call's grpc-status (0 OK, 14 UNAVAILABLE, …); a call is ok only with 0. */
  readonly grpcStatus?: number;
  /** Opaque TCP only: every byte written came back, unaltered and in order (absent otherwise). */
  readonly echoed?: true;
  /** Opaque TCP with reused connections only: the exchange went on a connection that had carried earlier ones (absent on a new one). */
  readonly reused?: true;
  /** Why each earlier attempt was repeated on a fresh connection (fresh-retry.ts); absent when it took one attempt. */
  readonly retries?: readonly string[];
}

/** The fault window: from the fault's start to when the scenario undid it (ms since the load started). */
export interface FaultWindow {
  readonly startMs: number;
  readonly endMs: number;
}

export interface LoadFigures {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** Failed requests by reason: `503 UF`, `500`, `ECONNRESET`, … */
  readonly failedBy: Readonly<Record<string, number>>;
  /** Latency percentiles of the requests sent during the fault window (all of them, failed too), ms; null if none. */
  readonly faultP50Ms: number | null;
  readonly faultP99Ms: number | null;
  /** Latency percentiles over the whole run, ms; null if none. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /**
   * From the fault's start until the end of the last failed request sent at or after it, ms: 0 when
   * none failed, null when the run never recovered (a request sent in its last second still failed).
   */
  readonly recoveryMs: number | null;
  /** The latest a request left after it was due, ms: past a few ms the client, not the mesh, was the bottleneck. */
  readonly maxSendLagMs: number;
}

/** Whether the request counts as ok: a 2xx answer, grpc-status 0 for a gRPC call, or an exact echo over opaque TCP. */
export function isOk(r: RequestRecord): boolean {
  if (r.echoed) return true;
  if (r.grpcStatus !== undefined) return r.grpcStatus === 0;
  return r.status >= 200 && r.status < 300;
}

/** The reason a failed request is counted under: the status with its response flag, the grpc-status, or the error. */
export function failureReason(r: RequestRecord): string {
  const flag = r.flag ? ` ${r.flag}` : '';
  if (r.grpcStatus !== undefined && r.grpcStatus !== 0) return `grpc-status ${r.grpcStatus}${r.status ? ` (${r.status})` : ''}${flag}`;
  if (r.status === 0) return r.error || 'no response';
  return `${r.status}${flag}`;
}

/** The nearest-rank percentile (`q` in 0–100) of `values`; null for none. */
export function percentile(values: readonly number[], q: number): number | null {
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must be 0–100, got ${q}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Time to recover: from `faultStartMs` to the end of the last failed request sent at or after it.
 * 0 if none failed after the start; null if one sent within `tailMs` of the last send still failed.
 */
export function recoveryTime(records: readonly RequestRecord[], faultStartMs: number, tailMs = 1000): number | null {
  let lastEnd = -1;
  let lastSent = -Infinity;
  let lastFailedAt = -Infinity;
  for (const r of records) {
    if (r.at > lastSent) lastSent = r.at;
    if (r.at < faultStartMs || isOk(r)) continue;
    lastEnd = Math.max(lastEnd, r.at + r.latencyMs);
    lastFailedAt = Math.max(lastFailedAt, r.at);
  }
  if (lastEnd < 0) return 0;
  if (lastFailedAt > lastSent - tailMs) return null;
  return Math.round(Math.max(0, lastEnd - faultStartMs));
}

/** Summary figures of a run; failures before the fault count too (they are failures). */
export function summarize(records: readonly RequestRecord[], fault: FaultWindow): LoadFigures {
  if (fault.endMs < fault.startMs) throw new RangeError(`fault window: endMs ${fault.endMs} is before startMs ${fault.startMs}`);
  const failedBy: Record<string, number> = {};
  let ok = 0;
  const during: number[] = [];
  const all: number[] = [];
  let maxLag = 0;
  for (const r of records) {
    if (r.lagMs > maxLag) maxLag = r.lagMs;
    all.push(r.latencyMs);
    if (r.at >= fault.startMs && r.at <= fault.endMs) during.push(r.latencyMs);
    if (isOk(r)) ok++;
    else {
      const k = failureReason(r);
      failedBy[k] = (failedBy[k] ?? 0) + 1;
    }
  }
  const round1 = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);
  return {
    sent: records.length,
    ok,
    failed: records.length - ok,
    failedBy,
    faultP50Ms: round1(percentile(during, 50)),
    faultP99Ms: round1(percentile(during, 99)),
    p50Ms: round1(percentile(all, 50)),
    p99Ms: round1(percentile(all, 99)),
    recoveryMs: recoveryTime(records, fault.startMs),
    maxSendLagMs: Math.round(maxLag * 10) / 10,
  };
}

/** The retries of a run in the load client's retry-on-fresh-connection mode: requests that needed one, and retries by reason. */
export interface RetryFigures {
  /** Requests that took more than one attempt. */
  readonly retried: number;
  /** Of those, the ones that still failed. */
  readonly retriedFailed: number;
  /** Retries (attempts after the first) by reason. */
  readonly retriesBy: Readonly<Record<string, number>>;
}

export function retryFigures(records: readonly RequestRecord[]): RetryFigures {
  const retriesBy: Record<string, number> = {};
  let retried = 0;
  let retriedFailed = 0;
  for (const r of records) {
    if (!r.retries?.length) continue;
    retried++;
    if (!isOk(r)) retriedFailed++;
    for (const why of r.retries) retriesBy[why] = (retriesBy[why] ?? 0) + 1;
  }
  return { retried, retriedFailed, retriesBy };
}
