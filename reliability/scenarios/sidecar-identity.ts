// The sidecars' certificates for the certificate scenarios: renewal through each pod's admin port, the identity metrics, and `ferry check`.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { sidecarIdentity, type SidecarIdentity } from '../../src/cli/check/identity-check';
import { FERRY, type Mesh, type MeshPod } from '../mesh/mesh-up';
import { sidecarMetrics } from './sidecar-metrics';

function run(argv: readonly string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
    });
  });
}

/** POST /identity/renew on the pod's sidecar admin port (inside its network namespace): the new serial and expiry. */
export async function renewNow(pod: MeshPod, timeoutMs = 15_000): Promise<{ serial: string; notAfter: string; root: string }> {
  if (!pod.sidecar?.admin || !pod.netns) throw new Error(`pod ${pod.name} has no sidecar admin address in a network namespace`);
  const r = await run(['ip', 'netns', 'exec', pod.netns, 'curl', '-sS', '--max-time', String(timeoutMs / 1000), '-X', 'POST', '-w', '\n%{http_code}', `http://${pod.sidecar.admin}/identity/renew`], timeoutMs + 2000);
  const lines = r.stdout.trimEnd().split('\n');
  const status = lines.pop();
  if (r.code !== 0 || status !== '200') throw new Error(`renewing ${pod.name}'s certificate: HTTP ${status ?? '?'} ${lines.join(' ')} ${r.stderr}`.trim());
  return JSON.parse(lines.join('\n')) as { serial: string; notAfter: string; root: string };
}

/** The pod's certificate as its sidecar's metrics tell it, and the failed renewal attempts it counted. */
export async function identityOf(pod: MeshPod): Promise<SidecarIdentity & { failedAttempts: number; expirySeconds: number | null }> {
  const samples = await sidecarMetrics(pod);
  const failed = samples.find((s) => s.name === 'ferry_identity_renewals_total' && s.labels.result === 'failure')?.value ?? 0;
  const expiry = samples.find((s) => s.name === 'ferry_identity_cert_expiry_seconds')?.value ?? null;
  return { ...sidecarIdentity(samples), failedAttempts: failed, expirySeconds: expiry };
}

/** `ferry check --state` on the mesh's state file: its exit code and output. */
export function ferryCheck(mesh: Mesh): Promise<{ code: number; stdout: string; stderr: string }> {
  return run([process.execPath, FERRY, 'check', '--state', join(mesh.dir, 'state.json')], 20_000);
}

/** The back-off delays (ms) the sidecar's log announced after failed renewals, in order. */
export function retryDelaysLogged(log: string): number[] {
  const out: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('certificate request failed; retrying')) continue;
    const m = /"retryInMs":(\d+)/.exec(line);
    if (m) out.push(Number(m[1]));
  }
  return out;
}
