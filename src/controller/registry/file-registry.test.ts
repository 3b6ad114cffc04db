// Tests for the file registry: the sample mesh, ClusterIP allocation, bad input keeping the previous model, watching.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../observability/logger';
import type { MeshModel } from '../model/types';
import { FileRegistry } from './file-registry';
import { ClusterIpAllocator } from './ip-allocator';

export const EXAMPLE_MESH = join(__dirname, '..', '..', '..', '..', 'examples', 'mesh');
const quiet = new Logger('test', 'off');

function copyExample(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(EXAMPLE_MESH, dir, { recursive: true });
  return dir;
}

test('the sample mesh loads: services, allocated ClusterIP, endpoints, routes, policies', async () => {
  const reg = new FileRegistry({ path: EXAMPLE_MESH, watch: false, logger: quiet });
  const models: MeshModel[] = [];
  await reg.start((m) => models.push(m));
  assert.equal(models.length, 1);
  const m = models[0];
  assert.deepEqual(m.services.map((s) => s.name), ['ratings', 'reviews', 'reviews-v2']);
  const reviews = m.serviceIndex.get('demo/reviews')!;
  assert.ok(reviews.clusterIP && new ClusterIpAllocator().contains(reviews.clusterIP), `allocated ${reviews.clusterIP}`);
  assert.deepEqual(reg.debug().allocations, [{ service: 'demo/reviews', clusterIP: reviews.clusterIP }]);
  assert.equal(reviews.ports[0].endpoints.length, 4);
  assert.equal(reviews.ports[0].endpoints.filter((e) => e.ready).length, 2);
  assert.equal(reviews.trafficPolicy.source, 'demo/reviews');
  assert.equal(reviews.trafficPolicy.loadBalancer.type, 'LeastRequest');
  assert.equal(reviews.accessPolicy.source, 'demo/demo-defaults');
  assert.equal(reviews.routes.get(9080)!.length, 3);
  assert.deepEqual(m.warnings, []);
  await reg.stop();
});

test('allocation is deterministic, avoids explicit addresses, and is stable while the service exists', () => {
  const a = new ClusterIpAllocator('10.96.0.0/30'); // two usable addresses
  const first = a.allocate(['ns/a'], new Set());
  const ipA = first.get('ns/a')!;
  assert.ok(['10.96.0.1', '10.96.0.2'].includes(ipA));
  // The other address is claimed explicitly: a keeps its own, and b finds none left.
  const other = ipA === '10.96.0.1' ? '10.96.0.2' : '10.96.0.1';
  assert.equal(a.allocate(['ns/a'], new Set([other])).get('ns/a'), ipA);
  assert.throws(() => a.allocate(['ns/a', 'ns/b'], new Set([other])), /exhausted \(ns\/b needs an address\)/);
  assert.equal(new ClusterIpAllocator('10.96.0.0/30').allocate(['ns/a'], new Set()).get('ns/a'), ipA);
  // An explicit claim on a's address moves a.
  assert.equal(a.allocate(['ns/a'], new Set([ipA])).get('ns/a'), other);
  assert.throws(() => new ClusterIpAllocator('fd00::/64'), /serviceCidr: fd00::\/64 is not an IPv4 CIDR/);
  const big = new ClusterIpAllocator();
  const m1 = big.allocate(['x/1', 'x/2', 'x/3'], new Set());
  const m2 = big.allocate(['x/1', 'x/2', 'x/3', 'x/4'], new Set());
  for (const k of ['x/1', 'x/2', 'x/3']) assert.equal(m2.get(k), m1.get(k));
  assert.equal(new Set(m2.values()).size, 4);
});

test('malformed YAML and invalid objects are reported with file, line and path; the previous model stays', async (t) => {
  const dir = copyExample(t);
  const errors: Error[] = [];
  const reg = new FileRegistry({ path: dir, watch: false, logger: quiet, onError: (e) => errors.push(e) });
  const models: MeshModel[] = [];
  await reg.start((m) => models.push(m));
  const before = models[0];

  writeFileSync(join(dir, 'services.yaml'), readFileSync(join(dir, 'services.yaml'), 'utf8') + '\n---\nkind: Service\n  bad: [\n');
  assert.equal(await reg.reload(), false);
  assert.match(errors[0].message, /services\.yaml:\d+:\d+: document 4: /);
  assert.equal(reg.model, before);

  const policies = readFileSync(join(dir, 'policies.yaml'), 'utf8');
  writeFileSync(join(dir, 'services.yaml'), readFileSync(join(EXAMPLE_MESH, 'services.yaml'), 'utf8'));
  writeFileSync(join(dir, 'policies.yaml'), policies.replace('    attempts: 2', '    attemps: 2'));
  assert.equal(await reg.reload(), false);
  const line = policies.split('\n').findIndex((l) => l.includes('attempts: 2')) + 1;
  assert.equal(errors[1].message, `${join(dir, 'policies.yaml')}:${line}: document 1: TrafficPolicy demo/reviews: spec.retries.attemps: unknown field`);
  assert.equal(reg.model, before);
  assert.equal(reg.debug().lastError, errors[1].message);
  assert.equal(models.length, 1);

  writeFileSync(join(dir, 'policies.yaml'), policies);
  writeFileSync(join(dir, 'extra.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: demo}\nspec: {ports: [{port: 1}]}\n');
  assert.equal(await reg.reload(), false);
  assert.match(errors[2].message, /services\.yaml:\d+: Service demo\/reviews is also defined at .*extra\.yaml:1/);

  rmSync(join(dir, 'extra.yaml'));
  assert.equal(await reg.reload(), false, 'an unchanged model is not published again');
  assert.equal(reg.debug().lastError, null);
  assert.equal(models.length, 1);
  await reg.stop();
});

test('the first load failing rejects start()', async (t) => {
  const dir = copyExample(t);
  writeFileSync(join(dir, 'services.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: nope\n');
  const reg = new FileRegistry({ path: dir, watch: false, logger: quiet });
  await assert.rejects(reg.start(() => undefined), (e: Error) => {
    assert.equal(e.message, `${join(dir, 'services.yaml')}:5: document 1: Service default/x: spec.clusterIP: "nope" is not an IP address`);
    return true;
  });
});

test('a changed EndpointSlice file is picked up by the watcher; the allocation survives the reload', async (t) => {
  const dir = copyExample(t);
  const reg = new FileRegistry({ path: dir, debounceMs: 20, logger: quiet });
  t.after(() => reg.stop());
  let resolveNext: (m: MeshModel) => void = () => undefined;
  const models: MeshModel[] = [];
  await reg.start((m) => {
    models.push(m);
    resolveNext(m);
  });
  const next = new Promise<MeshModel>((r) => (resolveNext = r));
  const text = readFileSync(join(dir, 'endpoints.yaml'), 'utf8').replace('10.1.0.21', '10.1.0.22');
  writeFileSync(join(dir, 'endpoints.yaml'), text);
  const m = await next;
  assert.deepEqual(m.serviceIndex.get('demo/reviews-v2')!.ports[0].endpoints.map((e) => e.ip), ['10.1.0.22']);
  assert.equal(m.serviceIndex.get('demo/reviews')!.clusterIP, models[0].serviceIndex.get('demo/reviews')!.clusterIP);
});

test('a single file works as a registry', async (t) => {
  const dir = copyExample(t);
  const reg = new FileRegistry({ path: join(dir, 'services.yaml'), watch: false, logger: quiet });
  let model: MeshModel | null = null;
  await reg.start((m) => (model = m));
  assert.equal(model!.services.length, 3);
  await reg.stop();
});

test('files replaced by rename are still seen, change after change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-rename-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = (port: number): string =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: ${port}, targetPort: 8080}]\n`;
  writeFileSync(join(dir, 'svc.yaml'), svc(80));
  const reg = new FileRegistry({ path: dir, debounceMs: 20, pollMs: 100, logger: quiet });
  const ports: number[] = [];
  await reg.start((m) => ports.push(m.services[0].ports[0].port));
  t.after(() => reg.stop());
  for (const p of [81, 82, 83]) {
    writeFileSync(join(dir, '.svc.tmp'), svc(p));
    renameSync(join(dir, '.svc.tmp'), join(dir, 'svc.yaml'));
    const deadline = Date.now() + 3_000;
    while (ports[ports.length - 1] !== p && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(ports, [80, 81, 82, 83]);
});

test('writes more often than the quiet period are still read, at least every maxDebounceMs, and the last one wins', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-stream-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = (port: number): string =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{name: http, port: ${port}, targetPort: 8080}]\n`;
  writeFileSync(join(dir, 'svc.yaml'), svc(1000));
  const reg = new FileRegistry({ path: dir, debounceMs: 50, maxDebounceMs: 100, pollMs: 0, logger: quiet });
  const ports: number[] = [];
  await reg.start((m) => ports.push(m.services[0].ports[0].port));
  t.after(() => reg.stop());
  // A write every 5 ms for 1 s: never a 50 ms pause, so without the bound nothing would load until the end.
  let port = 1000;
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    port++;
    writeFileSync(join(dir, '.svc.tmp'), svc(port));
    renameSync(join(dir, '.svc.tmp'), join(dir, 'svc.yaml'));
    await new Promise((r) => setTimeout(r, 5));
  }
  const during = ports.length - 1;
  assert.ok(during >= 4, `${during} reloads during 1 s of writes every 5 ms (bound 100 ms)`);
  assert.ok(during < port - 1000, `${during} reloads for ${port - 1000} writes: the writes were not gathered`);
  const deadline = Date.now() + 3_000;
  while (ports[ports.length - 1] !== port && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(ports[ports.length - 1], port, 'the last write is the model');
});

test('a folder registry sees files replaced by rename through its watcher alone, and a new sub-folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = (name: string, port: number): string =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: demo}\nspec:\n  ports: [{name: http, port: ${port}, targetPort: 8080}]\n`;
  writeFileSync(join(dir, 'svc.yaml'), svc('web', 80));
  // No stat sweep: only file events can bring the changes in.
  const reg = new FileRegistry({ path: dir, debounceMs: 20, pollMs: 0, logger: quiet });
  const seen: string[] = [];
  await reg.start((m) => seen.push(m.services.map((s) => `${s.name}:${s.ports[0].port}`).join(',')));
  t.after(() => reg.stop());
  const waitSeen = async (want: string): Promise<void> => {
    const deadline = Date.now() + 3_000;
    while (seen[seen.length - 1] !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen[seen.length - 1], want);
  };
  for (const p of [81, 82, 83]) {
    writeFileSync(join(dir, 'svc.yaml.tmp'), svc('web', p));
    renameSync(join(dir, 'svc.yaml.tmp'), join(dir, 'svc.yaml'));
    await waitSeen(`web:${p}`);
  }
  mkdirSync(join(dir, 'more'));
  writeFileSync(join(dir, 'more', 'api.yaml'), svc('api', 90));
  await waitSeen('api:90,web:83');
  writeFileSync(join(dir, 'more', 'api.yaml.tmp'), svc('api', 91));
  renameSync(join(dir, 'more', 'api.yaml.tmp'), join(dir, 'more', 'api.yaml'));
  await waitSeen('api:91,web:83');
});
