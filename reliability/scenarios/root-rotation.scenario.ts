// Scenario 6: the mesh root replaced under load with `ferry certs rotate-root add`, `switch` and
// `remove-old`, each step run once the previous one has reached every sidecar: nothing fails.
//
// The mesh issues 60 s certificates (`ferry up --cert-ttl 60`), so sidecars renew every 24–36 s on
// their own schedule; nothing forces a renewal. The controller follows its CA directory while it
// runs, and `ferry up` keeps every pod's root file (what a starting sidecar trusts) equal to the
// bundle. Each of switch and remove-old is also tried once too early, and must be refused naming the
// sidecars that are not ready.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { TrustBundle } from '../../certs/trust-bundle';
import type { Clock } from '../../src/clock/clock';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep, waitFor, FERRY, type Mesh, type MeshPod } from '../mesh/mesh-up';
import { identityOf } from './sidecar-identity';

export const ROOT_ROTATION_CERT_TTL_S = 60;
/** How long one step may take to reach every sidecar: more than one renewal period (≤ 36 s) plus a retry. */
const STEP_TIMEOUT_MS = 60_000;

function rotateRoot(mesh: Mesh, step: string): Promise<{ code: number; output: string }> {
  const argv = [FERRY, 'certs', 'rotate-root', step, '--ca-dir', join(mesh.dir, 'pki', 'ca'), '--root', join(mesh.dir, 'pki', 'root-next'), '--state', join(mesh.dir, 'state.json')];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

async function waitAll(what: string, pods: readonly MeshPod[], ok: (id: Awaited<ReturnType<typeof identityOf>>) => boolean, clock: Clock): Promise<void> {
  await waitFor(what, async () => {
    for (const p of pods) if (!ok(await identityOf(p))) return false;
    return true;
  }, STEP_TIMEOUT_MS, clock, 500);
}

/** The pods' copies of the mesh root (what a sidecar that starts bootstraps with) that differ from the CA's bundle. */
function staleRootFiles(mesh: Mesh): string[] {
  const bundle = readFileSync(join(mesh.dir, 'pki', 'ca', 'root-cert.pem'), 'utf8');
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const f = join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name === 'root-cert.pem' && readFileSync(f, 'utf8') !== bundle) out.push(f.slice(mesh.dir.length + 1));
    }
  };
  walk(join(mesh.dir, 'pods'));
  return out;
}

export function rootRotation(): Scenario {
  return {
    name: 'root-rotation',
    title: 'Trust-anchor rotation under load: ferry certs rotate-root add, switch, remove-old (60 s certificates)',
    expectation: '0 failed; each step reaches every sidecar at its own renewal; switch and remove-old refused while sidecars lag',
    upArgs: ['--cert-ttl', String(ROOT_ROTATION_CERT_TTL_S)],
    async run(mesh, o) {
      const pods = mesh.readState().pods.filter((p) => p.meshed);
      const oldRoot = TrustBundle.fromPem(readFileSync(join(mesh.dir, 'pki', 'root', 'root-cert.pem'), 'utf8')).fingerprints[0];
      let newRoot = '';
      const phaseMs: Record<string, number | null> = { add: null, switch: null, 'remove-old': null };
      const refusals: string[] = [];
      const problems: string[] = [];
      const pids = new Map(pods.map((p) => [p.name, mesh.pid(p.name, 'ferry-proxy')]));
      const stepOk = async (step: string): Promise<void> => {
        const r = await rotateRoot(mesh, step);
        o.log(`  ferry certs rotate-root ${step} (exit ${r.code}):\n${r.output.replace(/^/gm, '    ')}`);
        if (r.code !== 0) throw new Error(`rotate-root ${step} failed: ${r.output}`);
        // ferry up copies the bundle into every pod's root file within a second.
        await sleep(2000);
        const stale = staleRootFiles(mesh);
        if (stale.length > 0) problems.push(`after ${step}, pod root files differ from the CA's bundle: ${stale.join(', ')}`);
      };
      const tooEarly = async (step: string): Promise<void> => {
        const r = await rotateRoot(mesh, step);
        o.log(`  ferry certs rotate-root ${step}, too early (exit ${r.code}):\n${r.output.replace(/^/gm, '    ')}`);
        if (r.code === 1 && /FERRY_ERR_ROOT_ROTATION/.test(r.output)) refusals.push(step);
        else problems.push(`rotate-root ${step} run before the sidecars were ready was not refused (exit ${r.code})`);
      };
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: 3000 + 3 * STEP_TIMEOUT_MS + 5000, tailMs: 10_000, warmMs: 3000 }, async (marks) => {
        marks.start();
        let t = o.clock.now();
        await stepOk('add');
        newRoot = TrustBundle.fromPem(readFileSync(join(mesh.dir, 'pki', 'root-next', 'root-cert.pem'), 'utf8')).fingerprints[0];
        await tooEarly('switch');
        await waitAll('every sidecar to trust the new root', pods, (id) => id.trustedRoots.includes(newRoot) && id.trustedRoots.includes(oldRoot), o.clock);
        phaseMs.add = Math.round(o.clock.now() - t);
        t = o.clock.now();
        await stepOk('switch');
        await tooEarly('remove-old');
        await waitAll('every sidecar to hold a certificate under the new root', pods, (id) => id.root === newRoot, o.clock);
        phaseMs.switch = Math.round(o.clock.now() - t);
        t = o.clock.now();
        await stepOk('remove-old');
        await waitAll('every sidecar to trust the new root only', pods, (id) => id.trustedRoots.length === 1 && id.trustedRoots[0] === newRoot && id.root === newRoot, o.clock);
        phaseMs['remove-old'] = Math.round(o.clock.now() - t);
        marks.end();
      });
      for (const p of pods) if (mesh.pid(p.name, 'ferry-proxy') !== pids.get(p.name)) problems.push(`${p.name}'s sidecar restarted`);
      if (refusals.length !== 2) problems.push(`refused ${refusals.length} of 2 early steps`);
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0 && problems.length === 0,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra: {
          'certificate lifetime (s)': ROOT_ROTATION_CERT_TTL_S,
          'sidecars': pods.length,
          'add → every sidecar trusts both roots (ms)': phaseMs.add,
          'switch → every sidecar under the new root (ms)': phaseMs.switch,
          'remove-old → every sidecar trusts the new root only (ms)': phaseMs['remove-old'],
          'early steps refused': refusals.join(', ') || 'none',
        },
        sidecars: run.sidecars,
        notes: problems,
      };
    },
  };
}
