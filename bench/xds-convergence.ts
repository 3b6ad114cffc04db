// The `xds-convergence` scenario: N simulated sidecars on a real `ferry controller`; time from an EndpointSlice edit until all N ACKed it.
//
// The controller serves a generated file registry of 1,000 Services (one EndpointSlice file each)
// with --insecure-xds and default debounce. Simulator shards (xds-simulator.ts, 250 streams per
// process) open the N ADS streams. Then, `changes` times: every shard is told which address to
// expect, one slice file is rewritten, and the time until the last stream ACKed an EDS response
// carrying that address is recorded. Controller CPU and RSS come from /proc.
//
// Profiling: FERRY_BENCH_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" passes node flags to
// the controller only (NODE_OPTIONS refuses --cpu-prof); the profile is written when it stops.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../src/errors';
import type { RunSpec } from './plan';
import { XDS_SERVICES } from './plan';
import { cpuSecondsOf, freePort, httpGet, rssMbOf, startProcess, waitForPort, type ManagedProcess } from './processes';
import { emptyResult, percentile, round } from './run-result';
import type { Env } from './run';
import type { RunResult } from './types';
import { changedIp, changedService, endpointSliceFile, endpointSliceYaml, servicesYaml } from './xds-registry';
import { wallNow } from './xds-simulator';
import { addressMarker } from './xds-wire';

/** Targets from the controller issue. */
export const XDS_TARGET = { p99Ms: 200, streams: 1000, mbPerProxy: 1 } as const;

/** Streams per simulator process: one grpc-js process holding 1,000 channels would measure itself, not the controller. */
export const STREAMS_PER_SHARD = 250;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function log(message: string): void {
  process.stderr.write(`bench: xds-convergence: ${message}\n`);
}

type ShardMessage =
  | { type: 'synced' }
  | { type: 'armed'; id: number }
  | { type: 'converged'; id: number; first: number; last: number }
  | { type: 'error'; message: string };

/** One simulator process and a queue of its messages. */
class ShardProcess {
  private readonly inbox: ShardMessage[] = [];
  private waiters: (() => void)[] = [];
  private exitError: string | null = null;

  constructor(readonly child: ChildProcess, readonly name: string) {
    child.on('message', (m: ShardMessage) => {
      this.inbox.push(m);
      this.wake();
    });
    child.on('exit', (code, signal) => {
      this.exitError = `${name} exited (${signal ?? code})`;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * The next message of `type` (for change `id`, when given); earlier ones of other types or
   * changes are dropped (a late answer to a timed-out change). Fails on an error, exit or timeout.
   */
  async next<T extends ShardMessage['type']>(type: T, timeoutMs: number, id?: number): Promise<Extract<ShardMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        if (m.type === 'error') throw new FerryError('FERRY_ERR_BENCH_XDS', `${this.name}: ${m.message}`);
        if (m.type === type && (id === undefined || !('id' in m) || m.id === id)) return m as Extract<ShardMessage, { type: T }>;
      }
      if (this.exitError) throw new FerryError('FERRY_ERR_BENCH_XDS', this.exitError);
      const left = deadline - Date.now();
      if (left <= 0) throw new FerryError('FERRY_ERR_BENCH_XDS', `${this.name}: no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(m: Record<string, unknown>): void {
    if (this.child.connected) this.child.send(m);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ cmd: 'stop' });
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

function startShard(env: Env, target: string, from: number, count: number, index: number): ShardProcess {
  const script = path.join(__dirname, 'xds-simulator.js');
  const args = [script, `--target=${target}`, `--from=${from}`, `--count=${count}`, `--services=${XDS_SERVICES}`];
  const pinned = env.loadCpu !== null && env.tools.taskset !== null;
  const child = pinned
    ? spawn(env.tools.taskset!, ['-c', String(env.loadCpu), process.execPath, ...args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new ShardProcess(child, `simulator shard ${index} (streams ${from}–${from + count - 1})`);
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
    for (const [k, [from, count]] of shardRanges(n).entries()) shards.push(startShard(env, `127.0.0.1:${xdsPort}`, from, count, k));
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
