// The list of runs a benchmark performs, with their durations, for quick and full mode.

import { ALL_PROXIES, PROXIES, SCENARIOS, type ProxyName, type Scenario, type Topology } from './types';

export interface RunSpec {
  readonly scenario: Scenario;
  readonly topology: Topology;
  readonly proxy: ProxyName;
  /** Measured seconds. */
  readonly durationS: number;
  /** Seconds of the same load before measuring (discarded). */
  readonly warmupS: number;
  readonly qps: number; // 0 = max
  readonly connections: number;
  readonly payloadBytes: number;
  /** xds-convergence: ADS streams the simulated proxies open (0 for other scenarios). */
  readonly streams: number;
  /** xds-convergence: EndpointSlice changes measured (0 for other scenarios). */
  readonly changes: number;
}

export interface PlanOptions {
  readonly quick: boolean;
  /** Proxies to include (default all); `direct` is the baseline. Control-plane scenarios run with `ferry`. */
  readonly proxies?: readonly ProxyName[];
  /** Scenarios to include (default all). */
  readonly scenarios?: readonly Scenario[];
  /** xds-convergence stream counts instead of the mode's (100 and 1,000 full, 100 quick). */
  readonly xdsStreams?: readonly number[];
}

/** Services (each with an EndpointSlice) in the registry the xds-convergence controller serves. */
export const XDS_SERVICES = 1000;

/** Number of generated services for rss-1000-services. */
export const MANY_SERVICES = 1000;

interface ScenarioShape {
  readonly scenario: Scenario;
  readonly topologies: readonly Topology[];
  readonly direct: boolean;
  readonly qps: number;
  readonly payloadBytes: number;
  readonly full: readonly [number, number]; // [duration, warmup]
  readonly quick: readonly [number, number];
}

const SHAPES: readonly ScenarioShape[] = [
  { scenario: 'latency-1000rps', topologies: ['single', 'pair'], direct: true, qps: 1000, payloadBytes: 1024, full: [45, 5], quick: [8, 1] },
  { scenario: 'max-rps', topologies: ['single', 'pair'], direct: true, qps: 0, payloadBytes: 1024, full: [20, 3], quick: [5, 1] },
  { scenario: 'tcp-throughput', topologies: ['pair'], direct: true, qps: 0, payloadBytes: 16384, full: [15, 2], quick: [4, 1] },
  // Warm-up here is the load before RSS is read; the measured part is a short latency run.
  { scenario: 'rss-1000-services', topologies: ['single'], direct: false, qps: 1000, payloadBytes: 1024, full: [10, 10], quick: [3, 2] },
];

interface ControlShape {
  readonly scenario: Scenario;
  readonly topology: Topology;
  readonly qps: number;
  readonly connections: number;
  /** xds-convergence: one run per [streams, changes]; others: [[0, 0]]. */
  readonly runs: { readonly full: readonly (readonly [number, number])[]; readonly quick: readonly (readonly [number, number])[] };
  readonly full: readonly [number, number];
  readonly quick: readonly [number, number];
}

const CONTROL_SHAPES: readonly ControlShape[] = [
  // Duration here is the settle time allowed per change; the measured part is `changes` edits.
  // At 1,000 streams a change takes ~30 s to reach everyone (2026-11-22), so fewer changes there keep `make bench` near 20 min.
  { scenario: 'xds-convergence', topology: 'controller', qps: 0, connections: 0, runs: { full: [[100, 15], [1000, 5]], quick: [[100, 8]] }, full: [1, 0], quick: [1, 0] },
  // As many CreateCertificate calls as 4 concurrent callers make; warm-up opens the channel and the JIT.
  { scenario: 'csr-sign', topology: 'controller', qps: 0, connections: 4, runs: { full: [[0, 0]], quick: [[0, 0]] }, full: [10, 2], quick: [4, 1] },
  // AdmissionReviews at a fixed rate over 4 keep-alive HTTPS connections.
  { scenario: 'webhook', topology: 'webhook', qps: 200, connections: 4, runs: { full: [[0, 0]], quick: [[0, 0]] }, full: [20, 2], quick: [5, 1] },
  // 500 simulated sidecars scraped by the controller's scraper, 16 at a time; `changes` = measured ticks (back to back).
  { scenario: 'mesh-stats', topology: 'controller', qps: 0, connections: 16, runs: { full: [[500, 20]], quick: [[500, 5]] }, full: [1, 0], quick: [1, 0] },
];

/** Runs in execution order: per scenario, `direct` first, then every topology for every proxy. */
export function buildPlan(opts: PlanOptions): RunSpec[] {
  const wanted = new Set(opts.proxies ?? PROXIES);
  const scenarios = new Set(opts.scenarios ?? SCENARIOS);
  const runs: RunSpec[] = [];
  for (const shape of SHAPES) {
    if (!scenarios.has(shape.scenario)) continue;
    const [durationS, warmupS] = opts.quick ? shape.quick : shape.full;
    const base = { scenario: shape.scenario, durationS, warmupS, qps: shape.qps, connections: 16, payloadBytes: shape.payloadBytes, streams: 0, changes: 0 };
    if (shape.direct && wanted.has('direct')) runs.push({ ...base, topology: 'direct', proxy: 'direct' });
    for (const topology of shape.topologies) {
      for (const proxy of ALL_PROXIES) {
        if (proxy !== 'direct' && wanted.has(proxy)) runs.push({ ...base, topology, proxy });
      }
    }
  }
  // The control plane is Ferry's alone: it runs whenever `ferry` is among the proxies.
  if (!wanted.has('ferry')) return runs;
  for (const shape of CONTROL_SHAPES) {
    if (!scenarios.has(shape.scenario)) continue;
    const [durationS, warmupS] = opts.quick ? shape.quick : shape.full;
    const shaped = opts.quick ? shape.runs.quick : shape.runs.full;
    const chosen = shape.scenario === 'xds-convergence' && opts.xdsStreams
      ? opts.xdsStreams.map((n) => [n, shaped.find(([m]) => m === n)?.[1] ?? shaped.at(-1)![1]] as const)
      : shaped;
    for (const [streams, changes] of chosen) {
      runs.push({
        scenario: shape.scenario, topology: shape.topology, proxy: 'ferry', durationS, warmupS, qps: shape.qps,
        connections: shape.connections, payloadBytes: 0, streams, changes,
      });
    }
  }
  return runs;
}

/** `--scenarios=a,b` → the named scenarios, or a FerryError-worthy message naming the unknown ones. */
export function parseScenarioList(list: string): { scenarios: Scenario[] } | { unknown: string[] } {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !SCENARIOS.includes(n as Scenario));
  return unknown.length > 0 ? { unknown } : { scenarios: names as Scenario[] };
}

/** Seconds of load the plan generates (excludes process start-up); an xds change counts its settle time. */
export function plannedLoadSeconds(runs: readonly RunSpec[]): number {
  return runs.reduce((sum, r) => sum + (r.changes > 0 ? r.changes * r.durationS : r.durationS) + r.warmupS, 0);
}
