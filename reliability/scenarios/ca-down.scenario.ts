// Scenario 5: the CA away for longer than a rotation period, under load: nothing fails, every sidecar
// keeps its certificate and retries with back-off, the expiry metric falls, `ferry check` warns, and
// rotation resumes (a new serial) before any certificate expires.
//
// The CA runs inside the controller, so taking it away takes xDS too. It is SIGSTOPped, not killed:
// a hung CA is the harder case (the kernel still accepts connections, nothing answers, every attempt
// runs into its 10 s deadline) and the same process, with its serving certificate, resumes on SIGCONT.
// The mesh issues 90 s certificates (`ferry up --cert-ttl 90`); renewals fall due at 36–54 s. Just
// before the outage every sidecar renews (POST /identity/renew on its admin port), so each holds a
// full 90 s when the CA goes and its scheduled renewal falls inside the 70 s outage.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep, waitFor, type Mesh, type MeshPod } from '../mesh/mesh-up';
import { ferryCheck, identityOf, renewNow, retryDelaysLogged } from './sidecar-identity';

export const CA_DOWN_CERT_TTL_S = 90;
export const CA_DOWN_OUTAGE_MS = 70_000;

interface Watch {
  readonly pod: MeshPod;
  readonly pid: number | null;
  serialBefore: string;
  notAfterBefore: number;
  expiryAtStart: number | null;
  expiryMin: number | null;
  failedAtStart: number;
  failedAtEnd: number;
  resumedMs: number | null;
  /** Certificate life left (ms) when the new one arrived. */
  leftAtRenewalMs: number | null;
  serialAfter: string | null;
}

function sidecarLog(mesh: Mesh, pod: MeshPod): string {
  try {
    return readFileSync(join(mesh.dir, 'logs', `${pod.namespace}.${pod.name}.ferry-proxy.log`), 'utf8');
  } catch {
    return '';
  }
}

export function caDown(): Scenario {
  return {
    name: 'ca-down',
    title: 'CA down longer than a rotation period (controller SIGSTOPped 70 s, 90 s certificates)',
    expectation: '0 failed; every sidecar keeps its certificate and retries with back-off; ferry check warns; rotation resumes before expiry',
    upArgs: ['--cert-ttl', String(CA_DOWN_CERT_TTL_S)],
    async run(mesh, o) {
      const pid = mesh.controllerPid();
      if (pid === null) throw new Error('the controller is not running');
      const pods = mesh.readState().pods.filter((p) => p.meshed);
      const watches: Watch[] = [];
      const notes: string[] = [];
      let checkDuring = { code: -1, stdout: '' };
      let checkAfter = { code: -1, stdout: '' };
      let stopped = false;
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 3000 + 3000 + CA_DOWN_OUTAGE_MS + 25_000, warmMs: 3000 }, async (marks) => {
        // Every certificate fresh, so each has its full lifetime when the CA goes.
        for (const pod of pods) {
          const r = await renewNow(pod);
          const id = await identityOf(pod);
          watches.push({ pod, pid: mesh.pid(pod.name, 'ferry-proxy'), serialBefore: r.serial, notAfterBefore: Date.parse(r.notAfter), expiryAtStart: id.expirySeconds, expiryMin: id.expirySeconds, failedAtStart: id.failedAttempts, failedAtEnd: id.failedAttempts, resumedMs: null, leftAtRenewalMs: null, serialAfter: null });
        }
        try {
          process.kill(pid, 'SIGSTOP');
          stopped = true;
          marks.start();
          const t0 = o.clock.now();
          let checked = false;
          while (o.clock.now() - t0 < CA_DOWN_OUTAGE_MS) {
            await sleep(2000);
            for (const w of watches) {
              const id = await identityOf(w.pod);
              if (id.expirySeconds !== null) w.expiryMin = Math.min(w.expiryMin ?? Infinity, id.expirySeconds);
              w.failedAtEnd = id.failedAttempts;
              if (id.serial !== w.serialBefore) notes.push(`${w.pod.name} changed certificate during the outage (${id.serial})`);
            }
            // Late in the outage every renewal is due and failing: the check must say so for each sidecar.
            if (!checked && o.clock.now() - t0 >= CA_DOWN_OUTAGE_MS - 8000) {
              checked = true;
              checkDuring = await ferryCheck(mesh);
              o.log(`  ferry check during the outage (exit ${checkDuring.code}):\n${checkDuring.stdout.trimEnd().replace(/^/gm, '    ')}`);
            }
          }
        } finally {
          if (stopped) process.kill(pid, 'SIGCONT');
        }
        const back = o.clock.now();
        marks.end();
        await waitFor('every sidecar to renew after the CA returned', async () => {
          for (const w of watches) {
            if (w.resumedMs !== null) continue;
            const id = await identityOf(w.pod);
            if (id.serial !== null && id.serial !== w.serialBefore) {
              w.resumedMs = Math.round(o.clock.now() - back);
              w.leftAtRenewalMs = w.notAfterBefore - o.clock.wallNow();
              w.serialAfter = id.serial;
            }
          }
          return watches.every((w) => w.resumedMs !== null) || o.clock.wallNow() > Math.min(...watches.map((w) => w.notAfterBefore));
        }, 40_000, o.clock, 250);
        checkAfter = await ferryCheck(mesh);
        o.log(`  ferry check after the return (exit ${checkAfter.code}):\n${checkAfter.stdout.trimEnd().replace(/^/gm, '    ')}`);
      });
      const problems: string[] = [];
      for (const w of watches) {
        const name = w.pod.name;
        const failed = w.failedAtEnd - w.failedAtStart;
        const delays = retryDelaysLogged(sidecarLog(mesh, w.pod));
        o.log(`  ${name}: serial ${w.serialBefore} → ${w.serialAfter ?? 'none'}; ${failed} failed renewals during the outage (back-off ${delays.slice(-failed).join(', ')} ms); expiry ${w.expiryAtStart?.toFixed(0)} s → ${w.expiryMin?.toFixed(0)} s; renewed ${w.resumedMs ?? '-'} ms after the return`);
        if (failed < 1) problems.push(`${name} attempted no renewal during the outage`);
        if (w.resumedMs === null) problems.push(`${name} did not renew before its certificate expired`);
        if (mesh.pid(name, 'ferry-proxy') !== w.pid) problems.push(`${name}'s sidecar restarted`);
        if (w.expiryAtStart === null || w.expiryMin === null || w.expiryAtStart - w.expiryMin < (CA_DOWN_OUTAGE_MS / 1000) * 0.8) problems.push(`${name}'s expiry metric did not fall through the outage`);
        if (!new RegExp(`${w.pod.namespace}/${name} +WARN`).test(checkDuring.stdout)) problems.push(`ferry check did not warn about ${name} during the outage`);
      }
      if (checkDuring.code !== 1) problems.push(`ferry check exited ${checkDuring.code} during the outage (want 1)`);
      if (checkAfter.code !== 0) problems.push(`ferry check exited ${checkAfter.code} after the return (want 0)`);
      const resumed = watches.filter((w) => w.resumedMs !== null).length;
      const maxFailed = Math.max(0, ...watches.map((w) => w.failedAtEnd - w.failedAtStart));
      const lefts = watches.map((w) => w.leftAtRenewalMs);
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0 && problems.length === 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra: {
          'certificate lifetime (s)': CA_DOWN_CERT_TTL_S,
          'CA outage (ms)': Math.round(run.fault.endMs - run.fault.startMs),
          'sidecars renewed after the return': `${resumed} of ${watches.length}`,
          'last renewal after the return (ms)': watches.every((w) => w.resumedMs !== null) ? Math.max(...watches.map((w) => w.resumedMs!)) : null,
          'most failed renewals of one sidecar during the outage': maxFailed,
          'lowest expiry metric seen (s)': Math.round(Math.min(...watches.map((w) => w.expiryMin ?? Infinity))),
          'ferry check during / after (exit)': `${checkDuring.code} / ${checkAfter.code}`,
          'least certificate life left at a renewal (s)': lefts.every((x) => x !== null) ? Math.round(Math.min(...(lefts as number[])) / 1000) : null,
        },
        sidecars: run.sidecars,
        notes: [...new Set([...notes, ...problems])],
      };
    },
  };
}
