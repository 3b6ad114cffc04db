// A `ferry up` mesh (netns mode) for one scenario: started, read (state.json, record.json, the registry), poked (signals, endpoint conditions, the controller) and removed, also on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../../src/clock/clock';
import { isAlive, removeStaleRuns, type RunRecordData } from '../../src/os/run-record';

export const REPO = resolve(__dirname, '..', '..', '..');
export const FERRY = join(REPO, 'bin', 'ferry');

export interface MeshPod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly netns: string | null;
  readonly meshed: boolean;
  readonly ready: boolean;
  readonly sidecar: { stats: string; admin: string | null } | null;
}

export interface MeshState {
  readonly dir: string;
  readonly controller: { xds: string; admin: string; log: string };
  readonly services: { namespace: string; name: string; clusterIP: string; ports: number[] }[];
  readonly pods: MeshPod[];
}

/** The conditions of an EndpointSlice endpoint, as the controller reads them. */
export interface EndpointConditions {
  readonly ready: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

import { sleep, waitFor } from '../../test/support/wait';

export { sleep, waitFor };

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Processes the harness starts itself (a load client, a restarted controller): stopped by pid when the scenario ends. */
export class OwnProcesses {
  private readonly procs: ChildProcess[] = [];

  spawn(argv: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const fd = openSync(logFile, 'a');
    try {
      const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd], env, detached: true });
      this.procs.push(p);
      return p;
    } finally {
      closeSync(fd);
    }
  }

  /** SIGTERM each one still running, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 3000, clock: Clock = systemClock): Promise<void> {
    await Promise.all(this.procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = clock.setTimeout(() => p.kill('SIGKILL'), graceMs);
      await exited;
      clock.clearTimeout(t);
    }));
  }
}

export class Mesh {
  readonly own = new OwnProcesses();
  private output = '';
  private exited: Promise<number | null>;
  state!: MeshState;

  private constructor(private readonly proc: ChildProcess, readonly stateDir: string, private readonly clock: Clock) {
    proc.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    proc.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  /** `ferry up -f MANIFESTS --mode netns` in a fresh state folder; resolves once it prints ready. */
  static async start(manifests: string, clock: Clock = systemClock, readyTimeoutMs = 90_000): Promise<Mesh> {
    const stateDir = mkdtempSync(join(tmpdir(), 'ferry-chaos-'));
    const proc = spawn(process.execPath, [FERRY, 'up', '-f', manifests, '--mode', 'netns', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const mesh = new Mesh(proc, stateDir, clock);
    try {
      const file = await waitFor('ferry up to print ready', () => {
        if (proc.exitCode !== null) throw new Error(`ferry up exited (${proc.exitCode}):\n${mesh.output.slice(-4000)}`);
        return /ferry up: ready .*; state (\S+)/.exec(mesh.output)?.[1] ?? null;
      }, readyTimeoutMs, clock);
      mesh.state = JSON.parse(readFileSync(file, 'utf8')) as MeshState;
      return mesh;
    } catch (err) {
      await mesh.stop();
      throw new Error(`${(err as Error).message}\n--- ferry up ---\n${mesh.output.slice(-4000)}`);
    }
  }

  get dir(): string {
    return this.state.dir;
  }

  log(): string {
    return this.output;
  }

  readState(): MeshState {
    return JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as MeshState;
  }

  pod(name: string): MeshPod {
    const p = this.readState().pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name} in the mesh (pods: ${this.state.pods.map((x) => x.name).join(', ')})`);
    return p;
  }

  /** The pods whose name starts with `prefix`, in order. */
  podsOf(prefix: string): MeshPod[] {
    return this.readState().pods.filter((p) => p.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
  }

  service(name: string): { ip: string; port: number } {
    const s = this.state.services.find((x) => x.name === name);
    if (!s) throw new Error(`no service ${name} in the mesh`);
    return { ip: s.clusterIP, port: s.ports[0] };
  }

  /** The pid of a container of a pod (`ferry-proxy` for the sidecar) now running, or null. */
  pid(pod: string, container: string): number | null {
    const rec = JSON.parse(readFileSync(join(this.dir, 'record.json'), 'utf8')) as RunRecordData;
    const p = this.pod(pod);
    const name = `${p.namespace}/${pod}/${container}`;
    const live = rec.processes.filter((x) => x.name === name && isAlive(x));
    return live.length ? live[live.length - 1].pid : null;
  }

  /** The controller's pid (while ferry up's own controller runs). */
  controllerPid(): number | null {
    const rec = JSON.parse(readFileSync(join(this.dir, 'record.json'), 'utf8')) as RunRecordData;
    const c = rec.processes.filter((x) => x.name === 'controller' && isAlive(x));
    return c.length ? c[c.length - 1].pid : null;
  }

  /** Waits until `pod` is ready with a container `container` under a pid other than `oldPid`. */
  async waitRestarted(pod: string, container: string, oldPid: number, timeoutMs = 30_000): Promise<number> {
    return waitFor(`${pod}/${container} to run again and be ready`, () => {
      const pid = this.pid(pod, container);
      return pid !== null && pid !== oldPid && this.pod(pod).ready ? pid : null;
    }, timeoutMs, this.clock, 50);
  }

  private registryFile(): string {
    return join(this.dir, 'registry', 'mesh.json');
  }

  /** The conditions the registry gives the endpoints of `pod`, or null when it has none. */
  endpointConditions(pod: string): EndpointConditions | null {
    const list = JSON.parse(readFileSync(this.registryFile(), 'utf8')) as { items: { kind: string; endpoints?: { targetRef?: { name?: string }; conditions?: EndpointConditions }[] }[] };
    for (const o of list.items) {
      if (o.kind !== 'EndpointSlice') continue;
      for (const e of o.endpoints ?? []) if (e.targetRef?.name === pod) return e.conditions ?? { ready: true };
    }
    return null;
  }

  /** Rewrites the conditions of every endpoint of `pod` in the registry the controller watches. */
  setEndpointConditions(pod: string, conditions: EndpointConditions): void {
    const file = this.registryFile();
    const list = JSON.parse(readFileSync(file, 'utf8')) as { items: { kind: string; endpoints?: { targetRef?: { name?: string }; conditions?: EndpointConditions }[] }[] };
    let n = 0;
    for (const o of list.items) {
      if (o.kind !== 'EndpointSlice') continue;
      for (const e of o.endpoints ?? []) {
        if (e.targetRef?.name === pod) {
          e.conditions = conditions;
          n++;
        }
      }
    }
    if (n === 0) throw new Error(`the registry has no endpoint of pod ${pod}`);
    writeAtomic(file, `${JSON.stringify(list, null, 1)}\n`);
  }

  /**
   * Stops ferry up (SIGTERM, SIGKILL after 20 s), the harness's own processes, and undoes whatever a
   * killed run left; the run folder's files (logs) stay with `keepFiles`, for a scenario that failed.
   */
  async stop(keepFiles = false): Promise<void> {
    await this.own.stopAll(3000, this.clock);
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const t = this.clock.setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
      await this.exited;
      this.clock.clearTimeout(t);
    }
    removeStaleRuns(this.stateDir);
    if (!keepFiles) rmSync(this.stateDir, { recursive: true, force: true });
  }
}
