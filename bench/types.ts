// The benchmark's shared vocabulary: scenarios, topologies, proxies and the recorded result shape.

/** `ferry-baseline`: the same proxy built from another commit (`--baseline=DIR`), for before/after runs. */
export type ProxyName = 'direct' | 'ferry-baseline' | 'ferry' | 'envoy' | 'haproxy';
/** Data-plane topologies, plus the control-plane "topologies": the controller (xDS, CA) and the webhook. */
export type Topology = 'direct' | 'single' | 'pair' | 'controller' | 'webhook';
export type Scenario =
  | 'latency-1000rps'
  | 'max-rps'
  | 'tcp-throughput'
  | 'rss-1000-services'
  | 'xds-convergence'
  | 'csr-sign'
  | 'webhook'
  | 'mesh-stats';

/** Every scenario in the order a run performs them (and `--scenarios=` accepts). */
export const SCENARIOS: readonly Scenario[] = [
  'latency-1000rps',
  'max-rps',
  'tcp-throughput',
  'rss-1000-services',
  'xds-convergence',
  'csr-sign',
  'webhook',
  'mesh-stats',
];

/** Scenarios that measure a Ferry control-plane component rather than a proxy hop. */
export const CONTROL_PLANE_SCENARIOS: readonly Scenario[] = ['xds-convergence', 'csr-sign', 'webhook', 'mesh-stats'];
/** Proxies in the order they are run and shown; `direct` (no proxy) is always first. */
export const PROXIES: readonly ProxyName[] = ['direct', 'ferry', 'envoy', 'haproxy'];
/** Every proxy `--proxies=` accepts, in run order: the baseline runs just before the Ferry under test. */
export const ALL_PROXIES: readonly ProxyName[] = ['direct', 'ferry-baseline', 'ferry', 'envoy', 'haproxy'];

/** One (scenario, topology, proxy) entry of `bench/results/latest.json`. Null means "not measured". */
export interface RunResult {
  readonly scenario: Scenario;
  readonly topology: Topology;
  readonly proxy: ProxyName;
  readonly tls: 'none' | 'mtls';
  readonly status: 'ok' | 'failed';
  /** Why the run failed (process exited, port never answered, load generator error…). */
  readonly error: string | null;
  readonly duration_s: number;
  /** Requested rate; 0 means "as fast as possible". */
  readonly qps_target: number;
  readonly qps_actual: number | null;
  readonly p50_ms: number | null;
  readonly p90_ms: number | null;
  readonly p99_ms: number | null;
  readonly p999_ms: number | null;
  readonly requests: number | null;
  readonly errors: number | null;
  /** Opaque TCP echo payload bytes received per second, in MB (10^6); tcp-throughput only. */
  readonly mb_per_s: number | null;
  /** User + system CPU of the proxy process(es) per 1,000 requests (both proxies for `pair`). */
  readonly proxy_cpu_s_per_1k_req: number | null;
  /** Resident set size at the end of the run (sum of both proxies for `pair`). */
  readonly proxy_rss_mb: number | null;
  /** xds-convergence: ADS streams held open by the simulated proxies. */
  readonly streams: number | null;
  /** xds-convergence, csr-sign: user + system CPU of the controller process over the measured part. */
  readonly controller_cpu_s: number | null;
  /** xds-convergence: controller RSS with every stream connected and synced (csr-sign: at the end). */
  readonly controller_rss_mb: number | null;
  /** xds-convergence: (RSS with N streams − RSS before any stream) / N. */
  readonly mb_per_proxy: number | null;
  /** csr-sign: certificates signed per controller CPU second (the "per core" rate). */
  readonly rate_per_cpu_s: number | null;
  /** mesh-stats: scraper CPU (fetch, parse, aggregate) per sidecar scrape, ms. Absent in older results. */
  readonly scrape_cpu_ms_per_proxy?: number | null;
  /** mesh-stats: heap the aggregator holds with its 60-snapshot ring full, MB, and per sidecar. */
  readonly aggregator_heap_mb?: number | null;
  readonly aggregator_mb_per_proxy?: number | null;
  /** mesh-stats: Prometheus text per sidecar scrape, kB. */
  readonly kb_per_scrape?: number | null;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly node: string;
  readonly envoy: string;
  readonly haproxy: string;
  readonly fortio: string;
  /** os.loadavg() before and after the runs: other work on the machine makes figures noisy. */
  readonly load_avg_start: readonly number[];
  readonly load_avg_end: readonly number[];
}

export interface BenchReport {
  readonly date: string; // ISO 8601
  readonly mode: 'quick' | 'full';
  /** `git rev-parse --short HEAD` of the Ferry tree measured (+ "-dirty" with local changes). */
  readonly ferry_commit: string;
  /** The commit of the `ferry-baseline` tree, when the run had one (`--baseline=DIR`). */
  readonly baseline_commit?: string;
  readonly machine: MachineInfo;
  /** How processes were pinned to CPUs, in words. */
  readonly pinning: string;
  readonly runs: readonly RunResult[];
}
