// Tests for building the MeshModel: endpoints per port, route precedence, policies and defaults, warnings.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMeshModel } from './build-model';
import { DEFAULT_OUTLIER, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './defaults';
import { parseObject } from './object-store';
import type { MeshObject } from './types';

const ns = 'shop';
const svc = (name: string, ip: string, ports: Record<string, unknown>[]) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { clusterIP: ip, ports },
});
const slice = (name: string, service: string, ports: Record<string, unknown>[], endpoints: Record<string, unknown>[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports,
  endpoints,
});
const route = (name: string, created: string, rules: Record<string, unknown>[], port?: number) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: ns, creationTimestamp: created },
  spec: { parentRefs: [{ kind: 'Service', name: 'web', ...(port ? { port } : {}) }], rules },
});

function build(raw: unknown[]) {
  return buildMeshModel(raw.map((r) => parseObject(r)).filter((o): o is MeshObject => o !== null));
}

const BASE = [
  svc('web', '10.96.0.10', [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'tcp-admin', port: 9000 }]),
  svc('api', '10.96.0.11', [{ name: 'http', port: 80 }]),
  slice('web-1', 'web', [{ name: 'http', port: 8080 }, { name: 'tcp-admin', port: 9000 }], [
    { addresses: ['10.1.0.2'], conditions: { ready: true }, zone: 'z1', targetRef: { kind: 'Pod', name: 'web-0' } },
    { addresses: ['10.1.0.1'], conditions: { ready: false, terminating: true } },
  ]),
  // The same address in a second slice (handover): the ready copy wins.
  slice('web-2', 'web', [{ name: 'http', port: 8080 }], [
    { addresses: ['10.1.0.1'], conditions: { ready: true }, hints: { forZones: [{ name: 'z2' }] } },
  ]),
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: ns }, spec: { serviceAccountName: 'web-sa' }, status: { podIP: '10.1.0.2' } },
];

test('endpoints: slice ports matched by name, deduplicated, sorted, with pod identity and zone', () => {
  const m = build(BASE);
  const web = m.serviceIndex.get('shop/web')!;
  assert.equal(web.hostname, 'web.shop.svc.cluster.local');
  const http = web.ports[0];
  assert.deepEqual(
    http.endpoints.map((e) => [e.ip, e.port, e.ready, e.zone, e.identity]),
    [
      ['10.1.0.1', 8080, true, 'z2', null],
      ['10.1.0.2', 8080, true, 'z1', 'spiffe://cluster.local/ns/shop/sa/web-sa'],
    ],
  );
  assert.deepEqual(web.ports[1].endpoints.map((e) => [e.ip, e.port, e.ready, e.terminating]), [
    ['10.1.0.1', 9000, false, true],
    ['10.1.0.2', 9000, true, false],
  ]);
  assert.deepEqual(web.ports.map((p) => p.protocol), ['http', 'tcp']);
  assert.equal(m.serviceIndex.get('shop/api')!.ports[0].endpoints.length, 0);
});

test('defaults apply without policies', () => {
  const web = build(BASE).serviceIndex.get('shop/web')!;
  assert.equal(web.trafficPolicy.source, null);
  assert.deepEqual(web.trafficPolicy.retries, DEFAULT_RETRIES);
  assert.deepEqual(web.trafficPolicy.outlierDetection, DEFAULT_OUTLIER);
  assert.equal(web.trafficPolicy.timeoutMs, DEFAULT_TIMEOUT_MS);
  assert.equal(web.accessPolicy.mtlsMode, null, 'no policy: the mesh-wide default applies');
});

test('policies: a TrafficPolicy overrides only what it sets; service AccessPolicy beats the namespace one', () => {
  const m = build([
    ...BASE,
    { apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'a', namespace: ns }, spec: { targetRef: { name: 'web' }, timeout: '2s' } },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'b', namespace: ns }, spec: { targetRef: { name: 'web' }, timeout: '9s' } },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: 'ns', namespace: ns }, spec: { targetRef: { kind: 'Namespace', name: ns }, mtls: { mode: 'STRICT' } } },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: 'api', namespace: ns }, spec: { targetRef: { kind: 'Service', name: 'api' }, mtls: { mode: 'PERMISSIVE' } } },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'c', namespace: ns }, spec: { targetRef: { name: 'gone' } } },
  ]);
  const web = m.serviceIndex.get('shop/web')!;
  assert.equal(web.trafficPolicy.source, 'shop/a');
  assert.equal(web.trafficPolicy.timeoutMs, 2000);
  assert.deepEqual(web.trafficPolicy.retries, DEFAULT_RETRIES);
  assert.equal(web.accessPolicy.source, 'shop/ns');
  assert.equal(web.accessPolicy.mtlsMode, 'STRICT');
  assert.equal(m.serviceIndex.get('shop/api')!.accessPolicy.mtlsMode, 'PERMISSIVE');
  assert.deepEqual(m.warnings, [
    'TrafficPolicy shop/b: ignored, TrafficPolicy shop/a already targets shop/web',
    'TrafficPolicy shop/c: Service shop/gone not found',
  ]);
});

test('routes: Gateway API precedence across rules and routes; HTTP ports only when no port is given', () => {
  const m = build([
    ...BASE,
    route('young', '2024-02-01T00:00:00Z', [
      { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'api', port: 80 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/a' }, headers: [{ name: 'x', value: '1' }] }] },
    ]),
    route('old', '2024-01-01T00:00:00Z', [
      { matches: [{ path: { type: 'PathPrefix', value: '/a' }, headers: [{ name: 'x', value: '1' }] }], backendRefs: [{ name: 'web', port: 80, weight: 3 }, { name: 'missing', port: 80 }] },
      { matches: [{ path: { type: 'Exact', value: '/z' } }, { path: { type: 'PathPrefix', value: '/a' }, method: 'GET' }] },
    ]),
  ]);
  const web = m.serviceIndex.get('shop/web')!;
  assert.deepEqual([...web.routes.keys()], [80]);
  const list = web.routes.get(80)!;
  assert.deepEqual(
    list.map((r) => [r.source, r.rule, r.match.path?.value]),
    [
      ['shop/old', 1, '/z'],
      ['shop/old', 1, '/a'], // method beats headers
      ['shop/old', 0, '/a'], // older route wins the tie
      ['shop/young', 1, '/a'],
      ['shop/young', 0, '/'],
    ],
  );
  assert.deepEqual(list[2].backends.map((b) => [b.hostname, b.port, b.weight]), [['web.shop.svc.cluster.local', 80, 3]]);
  assert.equal(list[2].droppedBackends, 1);
  // No backendRefs: the parent service itself.
  assert.deepEqual(list[0].backends.map((b) => b.hostname), ['web.shop.svc.cluster.local']);
  assert.deepEqual(m.warnings, ['HTTPRoute shop/old: rules[0] backend shop/missing:80 not found']);
});

test('the model is frozen and its version follows content', () => {
  const a = build(BASE);
  const b = build(BASE);
  assert.equal(a.version, b.version);
  assert.throws(() => (a.services as unknown[]).push(1));
  assert.throws(() => (a.serviceIndex as Map<string, unknown>).set('x', 1));
  const c = build([...BASE.slice(1), svc('web', '10.96.0.99', [{ name: 'http', port: 80 }])]);
  assert.notEqual(a.version, c.version);
});

test('a rebuild keeps unchanged services as the same objects; a changed one is new', () => {
  const objs = (ip: string) =>
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'ns' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b', namespace: 'ns' }, spec: { clusterIP: '10.96.0.2', ports: [{ name: 'http', port: 80 }] } },
      {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'b-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'b' } },
        addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: [ip] }],
      },
    ].map((r) => parseObject(r)).filter((o): o is MeshObject => o !== null);
  const first = buildMeshModel(objs('10.1.0.1'));
  const same = buildMeshModel(objs('10.1.0.1'), { previous: first });
  assert.equal(same.version, first.version);
  assert.equal(same.services[0], first.services[0]);
  assert.equal(same.services[1], first.services[1]);
  const moved = buildMeshModel(objs('10.1.0.9'), { previous: first });
  assert.notEqual(moved.version, first.version);
  assert.equal(moved.services[0], first.services[0], 'a did not change');
  assert.notEqual(moved.services[1], first.services[1], 'b has a new endpoint');
  assert.equal(moved.services[1].ports[0].endpoints[0].ip, '10.1.0.9');
});
