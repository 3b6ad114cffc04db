// The benchmark harness: Ferry, Envoy, HAProxy and a direct connection under fortio, side by side.
//
// Usage: node dist/bench/run.js [--quick] [--proxies=direct,envoy,...] [--scenarios=latency-1000rps,xds-convergence,...]
//        [--baseline=DIR]  (also runs `ferry-baseline`: the proxy of another built Ferry tree, for before/after)
// Writes bench/results/latest.{json,md}, a dated JSON copy and bench/results/latency.svg.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../src/errors';
import { demoteHeadings, spliceLatest } from './benchmarks-doc';
import { serviceHost } from './envoy-bootstrap';
import { fortioLoadArgs, fortioServerArgs } from './fortio-command';
import { parseFortioResult } from './fortio-result';
import { renderLatencyChart } from './latency-chart';
import { runCsrSignScenario } from './csr-sign';
import { writeMeshCerts } from './mesh-certs';
import type { Env } from './env';
import { buildPlan, MANY_SERVICES, parseScenarioList, plannedLoadSeconds, type RunSpec } from './plan';
import { launchChain, type HopKind, type LaunchContext } from './proxy-launch';
import { emptyResult, failedResult, round } from './run-result';
import { runMeshStatsScenario } from './mesh-stats-bench';
import { runWebhookScenario } from './webhook-bench';
import { runXdsConvergence } from './xds-convergence';
import {
  cpuSecondsOf, freePort, httpGet, killAllNow, rssMbOf, runToCompletion, startProcess, stopAll, waitForEcho, waitForHttp200, waitForPort,
  type ManagedProcess,
} from './processes';
import { renderResultsMarkdown } from './results-table';
import { locateTools, toolVersions, type ToolPaths } from './tools';
import { ALL_PROXIES, PROXIES, SCENARIOS, type BenchReport, type ProxyName, type RunResult, type Scenario } from './types';

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function ferryCommit(repoRoot: string): string {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--untracked-files=no']) === '' ? head : `${head}-dirty`;
  } catch {
    return 'unknown';
  }
}

/** The commit a baseline tree was built from: its BASELINE_COMMIT file (written by `make bench-compare`) or its git HEAD. */
function baselineCommit(dir: string): string {
  const stamp = path.join(dir, 'BASELINE_COMMIT');
  return existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : ferryCommit(dir);
}

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

function cpuSeconds(procs: readonly ManagedProcess[], ticks: number): number {
  return cpuSecondsOf(procs.map((p) => p.pid), ticks);
}

function rssMb(procs: readonly ManagedProcess[]): number {
  return rssMbOf(procs.map((p) => p.pid));
}

function kindOf(spec: RunSpec): HopKind {
  if (spec.scenario === 'tcp-throughput') return 'tcp';
  if (spec.scenario === 'rss-1000-services') return 'many';
  return 'http';
}

async function fortioLoad(env: Env, spec: RunSpec, port: number, seconds: number, jsonPath: string | null, label: string): Promise<void> {
  const kind = kindOf(spec);
  const url = kind === 'tcp' ? `tcp://127.0.0.1:${port}` : `http://127.0.0.1:${port}/echo`;
  const args = fortioLoadArgs({
    url, qps: spec.qps, connections: spec.connections, durationS: seconds, payloadBytes: spec.payloadBytes, jsonPath,
    ...(kind === 'many' ? { hostHeader: serviceHost(0) } : {}),
  });
  const result = await runToCompletion({
    name: 'fortio load', command: env.tools.fortio, args, cpu: env.loadCpu, tasksetPath: env.tools.taskset,
    logPath: path.join(env.launch.workDir, `${label}.fortio.log`), timeoutMs: (seconds + 30) * 1000,
  });
  if (result.code !== 0) throw new FerryError('FERRY_ERR_BENCH_LOAD', result.output);
}

/** Requests every one of the 1,000 services once, so each proxy has built state for all of them. */
async function touchAllServices(port: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const bad: string[] = [];
    for (let i = 0; i < MANY_SERVICES; i += 4) {
      const batch = [i, i + 1, i + 2, i + 3].filter((n) => n < MANY_SERVICES);
      const codes = await Promise.all(batch.map((n) => httpGet(port, '/echo', serviceHost(n), agent)));
      codes.forEach((c, k) => { if (c !== 200) bad.push(`${serviceHost(batch[k]!)} → ${c}`); });
    }
    if (bad.length > 0) throw new FerryError('FERRY_ERR_BENCH_HEALTH', `${bad.length} services did not answer 200 (first: ${bad[0]})`);
  } finally {
    agent.destroy();
  }
}

async function executeRun(env: Env, spec: RunSpec): Promise<RunResult> {
  const kind = kindOf(spec);
  const label = `${spec.scenario}-${spec.topology}-${spec.proxy}`;
  const upstreamPort = kind === 'tcp' ? env.upstream.tcp : env.upstream.http;
  let procs: readonly ManagedProcess[] = [];
  try {
    let entry = upstreamPort;
    if (spec.proxy !== 'direct' && spec.topology !== 'direct') {
      const chain = await launchChain(env.launch, spec.proxy, spec.topology as 'single' | 'pair', kind, upstreamPort, label, spec.topology === 'pair' ? env.certs : null);
      procs = chain.procs;
      entry = chain.entryPort;
    }
    if (kind === 'tcp') await waitForEcho(entry, 15_000, procs);
    else await waitForHttp200(entry, 15_000, procs, kind === 'many' ? serviceHost(0) : undefined);
    if (kind === 'many') await touchAllServices(entry);
    if (spec.warmupS > 0) await fortioLoad(env, spec, entry, spec.warmupS, null, `${label}.warmup`);
    const cpuBefore = cpuSeconds(procs, env.clockTicks);
    const jsonPath = path.join(env.launch.workDir, `${label}.json`);
    await fortioLoad(env, spec, entry, spec.durationS, jsonPath, label);
    const cpu = cpuSeconds(procs, env.clockTicks) - cpuBefore;
    const rss = procs.length > 0 ? rssMb(procs) : null;
    for (const p of procs) if (p.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', p.describeExit());
    const s = parseFortioResult(JSON.parse(readFileSync(jsonPath, 'utf8')));
    return emptyResult(spec, {
      duration_s: Number(s.durationS.toFixed(3)), qps_actual: Number(s.qpsActual.toFixed(1)),
      p50_ms: round(s.p50Ms), p90_ms: round(s.p90Ms), p99_ms: round(s.p99Ms), p999_ms: round(s.p999Ms),
      requests: s.requests, errors: s.errors,
      mb_per_s: kind === 'tcp' ? Number((s.bytesReceivedPerS / 1e6).toFixed(1)) : null,
      proxy_cpu_s_per_1k_req: procs.length > 0 && s.requests > 0 ? round((cpu * 1000) / s.requests, 5) : null,
      proxy_rss_mb: rss === null ? null : Number(rss.toFixed(1)),
    });
  } catch (err) {
    return failedResult(spec, err instanceof Error ? err.message : String(err));
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

function round3(values: readonly number[]): number[] {
  return values.map((v) => Number(v.toFixed(2)));
}

/** One run of any scenario: the data-plane ones under fortio here, the control-plane ones in their modules. */
async function runOne(env: Env, spec: RunSpec): Promise<RunResult> {
  try {
    switch (spec.scenario) {
      case 'xds-convergence':
        return await runXdsConvergence(env, spec);
      case 'csr-sign':
        return await runCsrSignScenario(env, spec);
      case 'webhook':
        return await runWebhookScenario(env, spec);
      case 'mesh-stats':
        return await runMeshStatsScenario(env, spec);
      default:
        return await executeRun(env, spec);
    }
  } catch (err) {
    return failedResult(spec, err instanceof Error ? err.message : String(err));
  }
}

function describe(r: RunResult): string {
  if (r.status !== 'ok') return `FAILED: ${r.error}`;
  switch (r.scenario) {
    case 'xds-convergence':
      return `${r.streams} streams: convergence p50 ${r.p50_ms} p99 ${r.p99_ms} ms, controller ${r.controller_rss_mb} MB RSS (${r.mb_per_proxy} MB/proxy), ${r.controller_cpu_s} CPU s`;
    case 'mesh-stats':
      return `${r.streams} sidecars: tick p50 ${r.p50_ms} p99 ${r.p99_ms} ms, ${r.scrape_cpu_ms_per_proxy} CPU ms/scrape, aggregator ${r.aggregator_heap_mb} MB (${r.aggregator_mb_per_proxy} MB/sidecar), ${r.kb_per_scrape} kB/scrape, ${r.errors} down`;
    case 'csr-sign':
      return `${r.qps_actual}/s wall, ${r.rate_per_cpu_s}/controller CPU s, p50 ${r.p50_ms} p99 ${r.p99_ms} ms, errors ${r.errors}`;
    default:
      return `qps ${r.qps_actual} p50 ${r.p50_ms} p99 ${r.p99_ms} ms${r.mb_per_s !== null ? ` ${r.mb_per_s} MB/s` : ''}${r.proxy_rss_mb !== null ? ` rss ${r.proxy_rss_mb} MB` : ''}`;
  }
}

const USAGE = `usage: run.js [--quick] [--proxies=${ALL_PROXIES.join(',')}] [--scenarios=${SCENARIOS.join(',')}] [--xds-streams=100,1000] [--baseline=DIR]`;

interface Args {
  quick: boolean;
  proxies: ProxyName[];
  scenarios: Scenario[];
  xdsStreams?: number[];
  /** A built Ferry tree of another commit, measured as `ferry-baseline`. */
  baseline: string | null;
}

export function parseArgs(argv: readonly string[]): Args {
  let xdsStreams: number[] | undefined;
  let quick = false;
  let proxies: ProxyName[] = [...PROXIES];
  let scenarios: Scenario[] = [...SCENARIOS];
  let baseline: string | null = null;
  let proxiesGiven = false;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a.startsWith('--baseline=')) {
      baseline = path.resolve(a.slice('--baseline='.length));
      if (!existsSync(path.join(baseline, 'bin', 'ferry')) || !existsSync(path.join(baseline, 'dist'))) {
        throw new FerryError('FERRY_ERR_BENCH_ARGS', `--baseline: ${baseline} is not a built Ferry tree (needs bin/ferry and dist/; \`make bench-compare BASE=REV\` builds one)`);
      }
    }
    else if (a.startsWith('--scenarios=')) {
      const parsed = parseScenarioList(a.slice('--scenarios='.length));
      if ('unknown' in parsed) throw new FerryError('FERRY_ERR_BENCH_ARGS', `--scenarios: unknown ${parsed.unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
      scenarios = parsed.scenarios;
    } else if (a.startsWith('--xds-streams=')) {
      xdsStreams = a.slice('--xds-streams='.length).split(',').map(Number);
      if (xdsStreams.some((n) => !Number.isInteger(n) || n < 1)) throw new FerryError('FERRY_ERR_BENCH_ARGS', `--xds-streams: ${a.slice(14)} is not a list of positive integers`);
    }
    else if (a.startsWith('--proxies=')) {
      const names = a.slice('--proxies='.length).split(',').filter(Boolean);
      const unknown = names.filter((n) => !ALL_PROXIES.includes(n as ProxyName));
      if (unknown.length > 0) throw new FerryError('FERRY_ERR_BENCH_ARGS', `--proxies: unknown ${unknown.join(', ')} (known: ${ALL_PROXIES.join(', ')})`);
      proxies = names as ProxyName[];
      proxiesGiven = true;
    } else throw new FerryError('FERRY_ERR_BENCH_ARGS', `unknown argument ${a} (${USAGE})`);
  }
  if (baseline !== null && !proxiesGiven) proxies = ['direct', 'ferry-baseline', ...proxies.filter((p) => p !== 'direct')];
  if (baseline === null && proxies.includes('ferry-baseline')) throw new FerryError('FERRY_ERR_BENCH_ARGS', '--proxies=ferry-baseline needs --baseline=DIR');
  return { quick, proxies, scenarios, baseline, ...(xdsStreams ? { xdsStreams } : {}) };
}

export async function main(argv: readonly string[]): Promise<number> {
  const { quick, proxies, scenarios, xdsStreams, baseline } = parseArgs(argv);
  const tools = locateTools();
  const versions = toolVersions(tools);
  const cpus = os.availableParallelism();
  const pinned = cpus >= 2 && tools.taskset !== null;
  const pinning = pinned
    ? 'taskset: every proxy process (both hops of a pair) on CPU 1; fortio load generator and fortio upstream server on CPU 0; the harness itself unpinned and idle during load.'
    : `not pinned (${tools.taskset === null ? 'taskset missing' : `only ${cpus} CPU`}); figures are noisier.`;
  const repoRoot = path.resolve(__dirname, '..', '..');
  const resultsDir = path.join(repoRoot, 'bench', 'results');
  const date = new Date();
  const stamp = date.toISOString().replace(/[:.]/g, '-');
  const workDir = path.join(resultsDir, 'tmp', stamp);
  mkdirSync(workDir, { recursive: true });

  const loadAvgStart = os.loadavg();
  const plan = buildPlan({ quick, proxies, scenarios, ...(xdsStreams ? { xdsStreams } : {}) });
  log(`${plan.length} runs, about ${Math.round(plannedLoadSeconds(plan) / 60)} min of load; envoy ${versions.envoy}, haproxy ${versions.haproxy}, fortio ${versions.fortio}`);
  log(`pinning: ${pinning}`);

  const upstreamPorts = { http: await freePort(), tcp: await freePort() };
  const loadCpu = pinned ? 0 : null;
  const upstream = startProcess({
    name: 'fortio server', command: tools.fortio, args: fortioServerArgs({ httpPort: upstreamPorts.http, tcpEchoPort: upstreamPorts.tcp }),
    cpu: loadCpu, tasksetPath: tools.taskset, logPath: path.join(workDir, 'upstream.log'),
  });
  const runs: RunResult[] = [];
  try {
    await waitForPort(upstreamPorts.http, 10_000, [upstream]);
    await waitForPort(upstreamPorts.tcp, 10_000, [upstream]);
    const env: Env = {
      tools, loadCpu, upstream: upstreamPorts, clockTicks: clockTicksPerSecond(),
      launch: { tools, repoRoot, workDir, proxyCpu: pinned ? 1 : null, baselineRoot: baseline },
      certs: await writeMeshCerts(workDir),
    };
    for (const [i, spec] of plan.entries()) {
      const started = Date.now();
      const r = await runOne(env, spec);
      runs.push(r);
      log(`[${i + 1}/${plan.length}] ${spec.scenario} ${spec.topology} ${spec.proxy} (${((Date.now() - started) / 1000).toFixed(0)}s): ${describe(r)}`);
    }
  } finally {
    await upstream.stop();
  }

  const report: BenchReport = {
    date: date.toISOString(), mode: quick ? 'quick' : 'full', ferry_commit: ferryCommit(repoRoot),
    ...(baseline !== null ? { baseline_commit: baselineCommit(baseline) } : {}),
    machine: { cpus, node: process.version, ...versions, load_avg_start: round3(loadAvgStart), load_avg_end: round3(os.loadavg()) },
    pinning, runs,
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  writeFileSync(path.join(resultsDir, 'latest.json'), json);
  writeFileSync(path.join(resultsDir, `${stamp}-${report.mode}.json`), json);
  const markdown = renderResultsMarkdown(report);
  writeFileSync(path.join(resultsDir, 'latest.md'), markdown);
  writeFileSync(path.join(resultsDir, 'latency.svg'), renderLatencyChart(runs));
  process.stdout.write(markdown);
  // Full runs refresh the generated table in BENCHMARKS.md; quick runs (used while optimising) do not.
  const doc = path.join(repoRoot, 'BENCHMARKS.md');
  if (!quick && existsSync(doc)) {
    const updated = spliceLatest(readFileSync(doc, 'utf8'), demoteHeadings(markdown, 2));
    if (updated === null) log('BENCHMARKS.md has no bench:latest markers; left unchanged');
    else writeFileSync(doc, updated);
  }
  const bad = runs.filter((r) => r.status === 'failed');
  log(`wrote bench/results/latest.{json,md}, bench/results/${stamp}-${report.mode}.json, bench/results/latency.svg`);
  if (bad.length > 0) log(`${bad.length} of ${runs.length} runs failed: ${[...new Set(bad.map((r) => r.proxy))].join(', ')} (reasons in the table)`);
  return bad.length > 0 ? 1 : 0;
}

if (require.main === module) {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping child processes`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exitCode = 2;
    },
  );
}
