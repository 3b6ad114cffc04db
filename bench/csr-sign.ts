// The `csr-sign` scenario: CSR signing rate and latency through the controller's real gRPC CA (TLS, bootstrap token) on loopback.
//
// Part of the harness (`run.js --scenarios=csr-sign`); also runs alone:
// node dist/bench/csr-sign.js [--seconds=N] [--concurrency=N] [--warmup=N] [--json]
// The controller runs in a child process; this process is the client. The rate is reported per wall
// second and per CPU second of the controller (a "per core" figure that does not depend on how busy
// the machine is); latency is per call as the client sees it (TLS channel already open).

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { createWorkloadCsr } from '../certs/csr';
import { certificateServiceClient } from '../src/ca-api/ca-proto';
import { startTestMesh, TEST_CONTROLLER_ID } from '../src/controller/ca/test-mesh.fixture';
import { SPIFFE_CHANNEL_OPTIONS, caChannelCredentials } from '../sidecar/identity/ca-client';
import type { RunSpec } from './plan';
import { rssMbOf } from './processes';
import { emptyResult, round } from './run-result';
import type { Env } from './env';
import type { RunResult } from './types';

export const CSR_SIGN_TARGET = { perCorePerSecond: 2000, p99Ms: 5 } as const;

interface Options {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  json: boolean;
  /** Pin the controller child (all its threads) to this CPU with taskset; null: unpinned. */
  cpu?: number | null;
  tasksetPath?: string | null;
}

export interface CsrSignResult {
  readonly scenario: 'csr-sign';
  readonly seconds: number;
  readonly concurrency: number;
  readonly signed: number;
  readonly errors: number;
  readonly perSecond: number;
  /** Signed per CPU second of the controller process. */
  readonly perCoreSecond: number;
  readonly controllerCpuSeconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meetsTarget: boolean;
  /** The controller child's RSS at the end, MB. */
  readonly controllerRssMb: number | null;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 5, warmupSeconds: 1, concurrency: 4, json: false };
  for (const a of argv) {
    const [k, v] = a.split('=', 2) as [string, string | undefined];
    if (k === '--seconds' && Number(v) > 0) o.seconds = Number(v);
    else if (k === '--warmup' && Number(v) >= 0) o.warmupSeconds = Number(v);
    else if (k === '--concurrency' && Number.isInteger(Number(v)) && Number(v) > 0) o.concurrency = Number(v);
    else if (k === '--json') o.json = true;
    else if (k !== '--serve') throw new Error(`csr-sign: unknown argument ${a}`);
  }
  return o;
}

/** Child: a controller with the CA; prints its address, bundle and a token; on "cpu" prints its CPU time; exits on "stop". */
async function serve(): Promise<void> {
  const mesh = await startTestMesh();
  const cpu0 = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ address: mesh.address, bundle: mesh.pki.ca.trustBundle.toPem(), token: mesh.token('bench', 'client') })}\n`);
  let mark = process.cpuUsage(cpu0);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'mark') {
      mark = process.cpuUsage(cpu0);
      process.stdout.write('{"ok":true}\n');
    } else if (line === 'cpu') {
      const now = process.cpuUsage(cpu0);
      process.stdout.write(`${JSON.stringify({ cpuSeconds: (now.user + now.system - mark.user - mark.system) / 1e6 })}\n`);
    } else if (line === 'stop') break;
  }
  await mesh.stop();
  process.exit(0);
}

function ask(child: ChildProcess, lines: AsyncIterator<string>, cmd: string): Promise<Record<string, unknown>> {
  child.stdin!.write(`${cmd}\n`);
  return lines.next().then((r) => JSON.parse(r.value as string) as Record<string, unknown>);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function runCsrSign(o: Options): Promise<CsrSignResult> {
  const child = fork(__filename, ['--serve'], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'], env: { ...process.env, FERRY_LOG_LEVEL: 'off' } });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    const first = await lines.next();
    const { address, bundle, token } = JSON.parse(first.value as string) as { address: string; bundle: string; token: string };
    if (o.cpu != null && o.tasksetPath && child.pid !== undefined) {
      execFileSync(o.tasksetPath, ['-a', '-p', '-c', String(o.cpu), String(child.pid)], { stdio: 'ignore' });
    }
    // Workload-side cost (key generation) is not the CA's: make a pool of CSRs up front and reuse them.
    const csrs = await Promise.all(Array.from({ length: 64 }, () => createWorkloadCsr('spiffe://cluster.local/ns/bench/sa/client')));
    const Client = certificateServiceClient();
    const client = new Client(address, caChannelCredentials(bundle, TEST_CONTROLLER_ID), SPIFFE_CHANNEL_OPTIONS);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    const call = (client as unknown as Record<string, Function>).CreateCertificate.bind(client) as (
      req: unknown,
      md: grpc.Metadata,
      cb: (err: grpc.ServiceError | null) => void,
    ) => void;
    let i = 0;
    const once = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        call({ csr: csrs[i++ % csrs.length].csrPem, ttlSeconds: 0 }, md, (err) => (err ? reject(err) : resolve(Number(process.hrtime.bigint() - t0) / 1e6)));
      });

    const run = async (ms: number, record: boolean) => {
      const lat: number[] = [];
      let errors = 0;
      const end = performance.now() + ms;
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          while (performance.now() < end) {
            try {
              const l = await once();
              if (record) lat.push(l);
            } catch {
              errors++;
            }
          }
        }),
      );
      return { lat, errors };
    };
    await run(o.warmupSeconds * 1000, false);
    await ask(child, lines, 'mark');
    const t0 = performance.now();
    const { lat, errors } = await run(o.seconds * 1000, true);
    const wall = (performance.now() - t0) / 1000;
    const { cpuSeconds } = (await ask(child, lines, 'cpu')) as { cpuSeconds: number };
    let controllerRssMb: number | null = null;
    try {
      controllerRssMb = child.pid !== undefined ? rssMbOf([child.pid]) : null;
    } catch {
      /* not Linux */
    }
    client.close();
    const sorted = Float64Array.from(lat).sort();
    const perCoreSecond = cpuSeconds > 0 ? lat.length / cpuSeconds : 0;
    const p99Ms = percentile(sorted, 99);
    return {
      scenario: 'csr-sign',
      seconds: wall,
      concurrency: o.concurrency,
      signed: lat.length,
      errors,
      perSecond: lat.length / wall,
      perCoreSecond,
      controllerCpuSeconds: cpuSeconds,
      p50Ms: percentile(sorted, 50),
      p99Ms,
      maxMs: sorted.length ? sorted[sorted.length - 1] : 0,
      meetsTarget: errors === 0 && perCoreSecond >= CSR_SIGN_TARGET.perCorePerSecond && p99Ms < CSR_SIGN_TARGET.p99Ms,
      controllerRssMb,
    };
  } finally {
    child.stdin!.write('stop\n');
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

/** The harness entry: one csr-sign run as a RunResult (controller pinned like the proxies). */
export async function runCsrSignScenario(env: Env, spec: RunSpec): Promise<RunResult> {
  const r = await runCsrSign({
    seconds: spec.durationS, warmupSeconds: spec.warmupS, concurrency: spec.connections, json: false,
    cpu: env.launch.proxyCpu, tasksetPath: env.tools.taskset,
  });
  return emptyResult(spec, {
    duration_s: round(r.seconds, 3), qps_actual: round(r.perSecond, 1), p50_ms: round(r.p50Ms), p99_ms: round(r.p99Ms),
    requests: r.signed, errors: r.errors, controller_cpu_s: round(r.controllerCpuSeconds, 3),
    controller_rss_mb: r.controllerRssMb === null ? null : round(r.controllerRssMb, 1), rate_per_cpu_s: round(r.perCoreSecond, 0),
  });
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--serve')) return serve();
  const o = parseArgs(argv);
  const r = await runCsrSign(o);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    process.stdout.write(
      `csr-sign: ${r.signed} certificates in ${r.seconds.toFixed(1)} s at concurrency ${r.concurrency}, ${r.errors} errors\n` +
        `  rate      ${r.perSecond.toFixed(0)}/s wall, ${r.perCoreSecond.toFixed(0)}/s per controller CPU-second (${r.controllerCpuSeconds.toFixed(2)} s CPU)\n` +
        `  latency   p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms\n` +
        `  target    ≥ ${CSR_SIGN_TARGET.perCorePerSecond}/s per core, p99 < ${CSR_SIGN_TARGET.p99Ms} ms: ${r.meetsTarget ? 'met' : 'NOT met'}\n`,
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`csr-sign: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
