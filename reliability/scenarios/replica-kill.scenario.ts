// Scenario 2: SIGKILL of one catalog replica (its app and its sidecar at once, as a crash takes the whole pod), under idempotent GETs or under POSTs.
//
// Nothing tells the mesh beforehand: the endpoint stays in the registry (`ferry up` restarts the pod's
// processes after 1 s), so only the client sidecar's retries and outlier detection stand between the
// crash and the client. The ejection time is from the kill to the client sidecar's first ejection.
// With GETs the default retries replay the requests the crash cut off (a reset, for an idempotent
// method); with POSTs they may not, as the app may have acted on them: those fail, visibly.

import { DEFAULT_RETRIES, IDEMPOTENT_METHODS } from '../../src/controller/model/defaults';
import type { LoadFigures } from '../load/outcomes';
import type { Mesh } from '../mesh/mesh-up';
import { sleep } from '../mesh/mesh-up';
import type { Scenario, ScenarioOptions } from '../scenario';
import { underLoad } from '../scenario';
import { ejections, retriesAttempted, retryOverflows } from './sidecar-metrics';

/** The POST load's body: small, as an order or a form is. */
const POST_BODY_BYTES = 128;

/**
 * The most POSTs the crash may cost: those sent within 100 ms. Only requests in flight on the killed
 * replica can fail (a third of the load with 3 replicas, for as long as a request takes, a few ms
 * here), and a request sent after the kill finds the connection refused or reset before it was sent
 * and is retried on another replica. 100 ms of the whole load is a loose ceiling over that, loose
 * enough for a loaded 2-core host, yet far below what an unretried outage would fail (every third
 * request until the ejection, and again each time the host comes back).
 */
export function inFlightBound(rps: number): number {
  return Math.max(1, Math.ceil(rps * 0.1));
}

/** Whether every failure is an answer from the mesh: a 503 with a response flag (no socket error, no other status). */
export function everyFailureA503WithFlag(f: LoadFigures): boolean {
  return Object.keys(f.failedBy).every((reason) => /^503 [A-Z]+(,[A-Z]+)*$/.test(reason));
}

async function killUnderLoad(mesh: Mesh, o: ScenarioOptions, method: 'GET' | 'POST') {
  const victim = 'catalog-1';
  const client = mesh.pod('client');
  const ejectionsBefore = await ejections(client);
  const retriesBefore = await retriesAttempted(client);
  const overflowsBefore = await retryOverflows(client);
  let ejectionMs: number | null = null;
  let backMs: number | null = null;
  const load = method === 'GET' ? { path: '/items', method } : { path: '/orders', method, bodyBytes: POST_BODY_BYTES };
  const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', ...load, durationMs: 25_000, warmMs: 3000 }, async (marks) => {
    const app = mesh.pid(victim, 'catalog');
    const proxy = mesh.pid(victim, 'ferry-proxy');
    if (app === null || proxy === null) throw new Error(`${victim} is not running (app ${app}, sidecar ${proxy})`);
    const t0 = o.clock.now();
    process.kill(app, 'SIGKILL');
    process.kill(proxy, 'SIGKILL');
    marks.start();
    const back = Promise.all([mesh.waitRestarted(victim, 'catalog', app, 60_000), mesh.waitRestarted(victim, 'ferry-proxy', proxy, 60_000)]).then(() => (backMs = Math.round(o.clock.now() - t0)));
    back.catch(() => undefined);
    // Watch the client sidecar's ejections for up to 10 s.
    while (o.clock.now() - t0 < 10_000 && ejectionMs === null) {
      if ((await ejections(client).catch(() => ejectionsBefore)) > ejectionsBefore) ejectionMs = Math.round(o.clock.now() - t0);
      else await sleep(50);
    }
    await back;
    marks.end();
    o.log(`  ${victim}: killed; ejected after ${ejectionMs ?? 'never (10 s)'} ms; back in ${backMs} ms`);
  });
  const extra = {
    'ejection after (ms)': ejectionMs,
    'replica back after (ms)': backMs,
    'client retries': await retriesAttempted(client).then((n) => n - retriesBefore, () => null),
    'client retries refused by the retry breaker': await retryOverflows(client).then((n) => n - overflowsBefore, () => null),
  };
  return { run, extra, ejected: ejectionMs !== null };
}

const RETRIES = `retry_on ${DEFAULT_RETRIES.retryOn.join(',')} for every method, and ${DEFAULT_RETRIES.idempotentRetryOn.join(',')} too for ${IDEMPOTENT_METHODS.join(', ')}; ${DEFAULT_RETRIES.attempts} retries (src/controller/model/defaults.ts)`;

export function replicaKill(): Scenario {
  return {
    name: 'replica-sigkill',
    title: 'SIGKILL of one replica (app and sidecar), idempotent GETs',
    expectation: '0 failed; ejection time reported',
    async run(mesh, o) {
      const { run, extra, ejected } = await killUnderLoad(mesh, o, 'GET');
      const failedBy = Object.keys(run.figures.failedBy);
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra,
        sidecars: run.sidecars,
        notes: [
          ...(ejected ? [] : ['The client sidecar did not eject the killed replica within 10 s.']),
          `Ferry's default retries (${RETRIES}) replay a GET cut off by the crash on another replica: a reset after the request was sent is retried for idempotent methods.`,
          ...(failedBy.some((k) => /(UO|URX)$/.test(k))
            ? ['Failures flagged UO ran into the retry budget (20 % of the requests in flight, at least 3), URX ones used up their retries.']
            : []),
        ],
      };
    },
  };
}

export function replicaKillPost(): Scenario {
  return {
    name: 'replica-sigkill-post',
    title: 'SIGKILL of one replica (app and sidecar), POSTs with a small body',
    expectation: 'only requests in flight on the killed replica fail, each with a 503 and a response flag',
    async run(mesh, o) {
      const { run, extra, ejected } = await killUnderLoad(mesh, o, 'POST');
      const bound = inFlightBound(o.rps);
      const f = run.figures;
      return {
        passed: f.sent > 0 && f.failed <= bound && everyFailureA503WithFlag(f),
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: f,
        extra: { ...extra, 'failures allowed (sent in 100 ms)': bound, 'request body (bytes)': POST_BODY_BYTES },
        sidecars: run.sidecars,
        notes: [
          ...(ejected ? [] : ['The client sidecar did not eject the killed replica within 10 s.']),
          `A POST is not idempotent: Ferry's default retries (${RETRIES}) replay it only after failures before it reached the app, so a POST in flight on the crashed replica is answered 503 with the flag of its failure (UC: the connection was cut), never replayed and never a bare socket error.`,
          ...(everyFailureA503WithFlag(f) ? [] : ['Some failures were not a 503 with a response flag: see failed by reason.']),
        ],
      };
    },
  };
}
