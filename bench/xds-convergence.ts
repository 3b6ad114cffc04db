// The `xds-convergence` scenario: N simulated sidecars on a real `ferry controller`; time from an EndpointSlice edit until all N ACKed it.
//
// The controller serves a generated file registry of 1,000 Services (one EndpointSlice file each)
// with --insecure-xds and default debounce, pinned to the proxy CPU. The sidecars are simulated by
// a Go program (bench/xdssim, built here once per run with `go build`; xds-sim-process.ts starts it
// and talks to it in JSON lines), pinned to the load CPU: each stream has its own gRPC connection,
// subscribes like a Ferry sidecar (CDS and LDS, then EDS and RDS by name) and ACKs every response.
// Then, `changes` times: every shard is told which address to expect, one slice file is rewritten,
// and the time until the last stream has written its ACK of an EDS response carrying that address
// is recorded. Controller CPU and RSS come from /proc.
//
// Why Go: real sidecars each have their own CPU, here all N share one, so whatever the simulator
// spends per push lands in the measured time. The Node simulator it replaces (node:http2, four
// processes of 250 streams) spent 90–270 ms of CPU per edit at N = 1,000; this one spends ~65 ms,
// most of it in the kernel writing the EDS ACKs (each names all 1,000 clusters, ~46 KB).
//
// Profiling: FERRY_BENCH_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" passes node flags to
// the controller only (NODE_OPTIONS refuses --cpu-prof); the profile is written when it stops.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../src/errors';
import type { RunSpec } from './plan';
import { XDS_SERVICES } from './plan';
import { cpuSecondsOf, freePort, httpGet, rssMbOf, startProcess, waitForPort, type ManagedProcess } from './processes';
import { emptyResult, percentile, round } from './run-result';
import type { Env } from './env';
import type { RunResult } from './types';
import { changedIp, changedService, endpointSliceFile, endpointSliceYaml, servicesYaml } from './xds-registry';
import { addressMarker, buildSimulator, ShardProcess, wallNow } from './xds-sim-process';

/** Targets from the controller issue. */
export const XDS_TARGET = { p99Ms: 200, streams: 1000, mbPerProxy: 1 } as const;

/**
 * Streams per simulator process. One Go process multiplexes its streams on the one load CPU; more
 * processes there only add switches between them. Measured at N = 1,000 (8 edits per run): one
 * process of 1,000 spent 60–65 ms of CPU per edit, four of 250 63–84 ms, with the same all-ACKed
 * times within noise (p50 165–172 ms).
 */
export const STREAMS_PER_SHARD = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function log(message: string): void {
  process.stderr.write(`bench: xds-convergence: ${message}\n`);
}

/** Simulator builds, by output path: built once per run, whatever the stream counts. */
const builds = new Map<string, Promise<void>>();

function simulatorBinary(env: Env): Promise<string> {
  const binary = path.join(env.launch.workDir, 'ferry-xds-sim');
  let build = builds.get(binary);
  if (!build) {
    build = buildSimulator(env.launch.repoRoot, binary);
    builds.set(binary, build);
  }
  return build.then(() => binary);
}

/** Splits N streams into shards of at most STREAMS_PER_SHARD: [from, count] pairs. */
export function shardRanges(streams: number, perShard = STREAMS_PER_SHARD): [number, number][] {
  const out: [number, number][] = [];
  for (let from = 0; from < streams; from += perShard) out.push([from, Math.min(perShard, streams - from)]);
  return out;
}

async function waitReady(adminPort: number, procs: ManagedProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of procs) if (p.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', p.describeExit());
    try {
      if ((await httpGet(adminPort, '/readyz')) === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new FerryError('FERRY_ERR_BENCH_HEALTH', `controller not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function runXdsConvergence(env: Env, spec: RunSpec): Promise<RunResult> {
  const n = spec.streams;
  const dir = path.join(env.launch.workDir, `xds-registry-${n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'services.yaml'), servicesYaml(XDS_SERVICES));
  for (let i = 0; i < XDS_SERVICES; i++) writeFileSync(path.join(dir, endpointSliceFile(i)), endpointSliceYaml(i));

  // Before the controller starts, so the build's CPU is not in its figures.
  const binary = await simulatorBinary(env);
  const [xdsPort, adminPort] = [await freePort(), await freePort()];
  const controller = startProcess({
    name: 'ferry controller',
    command: process.execPath,
    args: [
      ...(process.env['FERRY_BENCH_CONTROLLER_NODE_ARGS'] ?? '').split(' ').filter(Boolean),
      path.join(env.launch.repoRoot, 'bin', 'ferry'), 'controller', '--registry', `file:${dir}`, '--insecure-xds',
      '--xds-address', `127.0.0.1:${xdsPort}`, '--admin-address', `127.0.0.1:${adminPort}`, '--log-level', 'warn',
    ],
    cpu: env.launch.proxyCpu, tasksetPath: env.tools.taskset, logPath: path.join(env.launch.workDir, `xds-controller-${n}.log`),
  });
  const shards: ShardProcess[] = [];
  try {
    await waitForPort(xdsPort, 30_000, [controller]);
    await waitReady(adminPort, [controller], 30_000);
    await sleep(1000);
    const rssIdle = rssMbOf([controller.pid]);

    const syncStart = Date.now();
    for (const [k, [from, count]] of shardRanges(n).entries()) {
      const opts = { binary, target: `127.0.0.1:${xdsPort}`, from, count, services: XDS_SERVICES, cpu: env.loadCpu, tasksetPath: env.tools.taskset };
      shards.push(new ShardProcess(opts, k));
    }
    await Promise.all(shards.map((s) => s.next('synced', 120_000 + n * 200)));
    log(`${n} streams synced in ${((Date.now() - syncStart) / 1000).toFixed(1)} s over ${shards.length} simulator process(es)`);
    await sleep(2000);
    const rssSynced = rssMbOf([controller.pid]);
    const cpuBefore = cpuSecondsOf([controller.pid], env.clockTicks);
    const t0 = Date.now();

    const allAcked: number[] = [];
    const firstAcked: number[] = [];
    let timeouts = 0;
    // A change must reach every stream within this long, or it counts as timed out.
    const changeTimeoutMs = 30_000 + n * 60;
    for (let g = 1; g <= spec.changes; g++) {
      const svc = changedService(g, XDS_SERVICES);
      const marker = addressMarker(changedIp(g)).toString('hex');
      for (const s of shards) s.send({ cmd: 'expect', id: g, marker });
      await Promise.all(shards.map((s) => s.next('armed', 10_000, g)));
      const wroteAt = wallNow();
      writeFileSync(path.join(dir, endpointSliceFile(svc)), endpointSliceYaml(svc, g));
      try {
        const done = await Promise.all(shards.map((s) => s.next('converged', changeTimeoutMs, g)));
        allAcked.push(Math.max(...done.map((d) => d.last)) - wroteAt);
        firstAcked.push(Math.min(...done.map((d) => d.first)) - wroteAt);
      } catch (err) {
        if (controller.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', controller.describeExit());
        timeouts++;
        log(`change ${g}: ${err instanceof Error ? err.message : String(err)}`);
        if (timeouts >= 2) throw err;
      }
      await sleep(spec.durationS * 1000);
    }
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSecondsOf([controller.pid], env.clockTicks) - cpuBefore;
    if (controller.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', controller.describeExit());
    const sorted = [...allAcked].sort((a, b) => a - b);
    const firsts = [...firstAcked].sort((a, b) => a - b);
    log(`${n} streams: first stream ACKed after p50 ${percentile(firsts, 50).toFixed(1)} ms, all after p50 ${percentile(sorted, 50).toFixed(1)} / p99 ${percentile(sorted, 99).toFixed(1)} ms`);
    return emptyResult(spec, {
      duration_s: round(wall, 3),
      p50_ms: round(percentile(sorted, 50), 2), p90_ms: round(percentile(sorted, 90), 2), p99_ms: round(percentile(sorted, 99), 2),
      requests: sorted.length, errors: timeouts,
      controller_cpu_s: round(cpu, 3), controller_rss_mb: round(rssSynced, 1),
      mb_per_proxy: round((rssSynced - rssIdle) / n, 3),
    });
  } finally {
    await Promise.all(shards.map((s) => s.stop()));
    await controller.stop();
  }
}
