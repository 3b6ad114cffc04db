// Runs the connection storm (load/storm-main.ts) as its own process, inside a meshed pod's network
// namespace (its connections leave through that pod's sidecar) or in the host's (to reach a pod's
// inbound listener from outside the mesh), with the descriptor limit its connections need.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StormFile } from '../load/storm-main';
import { waitFor, type Mesh } from './mesh-up';

export interface StormRunOptions {
  readonly targets: readonly { readonly ip: string; readonly port: number }[];
  readonly idle: number;
  readonly slowloris: number;
  readonly tlsStall: number;
  readonly openPerSecond: number;
  readonly byteIntervalMs: number;
  readonly durationMs: number;
}

export interface PodStorm {
  /** Epoch ms when the storm started. */
  readonly startedAtWall: number;
  /** Resolves with every connection once the storm has ended. */
  readonly done: Promise<StormFile>;
}

/** Starts a storm in pod `podName`'s network namespace, or the host's when `podName` is null. */
export async function startStorm(mesh: Mesh, podName: string | null, o: StormRunOptions): Promise<PodStorm> {
  const where = podName ?? 'host';
  let inNetns: string[] = [];
  if (podName !== null) {
    const pod = mesh.pod(podName);
    if (!pod.netns) throw new Error(`pod ${podName} has no network namespace (the chaos suite needs netns mode)`);
    inNetns = ['ip', 'netns', 'exec', pod.netns];
  }
  const out = join(mesh.dir, `storm-${where}-${randomBytes(4).toString('hex')}.json`);
  const logFile = `${out}.log`;
  const main = join(__dirname, '..', 'load', 'storm-main.js');
  // Room for every connection and the process's own descriptors (storm-main checks it got it).
  const nofile = o.idle + o.slowloris + o.tlsStall + 1024;
  const proc = mesh.own.spawn(['prlimit', `--nofile=${nofile}:${nofile}`, ...inNetns, process.execPath, main,
    '--targets', o.targets.map((t) => `${t.ip}:${t.port}`).join(','), '--idle', String(o.idle), '--slowloris', String(o.slowloris), '--tls-stall', String(o.tlsStall),
    '--open-per-s', String(o.openPerSecond), '--byte-interval-ms', String(o.byteIntervalMs), '--duration-ms', String(o.durationMs), '--out', out], logFile);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const startedAtWall = await waitFor(`the storm in ${where} to start`, () => {
    if (proc.exitCode !== null) throw new Error(`the storm in ${where} exited (${proc.exitCode}): ${log()}`);
    const m = /storm: started at (\d+)/.exec(log());
    return m ? Number(m[1]) : null;
  }, 10_000);
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`the storm in ${where} exited (${code}): ${log()}`);
    return JSON.parse(readFileSync(out, 'utf8')) as StormFile;
  });
  return { startedAtWall, done };
}
