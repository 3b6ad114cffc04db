// Watches, from a meshed pod's sidecar, one upstream host (its ejection, return, first request after it) for a scenario; stopped with the mesh's own processes.

import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/clock/clock';
import { sleep, waitFor, type Mesh } from './mesh-up';
import { inRotationAt, type HostEvent } from './host-tracker';

type WatchLine = HostEvent | { kind: 'error'; at: number; message: string } | { kind: 'watching'; at: number };

export class HostWatch {
  constructor(private readonly proc: ChildProcess, private readonly logFile: string) {}

  private lines(): WatchLine[] {
    if (!existsSync(this.logFile)) return [];
    const out: WatchLine[] = [];
    for (const l of readFileSync(this.logFile, 'utf8').split('\n')) if (l.startsWith('{')) out.push(JSON.parse(l) as WatchLine);
    return out;
  }

  /** Why the watch has stopped, or null while it runs. */
  exited(): string | null {
    if (this.proc.exitCode === null && this.proc.signalCode === null) return null;
    return `the host watch exited (${this.proc.exitCode ?? this.proc.signalCode}): ${readFileSync(this.logFile, 'utf8').slice(-1000)}`;
  }

  /** Every event so far. */
  events(): HostEvent[] {
    return this.lines().filter((e): e is HostEvent => e.kind !== 'error' && e.kind !== 'watching');
  }

  /** Failed reads of the admin page. */
  errors(): string[] {
    return this.lines().flatMap((e) => (e.kind === 'error' ? [e.message] : []));
  }

  /** The first event of `kind` at or after `sinceWall` (epoch ms), or null. */
  first(kind: HostEvent['kind'], sinceWall: number): HostEvent | null {
    return this.events().find((e) => e.kind === kind && e.at >= sinceWall) ?? null;
  }

  /** Waits up to `timeoutMs` for an event of `kind` at or after `sinceWall`; null when none came. */
  async next(kind: HostEvent['kind'], sinceWall: number, timeoutMs: number): Promise<HostEvent | null> {
    const deadline = systemClock.now() + timeoutMs;
    for (;;) {
      const why = this.exited();
      if (why) throw new Error(why);
      const e = this.first(kind, sinceWall);
      if (e !== null || systemClock.now() >= deadline) return e;
      await sleep(50);
    }
  }

  /** Waits up to `timeoutMs` for the host to be in rotation at or after `sinceWall`; null when it was not. */
  async nextInRotation(sinceWall: number, timeoutMs: number): Promise<number | null> {
    const deadline = systemClock.now() + timeoutMs;
    for (;;) {
      const why = this.exited();
      if (why) throw new Error(why);
      const at = inRotationAt(this.events(), sinceWall);
      if (at !== null || systemClock.now() >= deadline) return at;
      await sleep(50);
    }
  }

  stop(): void {
    if (this.exited() === null) this.proc.kill('SIGTERM');
  }
}

/** Starts watching `host` (IP:PORT) in cluster `cluster` of pod `podName`'s sidecar; resolves once it has read the page with the host in it. */
export async function watchHost(mesh: Mesh, podName: string, cluster: string, host: string): Promise<HostWatch> {
  const pod = mesh.pod(podName);
  const admin = pod.sidecar?.admin;
  if (!pod.netns || !admin) throw new Error(`pod ${podName} has no sidecar admin in a network namespace`);
  const logFile = join(mesh.dir, `host-watch-${podName}-${host.replace(/[^0-9A-Za-z]/g, '_')}.log`);
  const proc = mesh.own.spawn(['ip', 'netns', 'exec', pod.netns, process.execPath, join(__dirname, 'host-watch-main.js'), '--admin', admin, '--cluster', cluster, '--host', host, '--interval-ms', '100'], logFile);
  const w = new HostWatch(proc, logFile);
  await waitFor(`the host watch to see ${host} in ${cluster}`, () => {
    const why = w.exited();
    if (why) throw new Error(why);
    return w.events().some((e) => e.kind === 'membership' && e.status !== 'absent') ? true : null;
  }, 10_000);
  return w;
}
