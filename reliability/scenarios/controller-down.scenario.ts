// Scenario 4: the controller down under load (SIGKILL), an endpoint change made while it is away, applied when it returns on the same ports.
//
// Halfway through the outage replica catalog-2's endpoint turns not ready in the registry (the replica
// keeps running, so a client still sending to it is not failed, only stale). The controller comes back
// with the command line it had; the change counts as applied once catalog-2's sidecar has served no
// request for a second.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep, waitFor, type Mesh } from '../mesh/mesh-up';
import { inboundRequests } from './sidecar-metrics';

/** The controller's argv with its listen ports pinned to the ones it had (it was started on port 0). */
export function pinnedControllerArgv(argv: readonly string[], xds: string, admin: string): string[] {
  const out = [...argv];
  for (const [flag, addr] of [['--xds-address', xds], ['--admin-address', admin]] as const) {
    const i = out.indexOf(flag);
    if (i < 0 || i + 1 >= out.length) throw new Error(`the controller's command line has no ${flag} value`);
    out[i + 1] = addr;
  }
  return out;
}

async function restartController(mesh: Mesh, argv: string[]): Promise<void> {
  const log = join(mesh.dir, 'logs', 'ferry-system.controller.restarted.log');
  const p = mesh.own.spawn(argv, log);
  await waitFor('the controller to listen again', () => {
    if (p.exitCode !== null) throw new Error(`the restarted controller exited (${p.exitCode}): ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
    return existsSync(log) && /xDS on \d+.*admin on \d+/.test(readFileSync(log, 'utf8'));
  }, 20_000);
}

export function controllerDown(): Scenario {
  return {
    name: 'controller-down',
    title: 'Controller down under load, an endpoint change during the outage applied on return',
    expectation: '0 failed; the change applied after the return',
    async run(mesh, o) {
      const pid = mesh.controllerPid();
      if (pid === null) throw new Error('the controller is not running');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((x) => x !== '');
      const pinned = pinnedControllerArgv(argv, mesh.state.controller.xds, mesh.state.controller.admin);
      const changed = 'catalog-2';
      let appliedMs: number | null = null;
      let servedAfterChange = 0;
      let listenMs: number | null = null;
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 3000 + o.outageMs + 15_000, warmMs: 3000 }, async (marks) => {
        process.kill(pid, 'SIGKILL');
        marks.start();
        const t0 = o.clock.now();
        await sleep(o.outageMs / 2);
        mesh.setEndpointConditions(changed, { ready: false });
        const atChange = await inboundRequests(mesh.pod(changed));
        await sleep(Math.max(0, o.outageMs - (o.clock.now() - t0)));
        const back = o.clock.now();
        await restartController(mesh, pinned);
        listenMs = Math.round(o.clock.now() - back);
        const backAt = await inboundRequests(mesh.pod(changed));
        servedAfterChange = backAt - atChange;
        // Applied: catalog-2 serves nothing for 1 s (watched for up to 10 s after the return).
        let last = backAt;
        let lastChange = o.clock.now();
        while (o.clock.now() - back < 10_000) {
          await sleep(100);
          const n = await inboundRequests(mesh.pod(changed));
          if (n !== last) {
            last = n;
            lastChange = o.clock.now();
          } else if (o.clock.now() - lastChange >= 1000) {
            appliedMs = Math.round(Math.max(0, lastChange - back));
            break;
          }
        }
        marks.end();
        o.log(`  controller down ${o.outageMs} ms; ${changed} served ${servedAfterChange} requests between the change and the return; controller listening after ${listenMs} ms, change applied ${appliedMs ?? 'not within 10 s'} ms after the restart`);
      });
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0 && appliedMs !== null,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra: {
          'outage (ms)': o.outageMs,
          'requests to the changed replica during the outage': servedAfterChange,
          'controller listening after restart (ms)': listenMs,
          'change applied after restart (ms)': appliedMs,
        },
        sidecars: run.sidecars,
        notes: appliedMs === null ? [`${changed} still served requests 10 s after the controller returned.`] : [],
      };
    },
  };
}
