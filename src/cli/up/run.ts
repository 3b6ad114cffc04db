// One `ferry up` run: the controller with its CA, every pod (injected or not) as processes, probes feeding the registry, and teardown.
//
// The run folder holds everything: `registry/` (what the controller watches), `logs/<pod>.<container>.log`,
// `pods/` (each pod's volumes: token, CA root, data dir), `pki/`, `state.json` (for tools: every pod,
// its IP, its sidecar's ports and log files) and `record.json` (what to undo; see src/os/run-record.ts).

import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { Clock } from '../../clock/clock';
import { certsIntermediateCommand, certsRootCommand } from '../../../certs/commands';
import { mintBootstrapToken } from '../../controller/ca/bootstrap-token';
import { FerryError } from '../../errors';
import { DEFAULT_TRUST_DOMAIN, ENV_APP_PROBES, LABEL_INJECT, INJECT_ENABLED, PORT_HEALTH, PORT_METRICS, PROXY_UID } from '../../mesh/constants';
import { ManagedProcess } from '../../os/processes';
import { NetworkNamespaces, nsExec, routedPrefixes } from '../../os/netns';
import { RunRecord } from '../../os/run-record';
import type { InjectOptions, Probe } from '../../../webhook/types';
import { bindAddresses, freePort, netnsAddresses, type RunAddresses } from './addresses';
import { podRun, remapMounts, type ContainerRun, type PodRun } from './injected-pod';
import type { Manifests } from './manifests';
import { nextRestart } from './restart-backoff';
import { addressRange, assignClusterIps, podEndpointSlices, registryMeshObjects, registryPod, serviceEnv } from './plan';
import { ProbeLoop, StartupGate } from './probes';
import type { PodTemplate } from './workload';

/** The repository root, from dist/src/cli/up. */
const REPO = resolve(__dirname, '..', '..', '..', '..');
const FERRY = join(REPO, 'bin', 'ferry');
const NODE = process.execPath;
const TOKEN_TTL_MS = 24 * 3600 * 1000;

export type Mode = 'netns' | 'bind';

export interface RunOptions {
  readonly manifests: Manifests;
  readonly mode: Mode;
  readonly stateDir: string;
  readonly readyTimeoutMs: number;
  readonly clock: Clock;
  readonly out: (line: string) => void;
  /** The sidecars' access-log lines: Envoy's default text (default) or JSON. */
  readonly accessLogFormat?: 'text' | 'json';
  /** Lifetime of workload certificates (the controller's --workload-ttl-seconds); null: the CA's default. */
  readonly certTtlSeconds?: number | null;
}

interface Container {
  readonly run: ContainerRun;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly uid?: number;
  readonly logFile: string;
  proc: ManagedProcess | null;
  restarts: number;
  /** The restart back-off's step (restart-backoff.ts) and when the running process started (clock ms). */
  backoff?: number;
  startedAt?: number;
  cwd?: string;
  /** Its readiness and liveness probes, started over when it restarts. */
  probes?: ProbeLoop[];
}

interface RunningPod {
  readonly template: PodTemplate;
  readonly ns: string | null;
  readonly ip: string;
  readonly dir: string;
  readonly run: PodRun;
  /** Workload port → where the app really listens (bind mode moves them; else the same). */
  readonly appPorts: Map<number, number>;
  readonly containers: Container[];
  readonly probes: ProbeLoop[];
  /** Container name → readiness. */
  readonly ready: Map<string, boolean>;
  sidecarAdmin: number | null;
  startedAt: number;
  readyAt: number | null;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function writeAtomic(file: string, text: string): void {
  const tmp = join(resolve(file, '..'), `.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A failure to start, naming the workload and where its log is. */
export class StartError extends FerryError {
  constructor(what: string, detail: string, logFile: string | null, tail = '') {
    super('FERRY_ERR_UP_START', `${what}: ${detail}${logFile ? `; log: ${logFile}` : ''}${tail ? `\n--- last lines of ${logFile} ---\n${tail.trimEnd()}` : ''}`);
  }
}

export class UpRun {
  readonly dir: string;
  readonly record: RunRecord;
  private readonly addresses: RunAddresses;
  private readonly net: NetworkNamespaces;
  private readonly pods: RunningPod[] = [];
  private controller: ManagedProcess | null = null;
  private outbound: Container | null = null;
  private controllerPorts: { xds: number; admin: number } | null = null;
  private clusterIps = new Map<string, string>();
  private tokenKey: Buffer = randomBytes(32);
  private rootPem = '';
  /** Every pod's copy of the mesh root (what its sidecar bootstraps with), kept equal to the CA's bundle. */
  private readonly rootFiles: string[] = [];
  private rootTimer: ReturnType<Clock['setTimeout']> | null = null;
  private stopping = false;
  private readonly bridge: string;
  private readonly lastResort = (): void => this.record.removeAll();

  constructor(private readonly o: RunOptions) {
    mkdirSync(o.stateDir, { recursive: true, mode: 0o711 });
    chmodSync(o.stateDir, 0o711);
    this.dir = mkdtempSync(join(o.stateDir, 'run-'));
    chmodSync(this.dir, 0o711); // the proxies (UID 1337) reach their own pod folder, nothing else
    this.record = new RunRecord(this.dir);
    process.once('exit', this.lastResort);
    for (const d of ['logs', 'registry', 'pods']) mkdirSync(join(this.dir, d), { mode: 0o755 });
    const others = this.otherRunsN();
    this.addresses = o.mode === 'netns'
      ? netnsAddresses(routedPrefixes(), (n) => others.has(n) || existsSync(`/sys/class/net/ferry-up${n}`))
      : bindAddresses((n) => others.has(n));
    this.bridge = `ferry-up${this.addresses.n}`;
    this.net = new NetworkNamespaces(this.record);
    this.writeState();
  }

  /** The address index other live runs under the state folder use (from their state.json). */
  private otherRunsN(): Set<number> {
    const out = new Set<number>();
    for (const e of readdirSync(this.o.stateDir)) {
      const f = join(this.o.stateDir, e, 'state.json');
      if (!existsSync(join(this.o.stateDir, e, 'record.json')) || !existsSync(f)) continue;
      try {
        out.add((JSON.parse(readFileSync(f, 'utf8')) as { addressIndex: number }).addressIndex);
      } catch {
        // a run writing its state right now
      }
    }
    return out;
  }

  private async step<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = this.o.clock.now();
    try {
      const v = await fn();
      this.o.out(`  ✓ ${what} (${seconds(this.o.clock.now() - t0)})`);
      return v;
    } catch (err) {
      this.o.out(`  ✗ ${what} (${seconds(this.o.clock.now() - t0)})`);
      throw err;
    }
  }

  /** Brings the mesh up; throws StartError (after which `stop()` still undoes everything). */
  async start(): Promise<void> {
    const { manifests } = this.o;
    const vips = addressRange(this.addresses.firstVip, 240);
    this.clusterIps = assignClusterIps(manifests.services, vips);
    await this.step('mesh CA (root, issuing CA, token key)', () => this.createCa());
    if (this.o.mode === 'netns') await this.step(`bridge ${this.bridge} ${this.addresses.gateway}/24`, () => this.net.addBridge(this.bridge, this.addresses.gateway, 24));
    const podIps = addressRange(this.addresses.firstPod, manifests.pods.length);
    this.writeRegistry();
    await this.step('controller (CA, STRICT mTLS)', () => this.startController());
    if (this.o.mode === 'bind') await this.step('outbound proxy (owns the service addresses in bind mode)', () => this.startOutbound());
    const injectOptions: InjectOptions = {
      image: 'ferry/ferry:0.1.0',
      controllerAddress: `${this.controllerHost()}:${this.controllerPorts!.xds}`,
      trustDomain: DEFAULT_TRUST_DOMAIN,
      kubernetesMinor: 30,
      caRootPem: this.rootPem,
      drainSeconds: 1,
    };
    for (const [i, template] of manifests.pods.entries()) {
      const labels = manifests.namespaces.get(template.pod.metadata.namespace) ?? {};
      const pod = await this.preparePod(template, i, podIps[i], { ...injectOptions, namespaceInjection: labels[LABEL_INJECT] === INJECT_ENABLED });
      const m = pod.template.pod.metadata;
      const how = pod.run.skipped ? `unmeshed: ${pod.run.skipped}` : 'injected';
      await this.step(`pod ${m.namespace}/${m.name} ${pod.ip} (${how}) started`, () => this.startPod(pod));
    }
    this.writeRegistry();
    await this.waitReady();
    this.writeState();
    this.followTrustBundle();
  }

  /**
   * A root rotation (\`ferry certs rotate-root\`) edits pki/ca/root-cert.pem: every pod's root file
   * follows within a second, so a sidecar that starts or restarts mid-rotation can still verify the
   * controller, whose certificate may already be under the new root.
   */
  private followTrustBundle(): void {
    if (this.stopping) return;
    this.rootTimer = this.o.clock.setTimeout(() => {
      try {
        const pem = readFileSync(join(this.dir, 'pki', 'ca', 'root-cert.pem'), 'utf8');
        if (pem !== this.rootPem && pem.includes('-----BEGIN CERTIFICATE-----')) {
          for (const f of this.rootFiles) writeAtomic(f, pem);
          this.rootPem = pem;
        }
      } catch {
        // mid-write, or the run is stopping: the next look sees it
      }
      this.followTrustBundle();
    }, 1000);
  }

  private controllerHost(): string {
    return this.o.mode === 'netns' ? this.addresses.gateway : '127.0.0.1';
  }

  private async createCa(): Promise<void> {
    const pki = join(this.dir, 'pki');
    mkdirSync(pki, { mode: 0o700 });
    await certsRootCommand({ outDir: join(pki, 'root') });
    await certsIntermediateCommand({ rootDir: join(pki, 'root'), outDir: join(pki, 'ca') });
    writeFileSync(join(pki, 'token.key'), `${this.tokenKey.toString('base64')}\n`, { mode: 0o600 });
    this.rootPem = readFileSync(join(pki, 'ca', 'root-cert.pem'), 'utf8');
  }

  private logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  /** Waits for `re` in a log file, failing early if `proc` exits. */
  private async waitForLog(proc: ManagedProcess, file: string, re: RegExp, what: string, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const end = this.o.clock.now() + timeoutMs;
    for (;;) {
      const m = re.exec(existsSync(file) ? readFileSync(file, 'utf8') : '');
      if (m) return m;
      if (proc.exitStatus) throw new StartError(what, `exited (${proc.exitStatus.code ?? proc.exitStatus.signal})`, file, proc.tail());
      if (this.o.clock.now() > end) throw new StartError(what, `not started after ${seconds(timeoutMs)}`, file, proc.tail());
      await new Promise<void>((r) => this.o.clock.setTimeout(r, 100));
    }
  }

  private async startController(): Promise<void> {
    const pki = join(this.dir, 'pki');
    const file = this.logFile('ferry-system.controller');
    const args = [
      'controller',
      '--registry', `file:${join(this.dir, 'registry')}`,
      '--ca-dir', join(pki, 'ca'),
      '--token-key', join(pki, 'token.key'),
      '--mtls-mode', 'STRICT',
      '--xds-address', `${this.controllerHost()}:0`,
      '--admin-address', '127.0.0.1:0',
      '--service-cidr', this.addresses.serviceCidr,
      '--log-level', 'warn',
      // Every sidecar writes an access-log line per request and connection to its stdout: its log file.
      '--access-log', 'stdout',
      '--access-log-format', this.o.accessLogFormat ?? 'text',
      // Scraping on: `ferry stat` and the dashboard printed in the ready line read /api/stats.
      '--stats-interval', '5',
      ...(this.o.mode === 'bind' ? ['--outbound-mode', 'bind'] : []),
      ...(this.o.certTtlSeconds ? ['--workload-ttl-seconds', String(this.o.certTtlSeconds)] : []),
    ];
    this.controller = new ManagedProcess('controller', [NODE, FERRY, ...args], { env: { ...process.env }, logFile: file }, this.record);
    const m = await this.waitForLog(this.controller, file, /xDS on (\d+).*admin on (\d+)/, 'the controller');
    this.controllerPorts = { xds: Number(m[1]), admin: Number(m[2]) };
  }

  private token(namespace: string, serviceAccount: string): string {
    return mintBootstrapToken(this.tokenKey, { namespace, serviceAccount }, this.o.clock.wallNow(), TOKEN_TTL_MS);
  }

  /** Bind mode: one proxy binds every service VIP (a socket address has one owner); pods' sidecars serve only their inbound ports. */
  private async startOutbound(): Promise<void> {
    const dir = join(this.dir, 'pods', 'ferry-system.ferry-outbound');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'root-cert.pem'), this.rootPem);
    this.rootFiles.push(join(dir, 'root-cert.pem'));
    writeFileSync(join(dir, 'token'), this.token('ferry-system', 'ferry-outbound'), { mode: 0o600 });
    const c: Container = {
      run: { name: 'ferry-proxy', argv: [], env: {}, ports: [] },
      argv: [NODE, FERRY, 'proxy', '--admin-port', '0', '--health-port', '0', '--health-host', '127.0.0.1', '--stats-address', `127.0.${this.addresses.n}.2:${PORT_METRICS}`, '--drain-time-s', '1'],
      env: {
        ...process.env,
        FERRY_POD_NAME: 'ferry-outbound',
        FERRY_POD_NAMESPACE: 'ferry-system',
        FERRY_SERVICE_ACCOUNT: 'ferry-outbound',
        FERRY_POD_IP: '127.0.0.1',
        FERRY_POD_LABELS: 'app=ferry-outbound',
        FERRY_CONTROLLER_ADDRESS: `127.0.0.1:${this.controllerPorts!.xds}`,
        FERRY_CA_ROOT_FILE: join(dir, 'root-cert.pem'),
        FERRY_TOKEN_FILE: join(dir, 'token'),
      } as Record<string, string>,
      logFile: this.logFile('ferry-system.ferry-outbound.ferry-proxy'),
      proc: null,
      restarts: 0,
    };
    this.outbound = c;
    c.proc = new ManagedProcess('ferry-outbound', c.argv, { env: c.env, logFile: c.logFile }, this.record);
    await this.waitForLog(c.proc, c.logFile, /ferry proxy: LIVE/, 'the outbound proxy ferry-system/ferry-outbound');
  }

  private async preparePod(template: PodTemplate, index: number, ip: string, options: InjectOptions): Promise<RunningPod> {
    const m = template.pod.metadata;
    const run = podRun(template, options, { ip, nodeName: 'ferry-up' }, serviceEnv(this.o.manifests.services, this.clusterIps, m.namespace));
    const dir = join(this.dir, 'pods', `${m.namespace}.${m.name}`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const appPorts = new Map<number, number>();
    for (const c of run.apps) {
      for (const p of c.ports) if (p.containerPort) appPorts.set(p.containerPort, this.o.mode === 'bind' ? await freePort('127.0.0.1') : p.containerPort);
    }
    const ns = this.o.mode === 'netns' ? `ferry-up-${this.addresses.n}-${index}` : null;
    const pod: RunningPod = { template, ns, ip, dir, run, appPorts, containers: [], probes: [], ready: new Map(), sidecarAdmin: null, startedAt: this.o.clock.now(), readyAt: null };
    this.pods.push(pod);
    return pod;
  }

  /** Bind mode: an app is told its moved port wherever its env says the workload port (e.g. PORT=8080). */
  private movePorts(env: Record<string, string>, pod: RunningPod): Record<string, string> {
    if (this.o.mode !== 'bind') return env;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      const moved = /^\d+$/.test(v) ? pod.appPorts.get(Number(v)) : undefined;
      out[k] = moved !== undefined && !k.endsWith('_SERVICE_PORT') && !k.includes('_SERVICE_PORT_') ? String(moved) : v;
    }
    return out;
  }

  private materialiseVolumes(pod: RunningPod): (volume: string) => string {
    const m = pod.template.pod.metadata;
    const dirOf = (volume: string): string => join(pod.dir, 'volumes', volume);
    for (const v of pod.run.volumes) {
      mkdirSync(dirOf(v.volume), { recursive: true, mode: 0o755 });
      if (v.kind === 'dir') chownSync(dirOf(v.volume), PROXY_UID, PROXY_UID);
      if (v.kind === 'file') {
        writeFileSync(join(dirOf(v.volume), v.file), v.text, { mode: 0o644 });
        if (v.text === this.rootPem) this.rootFiles.push(join(dirOf(v.volume), v.file));
      }
      if (v.kind === 'token') {
        const f = join(dirOf(v.volume), v.file);
        writeFileSync(f, this.token(m.namespace, String(pod.run.pod.spec?.serviceAccountName ?? 'default')), { mode: 0o600 });
        chownSync(f, PROXY_UID, PROXY_UID);
      }
    }
    return dirOf;
  }

  private async startPod(pod: RunningPod): Promise<void> {
    const m = pod.template.pod.metadata;
    const id = `${m.namespace}.${m.name}`;
    if (pod.ns) this.net.addPod(pod.ns, { bridge: this.bridge, hostSide: `fu${this.addresses.n}-${this.pods.indexOf(pod)}`, ip: pod.ip, prefixLen: 24, gateway: this.addresses.gateway });
    const runAsProxy = this.o.mode === 'netns' ? PROXY_UID : undefined;
    if (pod.run.sidecar) {
      const dirOf = this.materialiseVolumes(pod);
      if (pod.run.init && pod.ns) {
        const log = this.logFile(`${id}.ferry-init`);
        try {
          writeFileSync(log, nsExec(pod.ns, NODE, [FERRY, 'init', ...pod.run.init]));
        } catch (err) {
          writeFileSync(log, String(err));
          throw new StartError(`pod ${m.namespace}/${m.name}: ferry-init`, 'capture rules failed', log, String(err));
        }
      }
      const s = pod.run.sidecar;
      let env = remapMounts(s.env, pod.run.mounts, dirOf);
      const extra: string[] = [];
      const labels = { ...m.labels };
      if (this.o.mode === 'bind') {
        // Every pod shares the host's ports: admin anywhere free, health and metrics at the pod's own address.
        extra.push('--admin-port', '0', '--health-host', pod.ip, '--stats-address', `${pod.ip}:${PORT_METRICS}`);
        labels['ferry.io/bind-outbound'] = 'false';
        env = { ...env, FERRY_APP_PORTS: [...pod.appPorts].map(([p, l]) => `${p}:${l}`).join(',') };
        if (env[ENV_APP_PROBES]) env[ENV_APP_PROBES] = this.moveProbePorts(env[ENV_APP_PROBES], pod);
      }
      env.FERRY_POD_LABELS = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
      const c = this.container(pod, s, [NODE, FERRY, ...s.argv, ...extra], { ...process.env, ...env } as Record<string, string>, runAsProxy);
      this.spawn(pod, c);
      const live = await this.waitForLog(c.proc!, c.logFile, /ferry proxy: LIVE as \S+ \(admin [^:]+:(\d+)/, `pod ${m.namespace}/${m.name}: ferry-proxy`);
      pod.sidecarAdmin = Number(live[1]);
    }
    for (const a of pod.run.apps) {
      const env = this.movePorts({ PATH: `${dirname(NODE)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: process.env.HOME ?? '/root', ...a.env }, pod);
      const argv = a.argv.map((x) => (x === 'node' ? NODE : x));
      const c = this.container(pod, a, argv, env, undefined);
      this.spawn(pod, c, resolve(pod.template.sourceDir ?? process.cwd(), a.workingDir ?? '.'));
    }
    for (const c of pod.containers) this.watchProbes(pod, c);
  }

  private moveProbePorts(json: string, pod: RunningPod): string {
    const probes = JSON.parse(json) as Record<string, Record<string, { port?: number }>>;
    for (const p of Object.values(probes)) {
      for (const action of Object.values(p)) {
        if (typeof action === 'object' && action !== null && typeof action.port === 'number') action.port = pod.appPorts.get(action.port) ?? action.port;
      }
    }
    return JSON.stringify(probes);
  }

  private container(pod: RunningPod, run: ContainerRun, argv: string[], env: Record<string, string>, uid: number | undefined): Container {
    const m = pod.template.pod.metadata;
    const c: Container = { run, argv, env, uid, logFile: this.logFile(`${m.namespace}.${m.name}.${run.name}`), proc: null, restarts: 0 };
    pod.containers.push(c);
    return c;
  }

  private spawn(pod: RunningPod, c: Container, cwd?: string): void {
    const m = pod.template.pod.metadata;
    if (!c.argv[0]) throw new StartError(`pod ${m.namespace}/${m.name}: container ${c.run.name}`, 'no command', null);
    if (cwd) c.cwd = cwd;
    if (cwd) c.cwd = cwd;
    c.startedAt = this.o.clock.now();
    c.proc = new ManagedProcess(`${m.namespace}/${m.name}/${c.run.name}`, c.argv, { netns: pod.ns ?? undefined, uid: c.uid, env: c.env, cwd: c.uid === undefined ? (cwd ?? c.cwd) : '/', logFile: c.logFile }, this.record);
    void c.proc.exited.then((exit) => this.onExit(pod, c, exit));
  }

  /** restartPolicy Always, with back-off (1 s doubling to 30 s, reset after 10 minutes' run); the pod is unready meanwhile. */
  private onExit(pod: RunningPod, c: Container, exit: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.stopping) return;
    const m = pod.template.pod.metadata;
    c.restarts++;
    const next = nextRestart(c.backoff ?? 0, this.o.clock.now() - (c.startedAt ?? this.o.clock.now()));
    c.backoff = next.step;
    const delay = next.delayMs;
    this.o.out(`  ✗ pod ${m.namespace}/${m.name}: ${c.run.name} exited (${exit.code ?? exit.signal}); restart ${c.restarts} in ${seconds(delay)}; log: ${c.logFile}`);
    this.setReady(pod, c.run.name, false);
    // The restarted container is ready only once its readiness probe passes again: a probe that never
    // saw the old process fail (a restart quicker than failureThreshold periods) would otherwise never
    // report the change, and the container would stay unready.
    for (const l of c.probes ?? []) l.restart();
    // setReady saw the pod unready already (its container has exited), so it wrote nothing: state.json
    // must say so now, or a tool waiting for the restarted container to be ready reads the old `ready`.
    // (The registry keeps the endpoint as it was: a pod once ready stays an endpoint, see writeRegistry.)
    this.writeState();
    this.o.clock.setTimeout(() => {
      if (!this.stopping) this.spawn(pod, c);
    }, delay);
  }

  private watchProbes(pod: RunningPod, c: Container): void {
    const resolvePort = (p: number | string | undefined): number | null => {
      const n = typeof p === 'number' ? p : c.run.ports.find((x) => x.name === p)?.containerPort ?? (p !== undefined && /^\d+$/.test(p) ? Number(p) : null);
      if (n === null || n === undefined) return null;
      // Probes of an unmeshed bind-mode app follow its moved port; the sidecar's own ports never move.
      return n === PORT_HEALTH ? n : pod.appPorts.get(n) ?? n;
    };
    const readiness: Probe | undefined = c.run.readinessProbe;
    const restart = (why: string): void => {
      if (c.proc && !c.proc.exitStatus) {
        this.o.out(`  ✗ pod ${pod.template.pod.metadata.namespace}/${pod.template.pod.metadata.name}: ${c.run.name} failed its ${why} probe; restarting`);
        void c.proc.stop(this.o.clock, 2000);
      }
    };
    // Not ready until its readiness probe passes, or (without one) until its startup probe has.
    pod.ready.set(c.run.name, readiness === undefined && c.run.startupProbe === undefined);
    const mainProbes = (): void => {
      const loops: ProbeLoop[] = [];
      if (readiness) loops.push(new ProbeLoop(readiness, pod.ip, resolvePort, this.o.clock, false, (ok) => this.setReady(pod, c.run.name, ok)));
      else this.setReady(pod, c.run.name, true);
      if (c.run.livenessProbe) loops.push(new ProbeLoop(c.run.livenessProbe, pod.ip, resolvePort, this.o.clock, true, (ok) => { if (!ok) restart('liveness'); }));
      pod.probes.push(...loops);
      c.probes = loops;
    };
    const startup = c.run.startupProbe;
    if (startup === undefined) return mainProbes();
    // The kubelet's startupProbe: readiness and liveness wait for its first success; its failures restart the container.
    const gate = new StartupGate(startup.failureThreshold ?? 3);
    const loop: ProbeLoop = new ProbeLoop(startup, pod.ip, resolvePort, this.o.clock, false, () => undefined, (ok) => {
      const verdict = gate.record(ok);
      if (verdict === 'restart') restart('startup');
      else if (verdict === 'started') {
        loop.stop();
        if (!this.stopping) mainProbes();
      }
    });
    pod.probes.push(loop);
  }

  private podReady(pod: RunningPod): boolean {
    return [...pod.ready.values()].every(Boolean) && pod.containers.every((c) => c.proc !== null && c.proc.exitStatus === null);
  }

  private setReady(pod: RunningPod, container: string, ok: boolean): void {
    const before = this.podReady(pod);
    pod.ready.set(container, ok);
    if (this.podReady(pod) !== before && !this.stopping) {
      this.writeRegistry();
      this.writeState();
    }
  }

  private async waitReady(): Promise<void> {
    const end = this.o.clock.now() + this.o.readyTimeoutMs;
    const reported = new Set<RunningPod>();
    for (;;) {
      for (const pod of this.pods) {
        const m = pod.template.pod.metadata;
        const crashed = pod.containers.find((c) => c.restarts > 0 && pod.readyAt === null);
        if (crashed) throw new StartError(`pod ${m.namespace}/${m.name}: container ${crashed.run.name}`, 'exited during start-up', crashed.logFile, crashed.proc?.tail() ?? '');
        if (!reported.has(pod) && this.podReady(pod)) {
          reported.add(pod);
          pod.readyAt = this.o.clock.now();
          this.o.out(`  ✓ pod ${m.namespace}/${m.name} ready (${seconds(pod.readyAt - pod.startedAt)})`);
        }
      }
      if (reported.size === this.pods.length) return;
      if (this.o.clock.now() > end) {
        const pod = this.pods.find((p) => !reported.has(p))!;
        const m = pod.template.pod.metadata;
        const waiting = [...pod.ready].filter(([, ok]) => !ok).map(([n]) => n);
        const c = pod.containers.find((x) => x.run.name === waiting[0]) ?? pod.containers[0];
        throw new StartError(`pod ${m.namespace}/${m.name} (${pod.template.workload})`, `not ready after ${seconds(this.o.readyTimeoutMs)} (readiness failing: ${waiting.join(', ') || 'none'})`, c?.logFile ?? null, c?.proc?.tail() ?? '');
      }
      await new Promise<void>((r) => this.o.clock.setTimeout(r, 100));
    }
  }

  private writeRegistry(): void {
    const objects = [
      ...registryMeshObjects(this.o.manifests, this.clusterIps),
      ...this.pods.map((p) => registryPod({ template: p.template, ip: p.ip, endpointPort: (n) => n, ready: false })),
      ...this.pods.flatMap((p) =>
        podEndpointSlices(this.o.manifests.services, {
          template: p.template,
          ip: p.ip,
          // A meshed bind-mode pod's sidecar holds the workload port at its address; an unmeshed app is at its moved port.
          endpointPort: (n) => (this.o.mode === 'bind' && p.run.skipped ? p.appPorts.get(n) ?? n : n),
          ready: p.readyAt !== null || this.podReady(p),
        }),
      ),
    ];
    writeAtomic(join(this.dir, 'registry', 'mesh.json'), `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 1)}\n`);
  }

  /** The machine-readable state other tools read (ferry stat, the dashboard, access logs). */
  writeState(): void {
    const state = {
      pid: process.pid,
      mode: this.o.mode,
      addressIndex: this.addresses.n,
      dir: this.dir,
      controller: this.controllerPorts ? { xds: `${this.controllerHost()}:${this.controllerPorts.xds}`, admin: `127.0.0.1:${this.controllerPorts.admin}`, log: this.logFile('ferry-system.controller') } : null,
      outbound: this.outbound ? { stats: `127.0.${this.addresses.n}.2:${PORT_METRICS}`, log: this.outbound.logFile } : null,
      services: this.o.manifests.services.map((s) => ({ namespace: s.namespace, name: s.name, clusterIP: this.clusterIps.get(`${s.namespace}/${s.name}`) ?? null, ports: s.ports.map((p) => p.port) })),
      pods: this.pods.map((p) => ({
        namespace: p.template.pod.metadata.namespace,
        name: p.template.pod.metadata.name,
        workload: p.template.workload,
        labels: p.template.pod.metadata.labels,
        serviceAccount: String(p.template.pod.spec?.serviceAccountName ?? 'default'),
        ip: p.ip,
        netns: p.ns,
        meshed: p.run.skipped === null,
        notMeshedBecause: p.run.skipped,
        ready: this.podReady(p),
        sidecar: p.run.sidecar
          ? { admin: p.sidecarAdmin === null ? null : `127.0.0.1:${p.sidecarAdmin}`, adminInNetns: p.ns !== null, stats: `${p.ip}:${PORT_METRICS}`, health: `${p.ip}:${PORT_HEALTH}` }
          : null,
        appPorts: Object.fromEntries(p.appPorts),
        logs: Object.fromEntries(p.containers.map((c) => [c.run.name, c.logFile])),
      })),
    };
    writeAtomic(join(this.dir, 'state.json'), `${JSON.stringify(state, null, 1)}\n`);
  }

  /** The controller's dashboard (its admin port, where it also serves /api/stats); null before the controller runs. */
  get dashboardUrl(): string | null {
    return this.controllerPorts ? `http://127.0.0.1:${this.controllerPorts.admin}/` : null;
  }

  get podCount(): { total: number; meshed: number } {
    return { total: this.pods.length, meshed: this.pods.filter((p) => p.run.skipped === null).length };
  }

  /** Stops every process (apps first, then sidecars, then the controller), removes namespaces, links and secrets; keeps the logs. */
  async stop(): Promise<string> {
    this.stopping = true;
    this.o.clock.clearTimeout(this.rootTimer);
    for (const p of this.pods) for (const l of p.probes) l.stop();
    const apps = this.pods.flatMap((p) => p.containers.filter((c) => c.run.name !== 'ferry-proxy'));
    await Promise.all(apps.map((c) => c.proc?.stop(this.o.clock, 2000)));
    const proxies = [...this.pods.flatMap((p) => p.containers.filter((c) => c.run.name === 'ferry-proxy')), ...(this.outbound ? [this.outbound] : [])];
    await Promise.all(proxies.map((c) => c.proc?.stop(this.o.clock, 3000)));
    await this.controller?.stop(this.o.clock, 2000);
    const namespaces = this.record.namespaces.length;
    this.record.removeAll();
    process.removeListener('exit', this.lastResort);
    rmSync(join(this.dir, 'pki'), { recursive: true, force: true });
    rmSync(join(this.dir, 'pods'), { recursive: true, force: true });
    return `${this.pods.length} pods, ${namespaces} network namespaces${this.o.mode === 'netns' ? `, bridge ${this.bridge}` : ''}`;
  }
}

/** Whether the bridge and namespaces of the netns mode can be made here, or why not. */
export function netnsUnavailable(hasTool: (t: string) => boolean, addonBuilt: boolean): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const missing = ['ip', 'iptables', 'iptables-restore', 'setpriv'].filter((t) => !hasTool(t));
  if (missing.length) return `missing ${missing.join(', ')}`;
  if (!addonBuilt) return 'the SO_ORIGINAL_DST addon is not built (make build)';
  return null;
}

