// Scenario 3: a sidecar restart under load (SIGTERM, drain, exit; `ferry up` starts it again), on the serving side or the calling side.
//
// server: catalog-1's sidecar. It refuses new connections, sends GOAWAY to the client sidecar's
// HTTP/2 connections and lets the streams it took finish; the client sidecar opens no new stream on a
// GOAWAY'd connection, retries a refused connect or refused stream on another replica, and the
// endpoint leaves the registry while the pod is unready.
// client: the client pod's own sidecar, which the load client's requests pass through (iptables
// capture). Draining, it answers what it took with `connection: close` and closes idle keep-alive
// connections; while it is down the captured connects are refused (REDIRECT to a closed port). The
// load client retries, on a fresh connection, only attempts that provably were not processed
// (reliability/load/fresh-retry.ts), within each request's timeout: the restart has to fit in it.
//
// Both run the load client with that retry on; the retries are counted apart from failures.

import * as http from 'node:http';
import type { Clock } from '../../src/clock/clock';
import { PORT_HEALTH, READY_PATH } from '../../src/mesh/constants';
import { isOk, type RequestRecord } from '../load/outcomes';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep, waitFor, type Mesh } from '../mesh/mesh-up';
import { retriesAttempted } from './sidecar-metrics';

export type RestartSide = 'server' | 'client';

const PROXY = 'ferry-proxy';
/** The load client's per-request timeout, its retries included: the window a restart must fit in. */
const TIMEOUT_MS = 5000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the sidecar's health port answers ready (`/healthz/ready`: 200 once it is LIVE). */
function healthReady(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port: PORT_HEALTH, path: READY_PATH, agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

interface RestartTimes {
  /** SIGTERM to the old process gone (its drain). */
  readonly exitedMs: number;
  /** SIGTERM to a new process answering ready on the health port (LIVE: listeners up, configuration in). */
  readonly readyMs: number;
}

/**
 * SIGTERMs `pod`'s sidecar and times its restart by `ferry up`. Not by the pod's readiness in
 * state.json: `ferry up` does not mark a pod unready when a container exits (decision 0026, cost).
 */
async function restartSidecar(mesh: Mesh, pod: string, clock: Clock): Promise<RestartTimes> {
  const pid = mesh.pid(pod, PROXY);
  if (pid === null) throw new Error(`${pod}/${PROXY} is not running`);
  const ip = mesh.pod(pod).ip;
  const t0 = clock.now();
  process.kill(pid, 'SIGTERM');
  const exitedMs = await waitFor(`${pod}/${PROXY} (pid ${pid}) to exit after SIGTERM`, () => (alive(pid) ? null : Math.round(clock.now() - t0)), 30_000, clock, 5);
  const readyMs = await waitFor(`${pod}/${PROXY} to run again and answer ready`, async () => {
    const now = mesh.pid(pod, PROXY);
    return now !== null && now !== pid && (await healthReady(ip)) ? Math.round(clock.now() - t0) : null;
  }, 60_000, clock, 20);
  return { exitedMs, readyMs };
}

/** From the first to the last moment a request saw its connect refused (ms since the load started), or null. */
export function refusedSpan(records: readonly RequestRecord[]): { fromMs: number; toMs: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const r of records) {
    if (!r.retries?.includes('connect refused') && r.error !== 'ECONNREFUSED') continue;
    from = Math.min(from, r.at);
    to = Math.max(to, r.at + r.latencyMs);
  }
  return from === Infinity ? null : { fromMs: Math.round(from), toMs: Math.round(to) };
}

export function sidecarRestart(side: RestartSide): Scenario {
  const victimOf = (mesh: Mesh): string => (side === 'server' ? (mesh.podsOf('catalog-')[0]?.name ?? 'catalog-?') : 'client');
  return {
    name: `sidecar-restart-${side}`,
    title: side === 'server'
      ? "Sidecar restart on the serving side: one catalog replica's sidecar SIGTERMed, drained and started again"
      : "Sidecar restart on the calling side: the client pod's own sidecar SIGTERMed, drained and started again",
    expectation: '0 failed for a client that retries on a fresh connection what provably was not processed; in-flight requests drained',
    async run(mesh, o) {
      const victim = victimOf(mesh);
      const client = mesh.pod('client');
      const retriesBefore = side === 'server' ? await retriesAttempted(client) : 0;
      let times: RestartTimes | null = null;
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 25_000, warmMs: 3000, timeoutMs: TIMEOUT_MS, retryOnFreshConnection: true }, async (marks) => {
        marks.start();
        times = await restartSidecar(mesh, victim, o.clock);
        // The client sidecar has the replica's endpoint back once the controller has pushed it.
        await sleep(1000);
        marks.end();
        o.log(`  ${victim}/${PROXY}: exited ${times.exitedMs} ms after SIGTERM, a new one ready ${times.readyMs} ms after it`);
      });
      const t = times as RestartTimes | null;
      const r = run.retries;
      const reasons = Object.entries(r.retriesBy).map(([k, v]) => `${v} × ${k}`).join(', ');
      const refused = refusedSpan(run.records);
      const before = run.records.filter((x) => x.at < run.fault.startMs && !isOk(x)).length;
      const figures = run.figures;
      return {
        passed: figures.failed === 0 && figures.sent > 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures,
        extra: {
          'sidecar exited after SIGTERM (ms)': t?.exitedMs ?? null,
          'sidecar down: exit to a new one ready (ms)': t ? t.readyMs - t.exitedMs : null,
          'connects refused (s after the load started)': refused ? `${(refused.fromMs / 1000).toFixed(2)}–${(refused.toMs / 1000).toFixed(2)}` : 'none',
          'requests retried on a fresh connection': r.retried ? `${r.retried} (${reasons}); ${r.retriedFailed} of them still failed` : 0,
          ...(side === 'server' ? { 'client sidecar retries': await retriesAttempted(client).then((n) => n - retriesBefore, () => null) } : {}),
        },
        sidecars: run.sidecars,
        notes: [
          ...(t && side === 'client' ? [`The client pod's sidecar was down ${t.readyMs - t.exitedMs} ms (\`ferry up\` restarts an exited container after 1 s, then the new sidecar gets its certificate and configuration); the load client retries a refused connect for at most its ${TIMEOUT_MS} ms request timeout.`] : []),
          ...(before > 0 ? [`${before} requests failed before the fault started: the run was disturbed by something else (a loaded machine).`] : []),
        ],
      };
    },
  };
}
