// `ferry drain` (the proxy's preStop hook) and `ferry wait-ready` (the pre-1.29 postStart hook).
//
// drain: first keep serving until callers stop sending (the endpoint update has reached them: no new
// inbound request for --quiet-ms), then POST /drain_listeners to the local admin and wait until no
// request or proxied connection is in flight (summed from the admin's /clusters?format=json) or the
// drain time is over; exit 0 either way, so the kubelet goes on with the shutdown. wait-ready: poll /healthz/ready on the health
// port until it answers 200 (exit 0) or the timeout passes (exit 1, naming it).

import * as http from 'node:http';
import { systemClock, type Clock } from '../../src/clock/clock';
import { parseFlags, parseHostPort, UsageError } from '../../src/flags/flags';
import { DEFAULT_DRAIN_QUIET_MS, DEFAULT_DRAIN_SECONDS, PORT_ADMIN, PORT_HEALTH, READY_PATH } from '../../src/mesh/constants';

export interface CommandIo {
  stdout(s: string): void;
  stderr(s: string): void;
}

const processIo: CommandIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export const DRAIN_USAGE = `usage: ferry drain [--seconds N] [--quiet-ms MS] [--admin-address HOST:PORT] [--poll-ms MS]
  --seconds N              longest drain, both phases (default $FERRY_DRAIN_SECONDS or ${DEFAULT_DRAIN_SECONDS})
  --quiet-ms MS            first keep serving until no new inbound request came for MS (callers have
                           the endpoint update), at most 60 % of the drain time (default ${DEFAULT_DRAIN_QUIET_MS}; 0: skip)
  --admin-address A        the proxy's admin server (default 127.0.0.1:${PORT_ADMIN})
  --poll-ms MS             how often to look at active requests (default 250)
`;

export const WAIT_READY_USAGE = `usage: ferry wait-ready [--timeout-seconds N] [--health-address HOST:PORT] [--interval-ms MS]
  --timeout-seconds N      give up after N seconds (default 60)
  --health-address A       the proxy's health server (default 127.0.0.1:${PORT_HEALTH})
  --interval-ms MS         time between polls (default 200)
`;

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One small HTTP request; rejects with the socket error (code) or on timeout. */
function request(address: { host: string; port: number }, method: string, path: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address.host, port: address.port, method, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

function positiveNumber(values: Record<string, unknown>, flag: string, fallback: number): number {
  const v = values[flag] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UsageError(`flag --${flag}: must be a number ≥ 0, got ${String(v)}`);
  return v;
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

/** In-flight requests and proxied TCP connections, summed over every cluster's hosts. */
/**
 * Requests this proxy sent to its app so far: the `inbound|…` clusters' (a sidecar's), or every
 * cluster's when there are none (a proxy configured by hand).
 */
function inboundRequests(clustersJson: string): number {
  const doc = JSON.parse(clustersJson) as { clusters?: { name?: string; hosts?: { total_requests?: number }[] }[] };
  const all = doc.clusters ?? [];
  const inbound = all.filter((c) => (c.name ?? '').startsWith('inbound|'));
  let n = 0;
  for (const c of inbound.length > 0 ? inbound : all) for (const h of c.hosts ?? []) n += h.total_requests ?? 0;
  return n;
}

function activeRequests(clustersJson: string): number {
  const doc = JSON.parse(clustersJson) as { clusters?: { hosts?: { active_requests?: number }[] }[] };
  let n = 0;
  for (const c of doc.clusters ?? []) for (const h of c.hosts ?? []) n += h.active_requests ?? 0;
  return n;
}

/** `ferry drain`: drain the local proxy's listeners and wait for in-flight work; always exits 0. */
export async function drainCommand(
  argv: string[],
  io: CommandIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
  clock: Clock = systemClock,
): Promise<number> {
  const { values } = parseFlags(argv, { seconds: 'number', 'quiet-ms': 'number', 'admin-address': 'string', 'poll-ms': 'number', help: 'boolean' });
  if (values.help) {
    io.stdout(DRAIN_USAGE);
    return 0;
  }
  const envSeconds = env.FERRY_DRAIN_SECONDS !== undefined && env.FERRY_DRAIN_SECONDS !== '' ? Number(env.FERRY_DRAIN_SECONDS) : DEFAULT_DRAIN_SECONDS;
  const seconds = positiveNumber(values, 'seconds', envSeconds);
  const pollMs = Math.max(10, positiveNumber(values, 'poll-ms', 250));
  const admin = parseHostPort('admin-address', typeof values['admin-address'] === 'string' ? values['admin-address'] : `127.0.0.1:${PORT_ADMIN}`);
  const started = clock.now();
  const deadline = started + seconds * 1000;
  const elapsed = (): string => `${((clock.now() - started) / 1000).toFixed(1)} s`;
  const quietMs = positiveNumber(values, 'quiet-ms', DEFAULT_DRAIN_QUIET_MS);

  // Phase 1: the pod is leaving its endpoints; callers still sending have not had the update. Closing
  // the listeners now would refuse them (a retry for a meshed caller, an error for any other), so the
  // proxy serves as before until requests stop coming, leaving the rest of the drain time to phase 2.
  if (quietMs > 0) {
    const until = started + seconds * 600;
    let last = -1;
    let changedAt = clock.now();
    let reachable = true;
    for (;;) {
      try {
        const r = await request(admin, 'GET', '/clusters?format=json', 2_000);
        const n = r.status === 200 ? inboundRequests(r.body) : -1;
        if (n !== last) {
          last = n;
          changedAt = clock.now();
        }
      } catch (err) {
        io.stderr(`ferry drain: admin at ${admin.host}:${admin.port} not reachable (${errorText(err)}); nothing to drain\n`);
        reachable = false;
        break;
      }
      if (clock.now() - changedAt >= quietMs) {
        io.stdout(`ferry drain: no new inbound request for ${quietMs} ms after ${elapsed()}: callers have the endpoint update\n`);
        break;
      }
      if (clock.now() >= until) {
        io.stdout(`ferry drain: inbound requests still arriving after ${elapsed()}; draining the listeners anyway\n`);
        break;
      }
      await sleep(clock, Math.min(pollMs, quietMs, Math.max(0, until - clock.now())));
    }
    if (!reachable) return 0;
  }

  try {
    const r = await request(admin, 'POST', '/drain_listeners', 2_000);
    if (r.status !== 200) io.stderr(`ferry drain: admin answered ${r.status} to POST /drain_listeners: ${r.body.trim()}\n`);
  } catch (err) {
    // No admin means no proxy: nothing to drain, and a failing preStop hook would only add an event.
    io.stderr(`ferry drain: admin at ${admin.host}:${admin.port} not reachable (${errorText(err)}); nothing to drain\n`);
    return 0;
  }

  let active = -1;
  for (;;) {
    const left = deadline - clock.now();
    try {
      const r = await request(admin, 'GET', '/clusters?format=json', Math.max(100, Math.min(2_000, left)));
      active = r.status === 200 ? activeRequests(r.body) : -1;
    } catch {
      active = -1; // the proxy may already be stopping; keep waiting out the drain time
    }
    if (active === 0) {
      io.stdout(`ferry drain: listeners drained, no active requests after ${elapsed()}\n`);
      return 0;
    }
    if (clock.now() >= deadline) break;
    await sleep(clock, Math.min(pollMs, Math.max(0, deadline - clock.now())));
  }
  const still = active > 0 ? `${active} request(s) still active` : 'active requests unknown';
  io.stdout(`ferry drain: drain time of ${seconds} s over (${still})\n`);
  return 0;
}

/** `ferry wait-ready`: wait until the health port says the proxy is ready; exit 1 on timeout. */
export async function waitReadyCommand(argv: string[], io: CommandIo = processIo, clock: Clock = systemClock): Promise<number> {
  const { values } = parseFlags(argv, { 'timeout-seconds': 'number', 'health-address': 'string', 'interval-ms': 'number', help: 'boolean' });
  if (values.help) {
    io.stdout(WAIT_READY_USAGE);
    return 0;
  }
  const timeoutSeconds = positiveNumber(values, 'timeout-seconds', 60);
  const intervalMs = Math.max(10, positiveNumber(values, 'interval-ms', 200));
  const health = parseHostPort(
    'health-address',
    typeof values['health-address'] === 'string' ? values['health-address'] : `127.0.0.1:${PORT_HEALTH}`,
  );
  const started = clock.now();
  const deadline = started + timeoutSeconds * 1000;
  let last = 'no answer yet';
  for (;;) {
    const left = deadline - clock.now();
    try {
      const r = await request(health, 'GET', READY_PATH, Math.max(50, Math.min(1_000, left)));
      if (r.status === 200) {
        io.stdout(`ferry wait-ready: proxy ready after ${((clock.now() - started) / 1000).toFixed(1)} s\n`);
        return 0;
      }
      last = `HTTP ${r.status} ${r.body.trim()}`;
    } catch (err) {
      last = errorText(err);
    }
    if (clock.now() >= deadline) break;
    await sleep(clock, Math.min(intervalMs, Math.max(0, deadline - clock.now())));
  }
  io.stderr(
    `ferry wait-ready: proxy not ready within --timeout-seconds ${timeoutSeconds} ` +
      `(http://${health.host}:${health.port}${READY_PATH}, last: ${last})\n`,
  );
  return 1;
}
