// Runs the load client inside a meshed pod's network namespace, so its requests leave through that pod's sidecar.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadProtocol } from '../load/exchange';
import type { LoadFile } from '../load/load-main';
import { waitFor, type Mesh } from './mesh-up';

export interface PodLoad {
  /** Epoch ms when the first request was due. */
  readonly startedAtWall: number;
  /** Resolves with every request once the run has ended. */
  readonly done: Promise<LoadFile>;
  /** Ends the run early: nothing more is sent, `done` resolves with what was. */
  stop(): void;
}

export interface PodLoadOptions {
  /** What one request is (default http1; load-client.ts). */
  readonly protocol?: LoadProtocol;
  readonly target: { ip: string; port: number };
  readonly path: string;
  readonly method: 'GET' | 'POST';
  /** Request body bytes (0: none). */
  readonly bodyBytes?: number;
  readonly rps: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /** The load client's retry on a fresh connection (off by default). */
  readonly retryOnFreshConnection?: boolean;
  /** tcp only: reuse connections (off by default: a connection per exchange). */
  readonly reuseConnections?: boolean;
}

export async function startLoadInPod(mesh: Mesh, podName: string, o: PodLoadOptions): Promise<PodLoad> {
  const pod = mesh.pod(podName);
  if (!pod.netns) throw new Error(`pod ${podName} has no network namespace (the chaos suite needs netns mode)`);
  const out = join(mesh.dir, `load-${podName}-${randomBytes(4).toString('hex')}.json`);
  const logFile = `${out}.log`;
  const main = join(__dirname, '..', 'load', 'load-main.js');
  const proc = mesh.own.spawn(['ip', 'netns', 'exec', pod.netns, process.execPath, main,
    '--target', `${o.target.ip}:${o.target.port}`, '--protocol', o.protocol ?? 'http1', '--path', o.path, '--method', o.method, '--body-bytes', String(o.bodyBytes ?? 0),
    '--rps', String(o.rps), '--duration-ms', String(o.durationMs), '--timeout-ms', String(o.timeoutMs), ...(o.retryOnFreshConnection ? ['--retry-fresh'] : []), ...(o.reuseConnections ? ['--tcp-reuse'] : []), '--out', out], logFile);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const startedAtWall = await waitFor('the load client to start', () => {
    if (proc.exitCode !== null) throw new Error(`the load client exited (${proc.exitCode}): ${log()}`);
    const m = /load: started at (\d+)/.exec(log());
    return m ? Number(m[1]) : null;
  }, 10_000);
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`the load client exited (${code}): ${log()}`);
    return JSON.parse(readFileSync(out, 'utf8')) as LoadFile;
  });
  // `ip netns exec` execs node, so the signal reaches the load client itself.
  return { startedAtWall, done, stop: () => void proc.kill('SIGUSR2') };
}
