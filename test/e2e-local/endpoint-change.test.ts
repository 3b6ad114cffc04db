// Acceptance 1: a registry folder → `ferry controller` (bind mode) → a `ferry proxy` sidecar. Rewriting
// the EndpointSlice file moves traffic through the running sidecar within a second, with no failed request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { freeVip, getJson, httpGet, loadLoop, namedServer, registry, sleep, startController, startSidecar, tempDir, waitFor, writeAtomic } from './mesh-processes';

interface SynczProxy {
  id: string;
  types: Record<string, { status: string }>;
}

test('an EndpointSlice file change reaches traffic through a running sidecar within 1 s, with zero failed requests', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-endpoints-');
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
  const diag = (): string => `\n--- controller ---\n${controller.log().slice(-3000)}\n--- sidecar ---\n${sidecar.log().slice(-3000)}`;

  try {
    await waitFor('traffic through the sidecar to A', async () => (await httpGet(vip.ip, vip.port)).body === 'A');
    const syncz = await waitFor('every type SYNCED', async () => {
      const s = await getJson<SynczProxy[]>(controller.ports.admin, '/debug/syncz');
      return s.length === 1 && ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => s[0].types[ty]?.status === 'SYNCED') ? s : null;
    });
    assert.equal(syncz[0].id, sidecar.id);

    const load = loadLoop(vip.ip, vip.port, 4);
    t.after(() => load.stop());
    await waitFor('load is flowing', () => load.count('A') > 20);
    const changedAt = Date.now();
    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'http', b.port, ['127.0.0.1']));
    const firstB = await waitFor('traffic at B', () => load.answers.find((x) => x.body === 'B' && x.at >= changedAt) ?? null, 5_000, 5);
    const tookMs = firstB.at - changedAt;
    await sleep(500);
    await load.stop();

    assert.deepEqual(load.failures, [], 'no failed request');
    assert.ok(tookMs < 1_000, `B first answered ${tookMs} ms after the file changed`);
    // Once B answered, A no longer does (the last 100 answers are all B).
    const tail = load.answers.slice(-100).map((x) => x.body);
    assert.deepEqual([...new Set(tail)], ['B'], 'all traffic moved');
    assert.ok(load.count('A') > 0 && load.count('B') > 50, `A ${load.count('A')}, B ${load.count('B')}`);
    t.diagnostic(`endpoint change reached traffic in ${tookMs} ms; ${load.answers.length} requests, 0 failed`);
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`);
  }
});

test('a Service removed from the folder closes its VIP listener; added back, it serves again', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-service-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const a = await namedServer(t, 'A');
  const vip = await freeVip();
  const svc = join(reg, 'service.yaml');
  writeFileSync(svc, registry.service('web', 'shop', vip.ip, vip.port));
  writeFileSync(join(reg, 'endpoints.yaml'), registry.endpointSlice('web', 'shop', 'http', a.port, ['127.0.0.1']));
  const controller = await startController(t, reg);
  const sidecar = await startSidecar(t, dir, controller.ports.xds, { name: 'client-0', namespace: 'shop', ip: '127.0.2.1' });
  try {
    await waitFor('traffic to A', async () => (await httpGet(vip.ip, vip.port)).body === 'A');
    rmSync(svc);
    const refused = await waitFor('the listener to close', async () => {
      // A connection caught in the accept queue while the listener closes is reset; keep asking
      // until the address refuses outright.
      const r = await httpGet(vip.ip, vip.port).then(() => null, (err: NodeJS.ErrnoException) => err.code ?? 'error');
      return r === 'ECONNREFUSED' ? r : null;
    }, 5_000);
    assert.equal(refused, 'ECONNREFUSED');
    writeAtomic(svc, registry.service('web', 'shop', vip.ip, vip.port));
    await waitFor('traffic to A again', async () => (await httpGet(vip.ip, vip.port)).body === 'A', 5_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- controller ---\n${controller.log().slice(-3000)}\n--- sidecar ---\n${sidecar.log().slice(-3000)}`);
  }
});
