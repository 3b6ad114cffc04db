// Test support for local-mesh tests: `ferry controller` and `ferry proxy` as child processes on
// loopback, a registry folder written atomically, HTTP load loops, and JSON from admin servers.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

/** The `ferry` launcher (from dist/test/e2e-local back to the repository). */
export const FERRY = resolve(__dirname, '..', '..', '..', 'bin', 'ferry');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | null | false> | T | null | false, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v: T | null | false = null;
    try {
      v = await probe();
    } catch {
      v = null;
    }
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A temporary folder removed when the test ends. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Replaces a file in one step (write a hidden temp file, rename), as editors do: the watcher never sees half a file. */
export function writeAtomic(file: string, text: string): void {
  const tmp = join(resolve(file, '..'), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A random service VIP in 127.10.0.0/16 and a port free at that address (test files run in parallel). */
export async function freeVip(): Promise<{ ip: string; port: number }> {
  for (;;) {
    const ip = `127.10.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    const port = await freePort(ip).catch(() => 0);
    if (port) return { ip, port };
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.listen(0, host, () => r());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Child {
  readonly proc: ChildProcess;
  /** stdout and stderr so far. */
  log(): string;
  /** SIGTERM by pid, SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    log: () => out,
    stop: async (graceMs = 2_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for a line matching `re` on the child's output (or its exit, which fails). */
async function waitForLine(child: Child, re: RegExp, what: string, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return waitFor(what, () => {
    const m = re.exec(child.log());
    if (m) return m;
    if (child.proc.exitCode !== null) throw new Error(`${what}: exited with ${child.proc.exitCode}:\n${child.log()}`);
    return null;
  }, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}\n--- output ---\n${child.log().slice(-4000)}`);
  });
}

export interface ControllerPorts {
  readonly xds: number;
  readonly plaintextXds: number | null;
  readonly admin: number;
}

export interface ControllerChild extends Child {
  readonly ports: ControllerPorts;
}

/**
 * `ferry controller --registry file:DIR --insecure-xds --outbound-mode bind` on loopback. Ports
 * default to 0 (the bound ones are read from its first line); pass them again to restart in place.
 */
export async function startController(
  t: TestContext,
  registry: string,
  opts: { xds?: number; plaintextXds?: number | null; admin?: number; args?: string[] } = {},
): Promise<ControllerChild> {
  const args = [
    'controller',
    '--registry',
    `file:${registry}`,
    '--insecure-xds',
    '--outbound-mode',
    'bind',
    '--xds-address',
    `127.0.0.1:${opts.xds ?? 0}`,
    '--admin-address',
    `127.0.0.1:${opts.admin ?? 0}`,
    ...(opts.plaintextXds !== undefined && opts.plaintextXds !== null ? ['--plaintext-xds-address', `127.0.0.1:${opts.plaintextXds}`] : []),
    ...(opts.args ?? []),
  ];
  const child = spawnChild(args);
  t.after(() => child.stop(500));
  const m = await waitForLine(child, /xDS on (\d+)(?:, plaintext xDS on (\d+))?, admin on (\d+)/, 'the controller to start');
  return { ...child, ports: { xds: Number(m[1]), plaintextXds: m[2] ? Number(m[2]) : null, admin: Number(m[3]) } };
}

export interface SidecarChild extends Child {
  readonly id: string;
  readonly adminPort: number;
}

/** An Envoy v3 bootstrap with ADS to the controller (what an injector would write for a local pod). */
export function adsBootstrap(id: string, xdsPort: number, metadata: Record<string, string>): Record<string, unknown> {
  return {
    node: { id, cluster: metadata.POD_NAME ?? id, metadata },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds',
          type: 'STATIC',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: xdsPort } } } }] }] },
        },
      ],
    },
  };
}

/** `ferry proxy --config BOOTSTRAP` for one pod; resolves once it reports LIVE (it has its first listeners). */
export async function startSidecar(t: TestContext, dir: string, xdsPort: number, pod: { name: string; namespace: string; ip: string; appPorts?: string; bindOutbound?: boolean }): Promise<SidecarChild> {
  const id = `sidecar~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`;
  const metadata: Record<string, string> = { NAMESPACE: pod.namespace, POD_NAME: pod.name, POD_IP: pod.ip };
  if (pod.appPorts) metadata.APP_PORTS = pod.appPorts;
  if (pod.bindOutbound === false) metadata.BIND_OUTBOUND = 'false';
  const file = join(dir, `${pod.name}.bootstrap.json`);
  writeFileSync(file, JSON.stringify(adsBootstrap(id, xdsPort, metadata), null, 1));
  const child = spawnChild(['proxy', '--config', file, '--admin-address', '127.0.0.1:0', '--drain-time-s', '1', '--log-level', 'warn']);
  t.after(() => child.stop(500));
  const m = await waitForLine(child, /LIVE \(admin [^:]+:(\d+)\)/, `sidecar ${pod.name} to go LIVE`);
  return { ...child, id, adminPort: Number(m[1]) };
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

export function httpGet(host: string, port: number, path = '/', agent: http.Agent | false = false, timeoutMs = 5_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export async function getJson<T = unknown>(port: number, path: string): Promise<T> {
  const r = await httpGet('127.0.0.1', port, path);
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

export interface Load {
  /** Answers by body, in arrival order. */
  readonly answers: { at: number; body: string }[];
  readonly failures: string[];
  count(body: string): number;
  stop(): Promise<void>;
}

/** `n` clients requesting in a loop over keep-alive connections until stopped. */
export function loadLoop(host: string, port: number, n: number, pauseMs = 5): Load {
  const answers: { at: number; body: string }[] = [];
  const failures: string[] = [];
  let running = true;
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      try {
        const r = await httpGet(host, port, '/', agent);
        if (r.status !== 200) failures.push(`${new Date().toISOString()} HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        else answers.push({ at: Date.now(), body: r.body });
      } catch (err) {
        failures.push(`${new Date().toISOString()} ${String(err)}`);
      }
      await sleep(pauseMs);
    }
  });
  return {
    answers,
    failures,
    count: (body) => answers.filter((a) => a.body === body).length,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Minimal registry objects for a local mesh. */
export const registry = {
  service(name: string, namespace: string, clusterIP: string, port: number, portName = 'http', appProtocol?: string): string {
    return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  clusterIP: ${clusterIP}
  ports:
  - {name: ${portName}, port: ${port}${appProtocol ? `, appProtocol: ${appProtocol}` : ''}}
`;
  },
  endpointSlice(service: string, namespace: string, portName: string, port: number, ips: string[], sliceName = `${service}-1`): string {
    return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${sliceName}
  namespace: ${namespace}
  labels: {kubernetes.io/service-name: ${service}}
addressType: IPv4
ports:
- {name: ${portName}, port: ${port}}
endpoints:
${ips.map((ip) => `- addresses: ["${ip}"]\n  conditions: {ready: true}\n`).join('')}`;
  },
};

/** A plain HTTP server on 127.0.0.1 answering `name`. */
export async function namedServer(t: TestContext, name: string, host = '127.0.0.1', port = 0): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end(name);
  });
  await new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen(port, host, () => r());
  });
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, hits: () => hits };
}

export interface FixedRateLoad {
  /** Requests sent so far. */
  readonly sent: () => number;
  /** Answers with status 200. */
  readonly ok: () => number;
  /** Every failed request: time, status (or error) and the response flags. */
  readonly failures: string[];
  /** Resolves when every request sent has been answered or has failed. */
  readonly done: Promise<void>;
}

/**
 * An open-loop load: `rps` GET requests a second for `durationMs`, sent on schedule whether or not
 * earlier ones were answered (as independent clients do), over a keep-alive pool of `connections`.
 * Bounded: it sends exactly rps × durationMs / 1000 requests; each one times out after `timeoutMs`.
 */
export function fixedRateLoad(host: string, port: number, opts: { rps: number; durationMs: number; connections?: number; timeoutMs?: number }): FixedRateLoad {
  const total = Math.floor((opts.rps * opts.durationMs) / 1000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections ?? 64 });
  const failures: string[] = [];
  let sent = 0;
  let ok = 0;
  let settled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const settle = (): void => {
    if (++settled === total) {
      agent.destroy();
      resolveDone();
    }
  };
  const one = (): void => {
    sent++;
    const req = http.get({ host, port, path: '/', agent, timeout: opts.timeoutMs ?? 5_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) ok++;
        else failures.push(`${new Date().toISOString()} HTTP ${res.statusCode} flags=${String(res.headers['x-ferry-response-flags'] ?? '-')}`);
        settle();
      });
      res.on('error', (err) => {
        failures.push(`${new Date().toISOString()} response ${String(err)}`);
        settle();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => {
      failures.push(`${new Date().toISOString()} ${String(err)}`);
      settle();
    });
  };
  const start = Date.now();
  const timer = setInterval(() => {
    // Catch up to the schedule: timers drift, the rate must not.
    const due = Math.min(total, Math.floor(((Date.now() - start) * opts.rps) / 1000));
    while (sent < due) one();
    if (sent >= total) clearInterval(timer);
  }, 5);
  if (total === 0) {
    clearInterval(timer);
    resolveDone();
  }
  return { sent: () => sent, ok: () => ok, failures, done };
}

export interface Replica {
  readonly port: number;
  hits(): number;
  /**
   * SIGTERM, handled gracefully: the listening socket closes (new connections are refused) and every
   * open keep-alive connection answers its next request with `connection: close`, then closes. Nothing
   * in flight is cut off, and no connection closes while idle, when the client may be writing into it.
   */
  stop(): void;
  /** The new process listens on the same address and port. */
  start(): Promise<void>;
}

/** A plain HTTP server at `host:port` answering `name` after `latencyMs`, that can be stopped and started again in place. */
export async function replicaServer(t: TestContext, name: string, host: string, port: number, latencyMs = 0): Promise<Replica> {
  let hits = 0;
  let current: http.Server | null = null;
  const old: http.Server[] = [];
  const closing: Promise<void>[] = [];
  const listen = async (): Promise<void> => {
    const s = http.createServer((_req, res) => {
      hits++;
      const reply = (): void => {
        if (old.includes(s)) res.setHeader('connection', 'close');
        res.end(name);
      };
      if (latencyMs > 0) setTimeout(reply, latencyMs);
      else reply();
    });
    await new Promise<void>((r, j) => {
      s.once('error', j);
      s.listen(port, host, () => r());
    });
    current = s;
  };
  const stop = (): void => {
    const s = current;
    if (!s) return;
    current = null;
    old.push(s);
    // The listener only (http.Server#close would also cut idle connections).
    closing.push(new Promise<void>((r) => net.Server.prototype.close.call(s, () => r())));
  };
  await listen();
  t.after(async () => {
    for (const s of [current, ...old]) s?.closeAllConnections();
    stop();
    await Promise.all(closing);
  });
  return { port, hits: () => hits, stop, start: listen };
}
