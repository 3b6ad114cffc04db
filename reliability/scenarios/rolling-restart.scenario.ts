// Scenario 1: a rolling restart of the catalog's 3 replicas, each SIGTERMed and draining gracefully, with the endpoint update before or after the SIGTERM.
//
// A replica's restart: its endpoint becomes terminating (ready false, serving true) in the registry the
// controller watches and the app gets SIGTERM, one second apart in the order the scenario names; the
// app serves on for its drain time, closes, exits; `ferry up` starts it again (restartPolicy Always) and
// once its readiness probe passes the endpoint is ready again. Then the next replica.

import type { Clock } from '../../src/clock/clock';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep, type Mesh } from '../mesh/mesh-up';
import { responseConflicts, retriesAttempted } from './sidecar-metrics';

export type RestartOrder = 'endpoint-first' | 'sigterm-first';

const TERMINATING = { ready: false, serving: true, terminating: true } as const;
/** Between the endpoint update and the SIGTERM (either order). */
const GAP_MS = 1000;
/**
 * The load goes on this long after the last replica is back (at most 45 s in all): long enough for
 * every caller to use the new replicas and for late failures to show, without idling the suite.
 */
export const ROLLING_TAIL_MS = 12_000;

/**
 * Keeps `pod`'s endpoint terminating until `until` settles: whenever `ferry up` rewrites the registry
 * meanwhile (on a readiness change of any pod) it writes the endpoint ready — it keeps a pod's endpoint
 * ready once the pod was — and the mark is re-applied.
 */
async function holdTerminating(mesh: Mesh, pod: string, until: Promise<unknown>): Promise<number> {
  let released = false;
  void until.finally(() => (released = true));
  let reapplied = 0;
  while (!released) {
    if (!mesh.endpointConditions(pod)?.terminating) {
      mesh.setEndpointConditions(pod, TERMINATING);
      reapplied++;
    }
    await sleep(10);
  }
  return reapplied - 1;
}

/** Restarts `pod`'s app container (`container`, the catalog's by default) in `order`. */
export async function restartReplica(mesh: Mesh, pod: string, order: RestartOrder, clock: Clock, log: (l: string) => void, container = 'catalog'): Promise<{ reapplied: number; restartMs: number }> {
  const pid = mesh.pid(pod, container);
  if (pid === null) throw new Error(`${pod}/${container} is not running`);
  const t0 = clock.now();
  let restarted!: Promise<number>;
  let hold: Promise<number>;
  if (order === 'endpoint-first') {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    hold = holdTerminating(mesh, pod, gate);
    await sleep(GAP_MS);
    process.kill(pid, 'SIGTERM');
    restarted = mesh.waitRestarted(pod, container, pid, 60_000);
    await restarted.finally(release);
  } else {
    process.kill(pid, 'SIGTERM');
    restarted = mesh.waitRestarted(pod, container, pid, 60_000);
    await sleep(GAP_MS);
    hold = holdTerminating(mesh, pod, restarted.catch(() => undefined));
    await restarted;
  }
  const reapplied = await hold;
  mesh.setEndpointConditions(pod, { ready: true });
  const restartMs = Math.round(clock.now() - t0);
  log(`  ${pod}: restarted (${order}) in ${restartMs} ms; terminating mark re-applied ${reapplied}×`);
  return { reapplied, restartMs };
}

export function rollingRestart(order: RestartOrder): Scenario {
  return {
    name: `rolling-restart-${order}`,
    title: `Rolling restart of 3 replicas, SIGTERM + graceful drain, endpoint update ${order === 'endpoint-first' ? 'before' : 'after'} the SIGTERM`,
    expectation: '0 failed',
    async run(mesh, o) {
      const replicas = mesh.podsOf('catalog-').map((p) => p.name);
      if (replicas.length !== 3) throw new Error(`expected 3 catalog replicas, found ${replicas.join(', ')}`);
      const client = mesh.pod('client');
      const retriesBefore = await retriesAttempted(client);
      const restarts: number[] = [];
      let reapplied = 0;
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 45_000, tailMs: ROLLING_TAIL_MS, warmMs: 3000 }, async (marks) => {
        marks.start();
        for (const pod of replicas) {
          const r = await restartReplica(mesh, pod, order, o.clock, o.log);
          restarts.push(r.restartMs);
          reapplied += r.reapplied;
          await sleep(1000);
        }
        marks.end();
      });
      const figures = run.figures;
      return {
        passed: figures.failed === 0 && figures.sent > 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures,
        extra: {
          'restart per replica (ms)': restarts.join(' / '),
          'client retries': await retriesAttempted(mesh.pod('client')).then((n) => n - retriesBefore, () => null),
          // A head for a request already answered, or body before a head: a proxy defect, counted by the sidecar.
          'client response conflicts': await responseConflicts(mesh.pod('client')).catch(() => null),
          'terminating mark re-applied': reapplied,
        },
        sidecars: run.sidecars,
        notes: [],
      };
    },
  };
}
