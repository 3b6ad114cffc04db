// The soak's accounting: load figures summed over its consecutive load segments, and the memory and descriptor trend of each long-lived process after the warm-up.
//
// Pure: the soak hands in each segment's requests and the periodic /proc samples; the verdict
// (0 failed, RSS growth under a bound, descriptors flat, no sidecar or controller restarted) is a
// function of them that unit tests pin down.

import { failureReason, isOk, type RequestRecord } from './load/outcomes';

/** The load of all segments so far: counts and every latency (ms), for percentiles over the whole soak. */
export class SoakLoad {
  sent = 0;
  ok = 0;
  readonly failedBy: Record<string, number> = {};
  /** When each failure was sent, ms since the soak's load started (the first 20). */
  readonly firstFailures: { atMs: number; reason: string }[] = [];
  maxSendLagMs = 0;
  private latencies = new Float64Array(1 << 16);
  private n = 0;

  /** Adds a segment whose first request was due at `offsetMs` after the soak's load started. */
  add(records: readonly RequestRecord[], offsetMs: number): void {
    for (const r of records) {
      this.sent++;
      if (this.n === this.latencies.length) {
        const bigger = new Float64Array(this.latencies.length * 2);
        bigger.set(this.latencies);
        this.latencies = bigger;
      }
      this.latencies[this.n++] = r.latencyMs;
      if (r.lagMs > this.maxSendLagMs) this.maxSendLagMs = r.lagMs;
      if (isOk(r)) {
        this.ok++;
        continue;
      }
      const k = failureReason(r);
      this.failedBy[k] = (this.failedBy[k] ?? 0) + 1;
      if (this.firstFailures.length < 20) this.firstFailures.push({ atMs: Math.round(offsetMs + r.at), reason: k });
    }
  }

  get failed(): number {
    return this.sent - this.ok;
  }

  /** Nearest-rank percentile of every latency so far (ms, one decimal), null before any request. */
  percentile(q: number): number | null {
    if (this.n === 0) return null;
    if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile: q must be 0–100, got ${q}`);
    const sorted = this.latencies.slice(0, this.n).sort();
    return Math.round(sorted[Math.max(1, Math.ceil((q / 100) * this.n)) - 1] * 10) / 10;
  }
}

/** One /proc sample of a long-lived process during the soak. */
export interface TrendSample {
  /** ms since the soak's load started. */
  readonly atMs: number;
  readonly pid: number;
  /** null when the process was gone at that moment. */
  readonly rssMb: number | null;
  readonly fds: number | null;
}

export interface Trend {
  readonly name: string;
  /** Median RSS over the window right after the warm-up, and over the soak's last window (MiB). */
  readonly baselineRssMb: number | null;
  readonly endRssMb: number | null;
  readonly maxRssMb: number | null;
  /** (end − baseline) / baseline, percent, one decimal. */
  readonly rssGrowthPct: number | null;
  readonly baselineFds: number | null;
  readonly endFds: number | null;
  /** Distinct pids seen: more than one means the process restarted during the soak. */
  readonly pids: readonly number[];
  /** Median RSS of each consecutive window from the soak's start (MiB; null for a window without samples): tells a plateau from a leak. */
  readonly rssByWindowMb: readonly (number | null)[];
}

export interface TrendBounds {
  /** ms of load before the baseline window (memory settles: JIT, pools, caches). */
  readonly warmupMs: number;
  /** Length of the baseline window and of the end window (ms). */
  readonly windowMs: number;
  /** RSS may grow by less than this from baseline to end (percent). */
  readonly maxRssGrowthPct: number;
  /** Descriptors may end at most this many above the baseline. */
  readonly maxFdGrowth: number;
}

/** The median, one decimal. */
function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round((s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2) * 10) / 10;
}

/** The trend of one process's samples: baseline after the warm-up against the last window. */
export function trendOf(name: string, samples: readonly TrendSample[], b: TrendBounds): Trend {
  const live = samples.filter((s) => s.rssMb !== null && s.fds !== null);
  const endAt = live.length ? live[live.length - 1].atMs : 0;
  const base = live.filter((s) => s.atMs >= b.warmupMs && s.atMs < b.warmupMs + b.windowMs);
  const end = live.filter((s) => s.atMs > endAt - b.windowMs && s.atMs >= b.warmupMs + b.windowMs);
  const baselineRssMb = median(base.map((s) => s.rssMb!));
  const endRssMb = median(end.map((s) => s.rssMb!));
  const baselineFds = median(base.map((s) => s.fds!));
  const endFds = median(end.map((s) => s.fds!));
  const rssGrowthPct = baselineRssMb !== null && endRssMb !== null && baselineRssMb > 0 ? Math.round(((endRssMb - baselineRssMb) / baselineRssMb) * 1000) / 10 : null;
  return {
    name,
    baselineRssMb,
    endRssMb,
    maxRssMb: live.length ? Math.max(...live.map((s) => s.rssMb!)) : null,
    rssGrowthPct,
    baselineFds,
    endFds,
    pids: [...new Set(samples.map((s) => s.pid))],
    rssByWindowMb: Array.from({ length: Math.ceil((endAt + 1) / b.windowMs) }, (_, i) => median(live.filter((s) => s.atMs >= i * b.windowMs && s.atMs < (i + 1) * b.windowMs).map((s) => s.rssMb!))),
  };
}

/** What keeps a trend from passing, in words; empty when it passes. */
export function trendProblems(t: Trend, b: TrendBounds): string[] {
  const out: string[] = [];
  if (t.pids.length > 1) out.push(`${t.name} restarted during the soak (pids ${t.pids.join(', ')})`);
  if (t.rssGrowthPct === null) out.push(`${t.name}: no RSS samples in the baseline or end window (the soak is shorter than warm-up + 2 windows?)`);
  else if (t.rssGrowthPct >= b.maxRssGrowthPct) out.push(`${t.name}: RSS grew ${t.rssGrowthPct} % (${t.baselineRssMb} → ${t.endRssMb} MiB), bound ${b.maxRssGrowthPct} %`);
  if (t.baselineFds !== null && t.endFds !== null && t.endFds - t.baselineFds > b.maxFdGrowth) out.push(`${t.name}: descriptors grew ${t.baselineFds} → ${t.endFds}, bound +${b.maxFdGrowth}`);
  return out;
}

/** Parses a soak duration: `90s`, `10m`, `1h`, `1h30m` (at least one second). */
export function parseSoakDuration(flag: string, v: string): number {
  if (!/^([0-9]+(h|m|s))+$/.test(v)) throw new RangeError(`flag --${flag}: ${JSON.stringify(v)} is not a duration (e.g. 90s, 10m, 1h)`);
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };
  let ms = 0;
  for (const m of v.matchAll(/([0-9]+)(h|m|s)/g)) ms += Number(m[1]) * units[m[2]];
  if (ms < 1000) throw new RangeError(`flag --${flag}: must be at least 1s, got ${JSON.stringify(v)}`);
  return ms;
}

/** A soak's figures, as latest.json keeps them and RELIABILITY.md shows them. */
export interface SoakResult {
  readonly ranAt: string;
  readonly command: string;
  readonly passed: boolean;
  readonly durationMs: number;
  readonly rps: number;
  readonly load: {
    readonly sent: number;
    readonly ok: number;
    readonly failed: number;
    readonly failedBy: Readonly<Record<string, number>>;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly maxSendLagMs: number;
    readonly firstFailures: readonly { atMs: number; reason: string }[];
  } | null;
  /** Load clients run one after the other. */
  readonly segments: number;
  readonly rollingRestarts: number;
  readonly replicaRestartMs: readonly number[];
  /** Times the added Service went in or out of the registry. */
  readonly configEdits: number;
  /** From an edit to the client's sidecar showing it (its cluster's endpoints there or gone), ms. */
  readonly editSeenMs: { readonly median: number | null; readonly max: number | null };
  readonly bounds: TrendBounds;
  readonly trends: readonly Trend[];
  /** Why it did not pass, in words. */
  readonly problems: readonly string[];
  readonly error: string | null;
}
