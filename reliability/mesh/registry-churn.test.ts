// Tests for the registry churn: every step changes what the controller pushes, never which endpoints serve; the driver paces and writes whole files.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/clock/clock';
import { buildMeshModel } from '../../src/controller/model/build-model';
import { parseObject } from '../../src/controller/model/object-store';
import type { MeshObject } from '../../src/controller/model/types';
import { loadAssignment } from '../../src/controller/translate/clusters';
import { churnRegistry, churnStep, extraPresent, servingAddresses, type ChurnTarget, type RegistryList } from './registry-churn';

const T: ChurnTarget = { namespace: 'chaos', service: 'catalog', port: 8080, replicaIps: ['10.200.0.2', '10.200.0.3', '10.200.0.4'], spareIps: ['10.200.0.240', '10.200.0.241', '10.200.0.242', '10.200.0.243'] };

/** A registry as ferry up writes it: the Service with its clusterIP, one slice per replica, a terminating one among them. */
function base(): RegistryList {
  const slice = (pod: string, ip: string, conditions: Record<string, boolean>) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `catalog-${pod}`, namespace: 'chaos', labels: { 'kubernetes.io/service-name': 'catalog' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [ip], conditions, targetRef: { kind: 'Pod', namespace: 'chaos', name: pod } }],
  });
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'chaos', labels: { 'ferry.io/inject': 'enabled' } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'catalog', namespace: 'chaos' }, spec: { clusterIP: '10.96.0.10', selector: { app: 'catalog' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } },
      slice('catalog-0', '10.200.0.2', { ready: true }),
      slice('catalog-1', '10.200.0.3', { ready: true }),
      slice('catalog-2', '10.200.0.4', { ready: true }),
    ],
  };
}

/** The catalog's load assignment as the controller translates this registry. */
function pushed(list: RegistryList): { addresses: string[]; localities: string[]; extra: number | null } {
  const objects = list.items.map((o, i) => parseObject(o, `items[${i}]`)).filter((o): o is MeshObject => o !== null);
  const model = buildMeshModel(objects);
  const svc = model.serviceIndex.get('chaos/catalog')!;
  const cla = loadAssignment(svc, svc.ports[0]) as { endpoints: { locality: { zone?: string }; lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[] };
  const addresses = cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address)).sort();
  const localities = cla.endpoints.map((l) => `${l.locality.zone ?? ''}=${l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address).join(',')}`);
  const extra = model.serviceIndex.get('chaos/churn-extra')?.ports[0].endpoints.length ?? null;
  return { addresses, localities, extra };
}

test('every churn step keeps exactly the real replicas serving, and changes what is pushed', () => {
  let prev = JSON.stringify(base());
  let prevPushed = '';
  for (let step = 0; step < 300; step++) {
    const list = churnStep(JSON.parse(prev) as RegistryList, step, T);
    const p = pushed(list);
    assert.deepEqual(p.addresses, T.replicaIps, `step ${step}: the catalog's load assignment`);
    assert.deepEqual(servingAddresses(list, T), T.replicaIps, `step ${step}: serving in the registry`);
    assert.equal(p.extra, extraPresent(step) ? 1 + (step % 4) : null, `step ${step}: the extra service's endpoints`);
    const text = JSON.stringify(list);
    assert.notEqual(text, prev, `step ${step} changes the registry`);
    const now = JSON.stringify(p);
    // The real endpoints move between localities at every step.
    assert.notEqual(now, prevPushed, `step ${step} changes what the controller pushes: ${now}`);
    prevPushed = now;
    prev = text;
  }
});

test('a churn step is an overlay: it depends on the step and the registry, not on earlier churn', () => {
  const fresh = churnStep(base(), 137, T);
  const after = churnStep(churnStep(churnStep(base(), 3, T), 48, T), 137, T);
  assert.deepEqual(after, fresh);
  // What ferry up wrote (conditions, targetRef, other objects) is kept.
  const slices = fresh.items.filter((o) => o.metadata.name.startsWith('catalog-catalog-'));
  assert.deepEqual(slices.map((s) => s.endpoints?.[0].conditions), [{ ready: true }, { ready: true }, { ready: true }]);
  assert.deepEqual(slices.map((s) => s.endpoints?.[0].targetRef?.name), ['catalog-0', 'catalog-1', 'catalog-2']);
  assert.ok(fresh.items.some((o) => o.kind === 'Namespace'));
});

test('a replica ferry up marks not ready or terminating stays out of serving under churn', () => {
  const list = base();
  list.items[3].endpoints![0].conditions = { ready: false, serving: true, terminating: true };
  for (const step of [0, 1, 2, 77]) assert.deepEqual(pushed(churnStep(list, step, T)).addresses, ['10.200.0.2', '10.200.0.4'], `step ${step}`);
});

test('the driver writes whole registries at its rate, for its duration, and counts rewrites by someone else', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-churn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'mesh.json');
  writeFileSync(file, `${JSON.stringify(base())}\n`);
  // Someone else (ferry up) rewrites the file once mid-run.
  const other = systemClock.setTimeout(() => writeFileSync(file, `${JSON.stringify(base())}\n`), 300);
  t.after(() => systemClock.clearTimeout(other));
  const f = await churnRegistry(file, T, { ratePerS: 50, durationMs: 600, clock: systemClock });
  assert.equal(f.written + f.skipped, 30);
  assert.equal(f.lastStep, 29);
  assert.equal(f.rewrittenMeanwhile, 1);
  assert.ok(f.elapsedMs >= 560 && f.elapsedMs < 1500, `elapsed ${f.elapsedMs} ms`);
  const final = JSON.parse(readFileSync(file, 'utf8')) as RegistryList;
  assert.deepEqual(final, churnStep(base(), 29, T));
});
