// The list of runs a benchmark performs, with their durations, for quick and full mode.

import { PROXIES, type ProxyName, type Scenario, type Topology } from './types';

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
}

export interface PlanOptions {
  readonly quick: boolean;
  /** Proxies to include (default all); `direct` is the baseline. */
  readonly proxies?: readonly ProxyName[];
}

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

/** Runs in execution order: per scenario, `direct` first, then every topology for every proxy. */
export function buildPlan(opts: PlanOptions): RunSpec[] {
  const wanted = new Set(opts.proxies ?? PROXIES);
  const runs: RunSpec[] = [];
  for (const shape of SHAPES) {
    const [durationS, warmupS] = opts.quick ? shape.quick : shape.full;
    const base = { scenario: shape.scenario, durationS, warmupS, qps: shape.qps, connections: 16, payloadBytes: shape.payloadBytes };
    if (shape.direct && wanted.has('direct')) runs.push({ ...base, topology: 'direct', proxy: 'direct' });
    for (const topology of shape.topologies) {
      for (const proxy of PROXIES) {
        if (proxy !== 'direct' && wanted.has(proxy)) runs.push({ ...base, topology, proxy });
      }
    }
  }
  return runs;
}

/** Seconds of load the plan generates (excludes process start-up). */
export function plannedLoadSeconds(runs: readonly RunSpec[]): number {
  return runs.reduce((sum, r) => sum + r.durationS + r.warmupS, 0);
}
