// Test support for the namespace end-to-end tests: a "node" namespace with a bridge, "pod" namespaces on it, processes inside them, and cleanup.
//
// Everything lives in namespaces this module creates (named `ferry-e2e-<random>-<role>`): the pods reach
// each other and the node only over the bridge, and nothing is routed out of the node namespace, so no
// packet leaves the test. `cleanup()` kills every process by pid, then deletes every namespace (which
// takes the veths, the bridge and the pods' iptables rules with it) and the folders the lab owns; it
// runs even when the test fails, and a synchronous version runs if the test process exits or is
// interrupted (SIGINT, SIGTERM) before it. Processes run as another uid (the proxy as 1337) reach the
// repository wherever it was cloned (see prepareRunAs).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { addonPath } from '../../sidecar/native/original-dst';
import { describePathBlock, findPathBlock, type Access, type Accessor } from '../../src/os/path-access';

/** The repository root, from dist/test/e2e. */
export const REPO = resolve(__dirname, '..', '..', '..');
/** The `ferry` launcher. */
export const FERRY = resolve(REPO, 'bin', 'ferry');

/** A uid as `spawn` runs it: gid = uid, no supplementary groups. */
function accessor(uid: number): Accessor {
  return { uid, gid: uid, groups: [] };
}

/** What `node bin/ferry …` opens in the repository: the launcher, the compiled CLI, a dependency, the addon. */
function repositoryNeeds(): Array<[string, Access]> {
  const needs: Array<[string, Access]> = [
    [FERRY, 'read'],
    [join(REPO, 'dist', 'src', 'cli', 'main.js'), 'read'],
    [join(REPO, 'node_modules', '@grpc', 'grpc-js', 'package.json'), 'read'],
  ];
  if (existsSync(addonPath())) needs.push([addonPath(), 'read']);
  return needs;
}

/** The first temporary folder `who` can pass through (TMPDIR may well be private). */
export function reachableTempBase(who: Accessor): string {
  const bases = [...new Set([tmpdir(), '/tmp', '/var/tmp', '/dev/shm'])];
  for (const base of bases) if (findPathBlock(base, who, 'search') === null) return base;
  throw new Error(`no temporary folder that UID ${who.uid} can pass through (tried ${bases.join(', ')}); set TMPDIR to one`);
}

/** How processes run as one uid are started: as they are, or from a bind mount of the repository. */
interface RunAs {
  readonly uid: number;
  /** Where the repository is bind-mounted in the process's own mount namespace, or null to run it in place. */
  readonly mountPoint: string | null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns something other than null/false (errors count as "not yet"). */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | false> | T | null | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let v: T | null | false = null;
    try {
      v = await probe();
    } catch (err) {
      last = String(err);
    }
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(everyMs);
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process inside a namespace (the pid is the program's own: `ip netns exec` and `setpriv` exec it). */
export interface NsProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  /** stdout and stderr so far. */
  log(): string;
  /** Resolves with the first match of `re` on the output; rejects if the process exits first. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface PodSpec {
  /** Short role name, e.g. `client` (also the veth name on the bridge side). */
  readonly role: string;
  readonly ip: string;
}

/** A lab: one node namespace with a bridge, pod namespaces attached, processes, and their cleanup. */
export class NetnsLab {
  readonly id = randomBytes(3).toString('hex');
  readonly node: string;
  private readonly namespaces: string[] = [];
  private readonly procs: NsProcess[] = [];
  private readonly dirs: string[] = [];
  /** Empty in this mount namespace (the mounts live in the processes' own); removed with rmdir, never recursively. */
  private readonly mountPoints: string[] = [];
  private readonly runAs = new Map<number, RunAs>();
  private armed = false;
  private readonly lastResort = (): void => this.killSync();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.killSync();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor(
    /** The pods' subnet prefix length and the bridge's address in the node namespace. */
    readonly bridgeIp: string,
    readonly prefixLen: number,
  ) {
    this.node = this.nsName('node');
  }

  nsName(role: string): string {
    return `ferry-e2e-${this.id}-${role}`;
  }

  /** Runs a command in the root namespace; throws with its output on failure. */
  static sh(cmd: string, args: readonly string[]): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Runs a command in `ns` synchronously (setup steps); throws with its output on failure. */
  exec(ns: string, cmd: string, args: readonly string[]): string {
    return NetnsLab.sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  private addNamespace(ns: string): void {
    this.arm();
    NetnsLab.sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
  }

  /** The node namespace and its bridge (the pods' default gateway); no route leads anywhere else. */
  createNode(): void {
    this.addNamespace(this.node);
    this.exec(this.node, 'ip', ['link', 'add', 'fbr0', 'type', 'bridge']);
    this.exec(this.node, 'ip', ['addr', 'add', `${this.bridgeIp}/${this.prefixLen}`, 'dev', 'fbr0']);
    this.exec(this.node, 'ip', ['link', 'set', 'fbr0', 'up']);
  }

  /** A pod namespace: eth0 (a veth whose peer sits on the bridge) with `ip`, default route via the bridge. */
  createPod(pod: PodSpec): string {
    const ns = this.nsName(pod.role);
    this.addNamespace(ns);
    const hostSide = `v-${pod.role}`.slice(0, 15);
    this.exec(this.node, 'ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    this.exec(this.node, 'ip', ['link', 'set', hostSide, 'master', 'fbr0']);
    this.exec(this.node, 'ip', ['link', 'set', hostSide, 'up']);
    this.exec(ns, 'ip', ['addr', 'add', `${pod.ip}/${this.prefixLen}`, 'dev', 'eth0']);
    this.exec(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    this.exec(ns, 'ip', ['route', 'add', 'default', 'via', this.bridgeIp]);
    return ns;
  }

  /** A folder (e.g. a mkdtemp with keys and tokens) removed with the namespaces, also on the way out of an interrupted run. */
  ownDir(dir: string): string {
    this.arm();
    this.dirs.push(dir);
    return dir;
  }

  /** A folder for files a process run as `uid` reads (a pod's files): under a base it can pass through, mode 0711, removed with the lab. */
  sharedDir(prefix: string, uid: number): string {
    const dir = this.ownDir(mkdtempSync(join(reachableTempBase(accessor(uid)), prefix)));
    chmodSync(dir, 0o711);
    return dir;
  }

  /**
   * Makes sure processes run as `uid` can reach Node and the repository, before anything starts. A
   * repository in a folder `uid` cannot pass through (a home directory, a `mktemp -d`) is then reached
   * through a bind mount at a fresh world-traversable mount point, made inside each such process's own
   * mount namespace (`ip netns exec` gives it one), so nothing outside sees it. Throws, naming the
   * directory and the fix, when even that cannot help.
   */
  prepareRunAs(uid: number): RunAs {
    const known = this.runAs.get(uid);
    if (known) return known;
    const who = accessor(uid);
    const node = findPathBlock(process.execPath, who, 'execute');
    if (node) {
      throw new Error(`${describePathBlock(node, who)}: processes run as UID ${uid} need Node; install it where UID ${uid} can run it, or chmod o+x ${node.blockedAt}`);
    }
    const needs = repositoryNeeds();
    const direct = needs.map(([p, a]) => findPathBlock(p, who, a)).find((b) => b !== null) ?? null;
    if (direct?.need === 'missing') throw new Error(`${describePathBlock(direct, who)} (run make build)`);
    let plan: RunAs = { uid, mountPoint: null };
    if (direct) {
      const mounted = needs.map(([p, a]) => findPathBlock(p, who, a, { within: realpathSync(REPO) })).find((b) => b !== null);
      if (mounted) {
        const fix = mounted.need === 'search' ? `chmod o+x ${mounted.blockedAt}` : `chmod o+r ${mounted.blockedAt}`;
        throw new Error(
          `${describePathBlock(mounted, who)}. The tests run the proxy as UID ${uid}, and a bind mount of ${REPO} does not get it past ${mounted.blockedAt}: ${fix}, or clone the repository where UID ${uid} can read it.`,
        );
      }
      this.arm();
      const mountPoint = mkdtempSync(join(reachableTempBase(who), 'ferry-e2e-repo-'));
      this.mountPoints.push(mountPoint);
      chmodSync(mountPoint, 0o755);
      plan = { uid, mountPoint };
    }
    this.runAs.set(uid, plan);
    return plan;
  }

  /**
   * Starts `argv` in `ns`, optionally as `uid` (gid = uid, no supplementary groups, cwd /). Paths into
   * the repository in `argv` and `env` point into its bind mount when prepareRunAs chose one.
   */
  spawn(name: string, ns: string, argv: readonly string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): NsProcess {
    let command: string[] = [...argv];
    let env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    if (opts.uid !== undefined) {
      const plan = this.prepareRunAs(opts.uid);
      const setpriv = ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'];
      const mp = plan.mountPoint;
      if (mp === null) command = [...setpriv, ...command];
      else {
        const moved = (v: string): string => (v === REPO || v.startsWith(REPO + sep) ? mp + v.slice(REPO.length) : v);
        env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === undefined ? v : moved(v)]));
        // Still root here, inside the process's own mount namespace; then the same exec chain as without it.
        command = ['sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'ferry-e2e-run-as', REPO, mp, ...setpriv, ...command.map(moved)];
      }
    }
    const proc = spawn('ip', ['netns', 'exec', ns, ...command], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      // A private cwd (the repository, say) would be out of reach after setpriv.
      cwd: opts.uid === undefined ? undefined : '/',
    });
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const p: NsProcess = {
      name,
      proc,
      log: () => out,
      waitForLine: (re, timeoutMs = 20_000) =>
        waitFor(`${name}: ${re}`, () => {
          const m = re.exec(out);
          if (m) return m;
          if (proc.exitCode !== null || proc.signalCode !== null) {
            throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}):\n${out.slice(-4000)}`);
          }
          return null;
        }, timeoutMs).catch((err: Error) => {
          throw new Error(`${err.message}\n--- ${name} output ---\n${out.slice(-4000)}`);
        }),
    };
    this.procs.push(p);
    return p;
  }

  /** Runs `argv` in `ns` to completion (asynchronously, bounded by `timeoutMs`). */
  run(ns: string, argv: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
    return new Promise((done) => {
      const proc = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const timer = setTimeout(() => {
        if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
      }, timeoutMs);
      proc.once('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
    });
  }

  /** What to print when a step fails: the pods' nat rules and every process's recent output. */
  diagnostics(pods: readonly string[]): string {
    const parts: string[] = [];
    for (const ns of pods) {
      const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
      parts.push(`--- iptables-save -t nat in ${ns} (exit ${r.status}) ---\n${r.stdout}${r.stderr}`);
    }
    for (const p of this.procs) parts.push(`--- ${p.name} (pid ${p.proc.pid}, exit ${p.proc.exitCode ?? p.proc.signalCode ?? 'running'}) ---\n${p.log().slice(-3000)}`);
    return parts.join('\n');
  }

  /** Kills every process by pid (SIGTERM, then SIGKILL), then deletes every namespace and owned folder; safe to call twice. */
  async cleanup(): Promise<void> {
    const running = this.procs.filter((p) => p.proc.exitCode === null && p.proc.signalCode === null && p.proc.pid !== undefined);
    const exits = running.map((p) => new Promise<void>((r) => p.proc.once('exit', () => r())));
    for (const p of running) {
      try {
        process.kill(p.proc.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const grace = sleep(1_500).then(() => 'timeout' as const);
    if ((await Promise.race([Promise.all(exits).then(() => 'done' as const), grace])) === 'timeout') {
      for (const p of running) {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) continue;
        try {
          process.kill(p.proc.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await Promise.race([Promise.all(exits), sleep(2_000)]);
    }
    this.killSync();
    this.disarm();
  }

  /**
   * Until cleanup() has run, a test process that exits or is interrupted (SIGINT, SIGTERM) still
   * kills the lab's processes and deletes its namespaces, synchronously, on its way out.
   */
  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    process.once('exit', this.lastResort);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  private disarm(): void {
    if (!this.armed) return;
    this.armed = false;
    process.removeListener('exit', this.lastResort);
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }

  /** SIGKILLs whatever still runs, deletes every namespace (with its veths, bridge and rules) and owned folder; forgets them. */
  private killSync(): void {
    for (const p of this.procs.splice(0)) {
      if (p.proc.exitCode !== null || p.proc.signalCode !== null || p.proc.pid === undefined) continue;
      try {
        process.kill(p.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const ns of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    for (const mp of this.mountPoints.splice(0)) {
      try {
        rmdirSync(mp);
      } catch {
        // not empty (a mount seen here after all): leave it rather than delete through it
      }
    }
    this.runAs.clear();
  }
}

/** Sums the samples of `name` whose labels include every pair in `labels` (Prometheus text format). */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
