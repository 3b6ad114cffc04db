// Scenario 2: SIGKILL of one catalog replica (its app and its sidecar at once, as a crash takes the whole pod) under idempotent GETs.
//
// Nothing tells the mesh beforehand: the endpoint stays in the registry (`ferry up` restarts the pod's
// processes after 1 s), so only the client sidecar's retries and outlier detection stand between the
// crash and the client. The ejection time is from the kill to the client sidecar's first ejection.

import { DEFAULT_RETRIES } from '../../src/controller/model/defaults';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep } from '../mesh/mesh-up';
import { ejections, retriesAttempted } from './sidecar-metrics';

export function replicaKill(): Scenario {
  return {
    name: 'replica-sigkill',
    title: 'SIGKILL of one replica (app and sidecar), idempotent GETs',
    expectation: '0 failed; ejection time reported',
    async run(mesh, o) {
      const victim = 'catalog-1';
      const client = mesh.pod('client');
      const ejectionsBefore = await ejections(client);
      const retriesBefore = await retriesAttempted(client);
      let ejectionMs: number | null = null;
      let backMs: number | null = null;
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 25_000, warmMs: 3000 }, async (marks) => {
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
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra: {
          'ejection after (ms)': ejectionMs,
          'replica back after (ms)': backMs,
          'client retries': await retriesAttempted(client).then((n) => n - retriesBefore, () => null),
        },
        sidecars: run.sidecars,
        notes: [
          ...(ejectionMs === null ? ['The client sidecar did not eject the killed replica within 10 s.'] : []),
          ...(Object.keys(run.figures.failedBy).some((k) => / (UC|UR)$/.test(k))
            ? [`Requests in flight on the killed replica failed with a reset (UC/UR): Ferry's default retry policy (retry_on ${DEFAULT_RETRIES.retryOn.join(',')}, ${DEFAULT_RETRIES.attempts} attempts; src/controller/model/defaults.ts) retries only failures before the request reached the app, so it does not replay an idempotent GET after a reset.`]
            : []),
        ],
      };
    },
  };
}
