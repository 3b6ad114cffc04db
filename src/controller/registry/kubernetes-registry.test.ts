// The Kubernetes registry against recorded list/watch responses from a fake API server on 127.0.0.1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '../../observability/logger';
import type { MeshModel } from '../model/types';
import { FakeKubeApi } from './fake-kube-api.fixture';
import { KubernetesRegistry } from './kubernetes-registry';

const LISTS = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'src', 'controller', 'registry', 'testdata', 'kube-lists.json'), 'utf8')) as Record<string, any>;
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const SERVICES = '/api/v1/services';
const PODS = '/api/v1/pods';
const POLICIES = '/apis/ferry.io/v1alpha1/trafficpolicies';

async function kubeConfig(server: string) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'not-a-secret' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
    currentContext: 'fake',
  });
  return kc;
}

/** Collects models; `next()` resolves with the next one published. */
function models() {
  const all: MeshModel[] = [];
  let waiting: ((m: MeshModel) => void) | null = null;
  return {
    all,
    onChange: (m: MeshModel) => {
      all.push(m);
      const w = waiting;
      waiting = null;
      w?.(m);
    },
    next: () => new Promise<MeshModel>((r) => (waiting = r)),
  };
}

function slice(resourceVersion: string, ips: string[]) {
  const s = structuredClone(LISTS[SLICES].items[0]);
  s.apiVersion = 'discovery.k8s.io/v1';
  s.kind = 'EndpointSlice';
  s.metadata.resourceVersion = resourceVersion;
  s.endpoints = ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, zone: 'zone-a' }));
  return s;
}

test('list, watch events, 410 Gone re-list, back-off after errors, optional CRDs, invalid objects', { timeout: 20_000 }, async (t) => {
  const api = new FakeKubeApi();
  for (const [path, body] of Object.entries(LISTS)) api.lists.set(path, body);
  api.failNextLists.set(PODS, [500]); // the first pod list fails: back-off, then retry
  await api.listen();
  const reg = new KubernetesRegistry({
    kubeConfig: await kubeConfig(api.url),
    debounceMs: 5,
    backoffMs: { initial: 20, max: 100 },
    random: () => 0.5,
    logger: new Logger('test', 'off'),
  });
  t.after(async () => {
    await reg.stop();
    await api.close();
  });
  const m = models();
  await reg.start(m.onChange);

  // The first model: everything listed; HTTPRoute (404: not installed) counts as empty.
  assert.equal(m.all.length, 1);
  const reviews = m.all[0].serviceIndex.get('demo/reviews')!;
  assert.equal(reviews.clusterIP, '10.96.0.10');
  assert.deepEqual(reviews.ports[0].endpoints.map((e) => [e.ip, e.identity]), [['10.1.0.11', 'spiffe://cluster.local/ns/demo/sa/reviews']]);
  assert.equal(reviews.trafficPolicy.timeoutMs, 5000);
  assert.deepEqual(api.listRequests.filter((p) => p === PODS).length, 2, 'the pod list was retried');
  const dbg = reg.debug() as { resources: { kind: string; synced: boolean; lists: number }[] };
  const routes = dbg.resources.find((r) => r.kind === 'HTTPRoute')!;
  assert.equal(routes.synced, true);
  assert.equal(routes.lists, 0);
  assert.equal(dbg.resources.find((r) => r.kind === 'Pod')!.lists, 1);

  // Watches resume from the list's resourceVersion.
  await api.watching(SLICES);
  assert.deepEqual(api.watchRequests.find((w) => w.path === SLICES), { path: SLICES, resourceVersion: '1000' });

  // MODIFIED: a second endpoint.
  let next = m.next();
  api.send(SLICES, 'MODIFIED', slice('1001', ['10.1.0.11', '10.1.0.12']));
  assert.deepEqual((await next).serviceIndex.get('demo/reviews')!.ports[0].endpoints.map((e) => e.ip), ['10.1.0.11', '10.1.0.12']);

  // ADDED service, DELETED policy (defaults come back).
  await api.watching(SERVICES);
  await api.watching(POLICIES);
  next = m.next();
  const ratings = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ratings', namespace: 'demo', resourceVersion: '1002' }, spec: { clusterIP: '10.96.0.30', ports: [{ name: 'grpc', port: 50051 }] } };
  api.send(SERVICES, 'ADDED', ratings);
  api.send(POLICIES, 'DELETED', { ...LISTS[POLICIES].items[0], metadata: { ...LISTS[POLICIES].items[0].metadata, resourceVersion: '1003' } });
  let model = await next;
  while (model.serviceIndex.get('demo/reviews')!.trafficPolicy.source !== null || !model.serviceIndex.has('demo/ratings')) model = await m.next();
  assert.equal(model.serviceIndex.get('demo/reviews')!.trafficPolicy.timeoutMs, 15_000);

  // An invalid object from the watch is reported and ignored.
  const bad = { apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'bad', namespace: 'demo', resourceVersion: '1004' }, spec: { targetRef: { name: 'ratings' }, retries: { attemps: 3 } } };
  api.send(POLICIES, 'ADDED', bad);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual((reg.debug() as { invalidObjects: Record<string, string> }).invalidObjects, {
    'TrafficPolicy/demo/bad': 'TrafficPolicy demo/bad: spec.retries.attemps: unknown field',
  });
  assert.equal(reg.model!.serviceIndex.get('demo/ratings')!.trafficPolicy.source, null);

  // 410 Gone: the watch ends with an ERROR event; the informer re-lists and the model follows the new list.
  const listsBefore = api.listRequests.filter((p) => p === SLICES).length;
  api.lists.set(SLICES, { ...LISTS[SLICES], metadata: { resourceVersion: '2000' }, items: [slice('1999', ['10.1.0.13'])] });
  next = m.next();
  api.send(SLICES, 'ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1001 (1500)', reason: 'Expired', code: 410 });
  api.endWatches(SLICES);
  model = await next;
  assert.deepEqual(model.serviceIndex.get('demo/reviews')!.ports[0].endpoints.map((e) => e.ip), ['10.1.0.13']);
  assert.equal(api.listRequests.filter((p) => p === SLICES).length, listsBefore + 1);
  await api.watching(SLICES);
  assert.deepEqual(api.watchRequests.filter((w) => w.path === SLICES).at(-1), { path: SLICES, resourceVersion: '2000' });
});
