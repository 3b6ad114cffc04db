// The pure parts of a ferry up run: addresses, cluster IPs, service env, endpoint slices, $(VAR) expansion, probe thresholds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceObject } from '../../controller/model/types';
import { bindAddresses, netnsAddresses } from './addresses';
import { addressRange, assignClusterIps, expandVars, podEndpointSlices, selects, serviceEnv, targetPortOn } from './plan';
import { probeAction, ProbeState, StartupGate } from './probes';
import type { PodTemplate } from './workload';

function service(name: string, selector: Record<string, string>, clusterIP: string | null = null, namespace = 'shop'): ServiceObject {
  return { kind: 'Service', name, namespace, clusterIP, headless: false, selector, labels: {}, ports: [{ name: 'http', port: 8080, targetPort: 'http', appProtocol: null, protocol: 'http' } as never] };
}

test('addressRange skips .0 and .255', () => {
  assert.deepEqual(addressRange('10.0.0.253', 4), ['10.0.0.253', '10.0.0.254', '10.0.1.1', '10.0.1.2']);
});

test('assignClusterIps keeps a given clusterIP and hands out the free ones in order', () => {
  const ips = assignClusterIps([service('a', {}), service('b', {}, '10.1.0.10'), service('c', {})], ['10.1.0.10', '10.1.0.11', '10.1.0.12']);
  assert.deepEqual([...ips], [['shop/a', '10.1.0.11'], ['shop/b', '10.1.0.10'], ['shop/c', '10.1.0.12']]);
  assert.throws(() => assignClusterIps([service('a', {}), service('b', {})], ['10.1.0.1']), /no service address left for Service shop\/b/);
});

test('serviceEnv gives Kubernetes-style variables for the services of the pod\'s namespace only', () => {
  const services = [service('catalog-v1', {}), service('other', {}, null, 'else')];
  const env = serviceEnv(services, new Map([['shop/catalog-v1', '10.1.0.5'], ['else/other', '10.1.0.6']]), 'shop');
  assert.deepEqual(env, { CATALOG_V1_SERVICE_HOST: '10.1.0.5', CATALOG_V1_SERVICE_PORT: '8080', CATALOG_V1_SERVICE_PORT_HTTP: '8080' });
});

test('selects: every selector label must match; an empty selector selects nothing', () => {
  const cases: [Record<string, string>, Record<string, string>, boolean][] = [
    [{ app: 'a' }, { app: 'a', v: '1' }, true],
    [{ app: 'a', v: '2' }, { app: 'a', v: '1' }, false],
    [{}, { app: 'a' }, false],
  ];
  for (const [sel, labels, want] of cases) assert.equal(selects(sel, labels), want, JSON.stringify([sel, labels]));
});

test('targetPortOn resolves numbers and named container ports', () => {
  const containers = [{ name: 'c', ports: [{ name: 'http', containerPort: 9000 }] }];
  assert.equal(targetPortOn(80, containers), 80);
  assert.equal(targetPortOn('http', containers), 9000);
  assert.equal(targetPortOn('grpc', containers), null);
});

test('podEndpointSlices: one slice per selecting service, readiness and the endpoint port as given', () => {
  const template: PodTemplate = {
    workload: 'Deployment shop/catalog',
    pod: { metadata: { name: 'catalog-0', namespace: 'shop', labels: { app: 'catalog', version: 'v1' }, annotations: {} }, spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] } },
  };
  const services = [service('catalog', { app: 'catalog' }), service('catalog-v2', { app: 'catalog', version: 'v2' }), service('cart', { app: 'cart' })];
  const slices = podEndpointSlices(services, { template, ip: '10.0.0.11', endpointPort: (p) => p + 1, ready: false }) as Record<string, any>[];
  assert.equal(slices.length, 1);
  assert.equal(slices[0].metadata.name, 'catalog-catalog-0');
  assert.equal(slices[0].metadata.labels['kubernetes.io/service-name'], 'catalog');
  assert.deepEqual(slices[0].ports, [{ name: 'http', port: 8081, protocol: 'TCP' }]);
  assert.deepEqual(slices[0].endpoints, [{ addresses: ['10.0.0.11'], conditions: { ready: false }, targetRef: { kind: 'Pod', namespace: 'shop', name: 'catalog-0' } }]);
});

test('expandVars: $(VAR) from the env, unknown ones kept, $$ escapes', () => {
  const env = { PORT: '8080' };
  const cases: [string, string][] = [
    ['--port=$(PORT)', '--port=8080'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(PORT)', '$(PORT)'],
  ];
  for (const [input, want] of cases) assert.equal(expandVars(input, env), want, input);
});

test('ProbeState: thresholds of consecutive results flip the state', () => {
  const s = new ProbeState(2, 3, false);
  const steps: [boolean, boolean][] = [[true, false], [false, false], [true, false], [true, true], [false, true], [false, true], [false, false]];
  for (const [i, [ok, passing]] of steps.entries()) {
    s.record(ok);
    assert.equal(s.passing, passing, `step ${i}`);
  }
});

test('ProbeState.reset: starts over from the given state with no results counted', () => {
  const s = new ProbeState(1, 3, false);
  s.record(true);
  s.record(false);
  s.record(false);
  assert.equal(s.passing, true, 'two failures of three: still passing');
  s.reset(false);
  assert.equal(s.passing, false);
  // The next success is a change again (the restarted container becomes ready), and the old failures no longer count.
  assert.equal(s.record(true), true);
  assert.equal(s.record(false), false);
  assert.equal(s.passing, true);
});

test('probeAction: a Kubernetes probe as the sidecar probe runner takes it, named ports resolved', () => {
  const ports = (p: number | string | undefined): number | null => (p === 'http' ? 8080 : typeof p === 'number' ? p : null);
  assert.deepEqual(probeAction({ httpGet: { port: 'http', path: '/ready', httpHeaders: [{ name: 'x-probe', value: '1' }] } }, ports), {
    type: 'http', port: 8080, path: '/ready', scheme: 'HTTP', headers: [['x-probe', '1']],
  });
  assert.deepEqual(probeAction({ httpGet: { port: 443, scheme: 'HTTPS' } }, ports), { type: 'http', port: 443, path: '/', scheme: 'HTTPS', headers: [] });
  assert.deepEqual(probeAction({ grpc: { port: 50051, service: 'shop.Catalog' } }, ports), { type: 'grpc', port: 50051, service: 'shop.Catalog' });
  assert.deepEqual(probeAction({ grpc: { port: 50051 } }, ports), { type: 'grpc', port: 50051, service: '' });
  assert.deepEqual(probeAction({ tcpSocket: { port: 'http' } }, ports), { type: 'tcp', port: 8080 });
  assert.equal(probeAction({ tcpSocket: { port: 'nope' } }, ports), null);
});

test('StartupGate: the first success starts the other probes; failureThreshold failures in a row restart, then it counts again', () => {
  const g = new StartupGate(3);
  assert.deepEqual([false, false, true].map((ok) => g.record(ok)), ['waiting', 'waiting', 'started']);
  assert.equal(g.record(false), 'waiting', 'after start the startup probe no longer judges');
  const h = new StartupGate(2);
  assert.deepEqual([false, false, false, false, true].map((ok) => h.record(ok)), ['waiting', 'restart', 'waiting', 'restart', 'started']);
});

test('run addresses avoid routed prefixes and other runs', () => {
  const a = netnsAddresses(['10.213.5.0/24', '0.0.0.0/0'], (n) => n === 6, 4);
  assert.equal(a.n, 7, 'N=5 is routed, N=6 is taken by another run');
  assert.equal(a.gateway, '10.213.7.1');
  assert.equal(a.serviceCidr, '10.214.7.0/24');
  assert.throws(() => netnsAddresses(['10.0.0.0/8'], () => false, 0), /no free 10\.213\.N\.0\/24/);
  assert.equal(bindAddresses((n) => n < 20, 0).firstPod, '127.0.20.10');
});
