// The `mesh-stats` scenario: the controller's scraper and aggregator over 500 simulated sidecars; scrape cost per proxy and aggregator memory.
//
// One process (pinned to the load CPU) serves 500 sidecars' Prometheus text on 500 loopback ports
// (bench/mesh-stats-sim.ts `serve`); another (pinned to the proxy CPU, --expose-gc) runs the real
// StatsScraper and StatsAggregator over them: three warm-up ticks, `changes` measured ticks back to
// back, then enough ticks to fill the 60-snapshot ring, and reports tick times, its CPU, and the heap
// the aggregator holds with the ring full.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../src/errors';
import type { Env } from './env';
import type { RunSpec } from './plan';
import { runToCompletion, startProcess } from './processes';
import { emptyResult, percentile, round } from './run-result';
import type { RunResult } from './types';

/** Simulated sidecars. */
export const MESH_STATS_SIDECARS = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface SimResult {
  readonly tickMs: number[];
  readonly cpuS: number;
  readonly scrapes: number;
  readonly down: number;
  readonly bytesPerScrape: number;
  readonly heapMb: number;
  readonly groups: number;
  readonly workloadRps: number;
}

export async function runMeshStatsScenario(env: Env, spec: RunSpec): Promise<RunResult> {
  const dir = env.launch.workDir;
  const sim = path.join(env.launch.repoRoot, 'dist', 'bench', 'mesh-stats-sim.js');
  const portsFile = path.join(dir, 'mesh-stats-ports.json');
  const resultFile = path.join(dir, 'mesh-stats-result.json');
  const sidecars = spec.streams || MESH_STATS_SIDECARS;
  const server = startProcess({ name: 'mesh-stats sidecars', command: process.execPath, args: [sim, 'serve', String(sidecars), portsFile], cpu: env.loadCpu, tasksetPath: env.tools.taskset, logPath: path.join(dir, 'mesh-stats-serve.log') });
  try {
    for (let waited = 0; ; waited += 100) {
      try {
        JSON.parse(readFileSync(portsFile, 'utf8'));
        break;
      } catch {
        if (server.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', server.describeExit());
        if (waited > 30_000) throw new FerryError('FERRY_ERR_BENCH_HEALTH', `${sidecars} simulated sidecars not listening after 30 s`);
        await sleep(100);
      }
    }
    const r = await runToCompletion({
      name: 'mesh-stats scraper', command: process.execPath, args: ['--expose-gc', sim, 'scrape', portsFile, String(spec.changes), String(spec.connections), resultFile],
      cpu: env.launch.proxyCpu, tasksetPath: env.tools.taskset, logPath: path.join(dir, 'mesh-stats-scrape.log'), timeoutMs: 300_000,
    });
    if (r.code !== 0) throw new FerryError('FERRY_ERR_BENCH_PROCESS', r.output);
    const s = JSON.parse(readFileSync(resultFile, 'utf8')) as SimResult;
    const sorted = [...s.tickMs].sort((a, b) => a - b);
    return emptyResult(spec, {
      streams: sidecars,
      requests: s.scrapes,
      errors: s.down,
      // A tick scrapes every sidecar once: its wall time bounds the smallest useful interval.
      p50_ms: round(percentile(sorted, 50), 1),
      p90_ms: round(percentile(sorted, 90), 1),
      p99_ms: round(percentile(sorted, 99), 1),
      controller_cpu_s: round(s.cpuS, 3),
      rate_per_cpu_s: round(s.scrapes / s.cpuS, 0),
      scrape_cpu_ms_per_proxy: round((s.cpuS / s.scrapes) * 1000, 4),
      aggregator_heap_mb: round(s.heapMb, 1),
      aggregator_mb_per_proxy: round(s.heapMb / sidecars, 4),
      kb_per_scrape: round(s.bytesPerScrape / 1000, 1),
    });
  } finally {
    await server.stop();
  }
}
