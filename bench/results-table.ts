// Turns a benchmark report into markdown: figures per proxy, added latency over direct, Ferry / Envoy ratios.

import { SCENARIOS, type BenchReport, type RunResult, type Scenario, type Topology } from './types';

interface Column {
  readonly title: string;
  readonly digits: number;
  /** The figure for `run`; `direct` is the same scenario's no-proxy run (null if absent or failed). */
  readonly get: (run: RunResult, direct: RunResult | null) => number | null;
}

/** a − b, or null when either is missing. */
export function difference(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a - b;
}

/**
 * a / b, or null when either is missing, b is not positive or a is negative (an "added" latency
 * below zero is noise, and a ratio of it would mislead).
 */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b <= 0 || a < 0 ? null : a / b;
}

function added(key: 'p50_ms' | 'p90_ms' | 'p99_ms' | 'p999_ms'): Column['get'] {
  return (run, direct) => (run.proxy === 'direct' ? null : difference(run[key], direct?.[key] ?? null));
}

const cpu: Column = { title: 'CPU s / 1k req', digits: 4, get: (r) => r.proxy_cpu_s_per_1k_req };
const rss: Column = { title: 'RSS MB', digits: 1, get: (r) => r.proxy_rss_mb };
const errors: Column = { title: 'errors', digits: 0, get: (r) => r.errors };

const COLUMNS: Readonly<Record<Scenario, readonly Column[]>> = {
  'latency-1000rps': [
    { title: 'qps', digits: 1, get: (r) => r.qps_actual },
    { title: 'p50 ms', digits: 3, get: (r) => r.p50_ms },
    { title: 'p90 ms', digits: 3, get: (r) => r.p90_ms },
    { title: 'p99 ms', digits: 3, get: (r) => r.p99_ms },
    { title: 'p99.9 ms', digits: 3, get: (r) => r.p999_ms },
    { title: '+p50 ms', digits: 3, get: added('p50_ms') },
    { title: '+p90 ms', digits: 3, get: added('p90_ms') },
    { title: '+p99 ms', digits: 3, get: added('p99_ms') },
    { title: '+p99.9 ms', digits: 3, get: added('p999_ms') },
    errors,
    cpu,
    rss,
  ],
  'max-rps': [
    { title: 'rps', digits: 0, get: (r) => r.qps_actual },
    { title: 'p50 ms', digits: 3, get: (r) => r.p50_ms },
    { title: 'p99 ms', digits: 3, get: (r) => r.p99_ms },
    { title: '+p99 ms', digits: 3, get: added('p99_ms') },
    errors,
    cpu,
    rss,
  ],
  'tcp-throughput': [
    { title: 'MB/s', digits: 1, get: (r) => r.mb_per_s },
    { title: 'p50 ms', digits: 3, get: (r) => r.p50_ms },
    { title: 'p99 ms', digits: 3, get: (r) => r.p99_ms },
    errors,
    { title: 'CPU s / 1k echoes', digits: 4, get: (r) => r.proxy_cpu_s_per_1k_req },
    rss,
  ],
  'rss-1000-services': [rss, { title: 'p50 ms', digits: 3, get: (r) => r.p50_ms }, { title: 'p99 ms', digits: 3, get: (r) => r.p99_ms }, errors, cpu],
  'xds-convergence': [
    { title: 'streams', digits: 0, get: (r) => r.streams },
    { title: 'all ACKed p50 ms', digits: 1, get: (r) => r.p50_ms },
    { title: 'p90 ms', digits: 1, get: (r) => r.p90_ms },
    { title: 'p99 ms', digits: 1, get: (r) => r.p99_ms },
    { title: 'changes', digits: 0, get: (r) => r.requests },
    { title: 'timed out', digits: 0, get: (r) => r.errors },
    { title: 'controller CPU s', digits: 2, get: (r) => r.controller_cpu_s },
    { title: 'controller RSS MB', digits: 1, get: (r) => r.controller_rss_mb },
    { title: 'MB / proxy', digits: 3, get: (r) => r.mb_per_proxy },
  ],
  'csr-sign': [
    { title: 'signed / s', digits: 0, get: (r) => r.qps_actual },
    { title: 'per controller CPU s', digits: 0, get: (r) => r.rate_per_cpu_s },
    { title: 'p50 ms', digits: 2, get: (r) => r.p50_ms },
    { title: 'p99 ms', digits: 2, get: (r) => r.p99_ms },
    { title: 'signed', digits: 0, get: (r) => r.requests },
    errors,
    { title: 'controller CPU s', digits: 2, get: (r) => r.controller_cpu_s },
    { title: 'controller RSS MB', digits: 1, get: (r) => r.controller_rss_mb },
  ],
  'mesh-stats': [
    { title: 'sidecars', digits: 0, get: (r) => r.streams },
    { title: 'tick p50 ms', digits: 1, get: (r) => r.p50_ms },
    { title: 'tick p99 ms', digits: 1, get: (r) => r.p99_ms },
    { title: 'CPU ms / scrape', digits: 3, get: (r) => r.scrape_cpu_ms_per_proxy ?? null },
    { title: 'scrapes / CPU s', digits: 0, get: (r) => r.rate_per_cpu_s },
    { title: 'aggregator MB', digits: 1, get: (r) => r.aggregator_heap_mb ?? null },
    { title: 'MB / sidecar', digits: 4, get: (r) => r.aggregator_mb_per_proxy ?? null },
    { title: 'kB / scrape', digits: 1, get: (r) => r.kb_per_scrape ?? null },
    { title: 'down', digits: 0, get: (r) => r.errors },
  ],
  webhook: [
    { title: 'qps', digits: 1, get: (r) => r.qps_actual },
    { title: 'p50 ms', digits: 3, get: (r) => r.p50_ms },
    { title: 'p90 ms', digits: 3, get: (r) => r.p90_ms },
    { title: 'p99 ms', digits: 3, get: (r) => r.p99_ms },
    { title: 'p99.9 ms', digits: 3, get: (r) => r.p999_ms },
    errors,
    { title: 'CPU s / 1k reviews', digits: 4, get: (r) => r.proxy_cpu_s_per_1k_req },
    rss,
  ],
};

const DESCRIPTIONS: Readonly<Record<Scenario, string>> = {
  'latency-1000rps': '1,000 requests/s over 16 connections, 1 KiB POST echoed by the upstream. `+` columns: added over `direct`.',
  'max-rps': 'As many requests/s as 16 connections carry (fortio -qps 0), 1 KiB POST echoed.',
  'tcp-throughput': 'Opaque TCP through the pair: 16 connections echoing 16 KiB messages; MB/s = payload bytes received per second.',
  'rss-1000-services': 'Each proxy loaded with 1,000 clusters and 1,000 virtual hosts; every service requested once, then 1,000 requests/s to one; RSS read after.',
  'xds-convergence':
    '`ferry controller --registry file:DIR --insecure-xds` (default 100 ms debounce) serving 1,000 Services, each with its own EndpointSlice file; ' +
    'simulated Ferry sidecars (a Go program, `bench/xdssim`: up to 1,000 ADS streams per process, each on its own gRPC connection) subscribe CDS/LDS, then EDS/RDS by name, and ACK everything. ' +
    'One slice file is rewritten per change; "all ACKed" is the time from the write until the last stream ACKed EDS with the new address ' +
    '(file-watch debounce, reload, translation, push debounce and fan-out included). MB / proxy = (RSS with N streams − RSS before any) / N; CPU over the changes.',
  'csr-sign':
    'CreateCertificate over the controller\'s real gRPC CA (TLS, bootstrap token) from 4 concurrent callers, pre-made ECDSA P-256 CSRs; ' +
    'rate per wall second and per controller CPU second (the per-core figure), latency per call.',
  'mesh-stats':
    'The controller\'s stats scraper and aggregator (their own process, --expose-gc) over 500 simulated Ferry sidecars served by one process on 500 loopback ports ' +
    '(real ProxyMetrics text: 9 request series with 20-bucket histograms and TCP counters each, moving every scrape); 16 scrapes in flight, ticks back to back. ' +
    'A tick scrapes every sidecar once; CPU per scrape covers fetch, parse and aggregation; aggregator MB = heap held with the 60-snapshot ring full.',
  webhook:
    'AdmissionReview POSTs (a two-container Deployment pod, every probe kind) to `ferry webhook` over HTTPS (self-signed P-256 certificate) ' +
    'by fortio at a fixed rate over 4 keep-alive connections; every answer is a JSON Patch.',
};

function format(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits);
}

function formatRatio(value: number | null): string {
  return value === null ? '–' : `${value.toFixed(2)}×`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function find(runs: readonly RunResult[], scenario: Scenario, topology: Topology, proxy: string): RunResult | null {
  return runs.find((r) => r.scenario === scenario && r.topology === topology && r.proxy === proxy) ?? null;
}

function ok(run: RunResult | null): RunResult | null {
  return run !== null && run.status === 'ok' ? run : null;
}

/** The markdown table of one scenario, or null when the report has no run of it. */
export function scenarioTable(runs: readonly RunResult[], scenario: Scenario): string | null {
  const mine = runs.filter((r) => r.scenario === scenario);
  if (mine.length === 0) return null;
  const columns = COLUMNS[scenario];
  const direct = ok(find(mine, scenario, 'direct', 'direct'));
  const lines = [row(['topology', 'proxy', ...columns.map((c) => c.title)]), row(['---', '---', ...columns.map(() => '---:')])];
  const topologies = [...new Set(mine.map((r) => r.topology))];
  for (const topology of topologies) {
    for (const run of mine.filter((r) => r.topology === topology)) {
      if (run.status === 'failed') {
        const reason = cell(`failed: ${(run.error ?? 'unknown').slice(0, 160)}`);
        lines.push(row([topology, run.proxy, reason, ...columns.slice(1).map(() => '')]));
      } else {
        lines.push(row([topology, run.proxy, ...columns.map((c) => format(c.get(run, direct), c.digits))]));
      }
    }
    if (topology === 'direct') continue;
    const ferry = ok(find(mine, scenario, topology, 'ferry'));
    const envoy = ok(find(mine, scenario, topology, 'envoy'));
    if (find(mine, scenario, topology, 'ferry') && find(mine, scenario, topology, 'envoy')) {
      const ratios = columns.map((c) => formatRatio(ferry && envoy ? ratio(c.get(ferry, direct), c.get(envoy, direct)) : null));
      lines.push(row([topology, '**ferry / envoy**', ...ratios]));
    }
    const baseline = ok(find(mine, scenario, topology, 'ferry-baseline'));
    if (find(mine, scenario, topology, 'ferry') && find(mine, scenario, topology, 'ferry-baseline')) {
      const ratios = columns.map((c) => formatRatio(ferry && baseline ? ratio(c.get(ferry, direct), c.get(baseline, direct)) : null));
      lines.push(row([topology, '**ferry / baseline**', ...ratios]));
    }
  }
  return lines.join('\n');
}

interface Target {
  readonly text: string;
  readonly ferry: number | null;
  readonly envoy: number | null;
  readonly unit: string;
  readonly met: boolean | null;
  /** A Ferry control-plane target: there is no Envoy figure to show. */
  readonly ferryOnly?: boolean;
}

/** The issue's targets, evaluated on this report (null `met` = Ferry has no figure yet). */
export function targets(runs: readonly RunResult[]): Target[] {
  const direct = ok(find(runs, 'latency-1000rps', 'direct', 'direct'));
  const pairF = ok(find(runs, 'latency-1000rps', 'pair', 'ferry'));
  const pairE = ok(find(runs, 'latency-1000rps', 'pair', 'envoy'));
  const addedOf = (r: RunResult | null, k: 'p50_ms' | 'p99_ms'): number | null => (r && direct ? r[k]! - direct[k]! : null);
  const maxF = ok(find(runs, 'max-rps', 'single', 'ferry'));
  const maxE = ok(find(runs, 'max-rps', 'single', 'envoy'));
  const rssF = ok(find(runs, 'rss-1000-services', 'single', 'ferry'));
  const rssE = ok(find(runs, 'rss-1000-services', 'single', 'envoy'));
  const cmp = (f: number | null, e: number | null, good: (f: number, e: number) => boolean): boolean | null =>
    f === null || e === null ? null : good(f, e);
  const result: Target[] = [];
  for (const k of ['p50_ms', 'p99_ms'] as const) {
    const f = addedOf(pairF, k);
    const e = addedOf(pairE, k);
    result.push({ text: `pair added ${k.slice(0, 3)} ≤ Envoy's and ≤ 0.30 ms`, ferry: f, envoy: e, unit: 'ms', met: cmp(f, e, (a, b) => a <= b && a <= 0.3) });
  }
  const fr = maxF?.qps_actual ?? null;
  const er = maxE?.qps_actual ?? null;
  result.push({ text: 'max rps (single, one core) ≥ Envoy', ferry: fr, envoy: er, unit: 'rps', met: cmp(fr, er, (a, b) => a >= b) });
  const fm = rssF?.proxy_rss_mb ?? null;
  const em = rssE?.proxy_rss_mb ?? null;
  result.push({ text: 'RSS with 1,000 services ≤ Envoy and ≤ 50 MB', ferry: fm, envoy: em, unit: 'MB', met: cmp(fm, em, (a, b) => a <= b && a <= 50) });
  result.push(...controlPlaneTargets(runs));
  return result;
}

/** Ferry-only targets of the control plane (no Envoy figure to compare with). */
function controlPlaneTargets(runs: readonly RunResult[]): Target[] {
  const alone = (text: string, value: number | null, unit: string, good: (v: number) => boolean): Target =>
    ({ text, ferry: value, envoy: null, unit, met: value === null ? null : good(value), ferryOnly: true });
  const xds = ok(runs.find((r) => r.scenario === 'xds-convergence' && r.streams === 1000) ?? null);
  const xdsAny = runs.filter((r) => r.scenario === 'xds-convergence' && r.status === 'ok');
  const worstMb = xdsAny.length > 0 ? Math.max(...xdsAny.map((r) => r.mb_per_proxy ?? 0)) : null;
  const csr = ok(find(runs, 'csr-sign', 'controller', 'ferry'));
  const hook = ok(find(runs, 'webhook', 'webhook', 'ferry'));
  return [
    alone('xds-convergence p99 ≤ 200 ms at 1,000 streams (debounce included)', xds?.p99_ms ?? null, 'ms', (v) => v <= 200),
    alone('controller memory ≤ 1 MB per connected proxy', worstMb, 'MB', (v) => v <= 1),
    alone('csr-sign ≥ 2,000 certificates/s per controller core', csr?.rate_per_cpu_s ?? null, '/s', (v) => v >= 2000),
    alone('csr-sign p99 < 5 ms', csr?.p99_ms ?? null, 'ms', (v) => v < 5),
    alone('webhook p99 < 5 ms', hook?.p99_ms ?? null, 'ms', (v) => v < 5),
  ];
}

function targetTable(runs: readonly RunResult[]): string {
  const lines = [row(['target', 'ferry', 'envoy', 'ferry / envoy', 'met']), row(['---', '---:', '---:', '---:', '---'])];
  for (const t of targets(runs)) {
    const digits = t.unit === 'ms' ? 3 : t.unit === 'rps' || t.unit === '/s' ? 0 : t.unit === 'MB' && t.ferry !== null && t.ferry < 10 ? 3 : 1;
    const met = t.met === null ? 'pending (no Ferry figure)' : t.met ? 'yes' : 'no';
    const envoy = t.ferryOnly ? '–' : `${format(t.envoy, digits)} ${t.unit}`;
    lines.push(row([t.text, `${format(t.ferry, digits)} ${t.unit}`, envoy, formatRatio(ratio(t.ferry, t.envoy)), met]));
  }
  return lines.join('\n');
}

/** The whole `latest.md`: provenance, every scenario's table, the targets. */
export function renderResultsMarkdown(report: BenchReport): string {
  const m = report.machine;
  const parts = [
    `# Benchmark results (${report.mode})`,
    '',
    `Run ${report.date} with \`${report.baseline_commit ? `make bench-compare BASE=${report.baseline_commit}` : `make ${report.mode === 'quick' ? 'bench-quick' : 'bench'}`}\`. Machine: ${m.cpus} CPUs, Node ${m.node}, ` +
      `Envoy ${m.envoy}, HAProxy ${m.haproxy}, fortio ${m.fortio}. All traffic on 127.0.0.1. ` +
      '`pair`: mTLS between hop A and hop B (ECDSA P-256 certificates from a Ferry CA, each side verifies the other against it; SPIFFE ID checks as in BENCHMARKS.md); everything else plain text.',
    '',
    `Pinning: ${report.pinning}`,
    '',
    `Ferry commit: ${report.ferry_commit}${report.baseline_commit ? ` (ferry-baseline: ${report.baseline_commit}, the same proxy built from that commit)` : ''}. Load average (1/5/15 min) before: ${m.load_avg_start.map((x) => x.toFixed(2)).join(' / ')}, ` +
      `after: ${m.load_avg_end.map((x) => x.toFixed(2)).join(' / ')} (anything well above 0 means other work shared the CPUs and the figures are noisy).`,
    '',
  ];
  for (const scenario of SCENARIOS) {
    const table = scenarioTable(report.runs, scenario);
    if (table === null) continue;
    parts.push(`## ${scenario}`, '', DESCRIPTIONS[scenario], '', table, '');
  }
  parts.push('## Targets', '', targetTable(report.runs), '');
  return parts.join('\n');
}
