// Acceptance 7 through a running controller: malformed YAML and an invalid object in the registry
// folder are reported with file, line and field path (log and /debug/registry); the previous model
// stays, so the sidecar keeps its configuration and traffic; a fixed folder is picked up again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeVip, getJson, httpGet, namedServer, registry, sleep, startController, startSidecar, tempDir, waitFor, writeAtomic } from './mesh-processes';

interface SynczProxy {
  types: Record<string, { status: string; versionAcked?: string }>;
}
interface RegistryDebug {
  lastError: string | null;
  failedReloads: number;
  modelVersion: string;
}

const POLICY_WITH_TYPO = `apiVersion: ferry.io/v1alpha1
kind: TrafficPolicy
metadata: {name: web, namespace: shop}
spec:
  targetRef: {name: web}
  retries:
    attemps: 3
`;

test('bad registry input is reported with file and path; the previous model and the proxies\' config stay', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-bad-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const a = await namedServer(t, 'A');
  const b = await namedServer(t, 'B');
  const vip = await freeVip();
  writeFileSync(join(reg, 'service.yaml'), registry.service('web', 'shop', vip.ip, vip.port));
  const slice = join(reg, 'endpoints.yaml');
  writeFileSync(slice, registry.endpointSlice('web', 'shop', 'http', a.port, ['127.0.0.1']));
  const controller = await startController(t, reg);
  const sidecar = await startSidecar(t, dir, controller.ports.xds, { name: 'client-0', namespace: 'shop', ip: '127.0.0.1' });
  const admin = controller.ports.admin;
  const diag = (): string => `\n--- controller ---\n${controller.log().slice(-3000)}\n--- sidecar ---\n${sidecar.log().slice(-2000)}`;

  try {
    await waitFor('traffic to A', async () => (await httpGet(vip.ip, vip.port)).body === 'A');
    const good = await waitFor('SYNCED', async () => {
      const s = await getJson<SynczProxy[]>(admin, '/debug/syncz');
      return s[0] && ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => s[0].types[ty]?.status === 'SYNCED') ? s[0] : null;
    });
    const model = (await getJson<RegistryDebug>(admin, '/debug/registry')).modelVersion;

    // 1. Malformed YAML (an unclosed flow sequence): file, line and column.
    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'http', b.port, ['127.0.0.1']).replace('addresses: ["127.0.0.1"]', 'addresses: ["127.0.0.1"'));
    const broken = await waitFor('the reload to fail', async () => {
      const d = await getJson<RegistryDebug>(admin, '/debug/registry');
      return d.failedReloads >= 1 ? d : null;
    });
    assert.match(broken.lastError ?? '', new RegExp(`${slice.replace(/[.]/g, '\\.')}:\\d+:\\d+: document 1: `));
    assert.equal(broken.modelVersion, model, 'the previous model stays');
    t.diagnostic(`malformed: ${broken.lastError!.replace(dir, '$TMP')}`);
    assert.match(controller.log(), /registry reload failed; keeping the previous model.*endpoints\.yaml:\d+:\d+/);

    // 2. A well-formed file with an unknown CRD field: file, line and the field's path.
    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'http', a.port, ['127.0.0.1']));
    writeAtomic(join(reg, 'policy.yaml'), POLICY_WITH_TYPO);
    const invalid = await waitFor('the typo to be reported', async () => {
      const d = await getJson<RegistryDebug>(admin, '/debug/registry');
      return /attemps/.test(d.lastError ?? '') ? d : null;
    });
    assert.match(invalid.lastError!, /policy\.yaml:7: .*TrafficPolicy shop\/web: spec\.retries\.attemps: unknown field/);
    assert.equal(invalid.modelVersion, model);
    t.diagnostic(`invalid: ${invalid.lastError!.replace(dir, '$TMP')}`);

    // Meanwhile the proxy kept its configuration: same versions ACKed, still SYNCED, still serving A.
    await sleep(300);
    const now = (await getJson<SynczProxy[]>(admin, '/debug/syncz'))[0];
    for (const ty of ['CDS', 'EDS', 'LDS', 'RDS']) {
      assert.equal(now.types[ty].status, 'SYNCED', ty);
      assert.equal(now.types[ty].versionAcked, good.types[ty].versionAcked, `${ty} version unchanged`);
    }
    for (let i = 0; i < 20; i++) assert.equal((await httpGet(vip.ip, vip.port)).body, 'A');

    // 3. Fixed: the folder loads again and the change it carries reaches traffic.
    writeAtomic(join(reg, 'policy.yaml'), POLICY_WITH_TYPO.replace('attemps', 'attempts'));
    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'http', b.port, ['127.0.0.1']));
    await waitFor('traffic to B after the fix', async () => (await httpGet(vip.ip, vip.port)).body === 'B', 5_000);
    const fixed = await getJson<RegistryDebug>(admin, '/debug/registry');
    assert.equal(fixed.lastError, null);
    assert.notEqual(fixed.modelVersion, model);
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`);
  }
});
