// Targets from registry pods and connected nodes; the resolver from services and service accounts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshModel, MeshService, PodObject } from '../model/types';
import type { NodeInfo } from '../types';
import { podWorkload, RegistryTargetSource, resolverFromModel } from './targets';

function pod(namespace: string, name: string, ip: string, sa: string, labels: Record<string, string>): PodObject {
  return { kind: 'Pod', namespace, name, serviceAccountName: sa, ips: [ip], labels, workload: null };
}

function service(namespace: string, name: string, ips: string[]): MeshService {
  return { namespace, name, ports: [{ name: 'http', port: 80, protocol: 'http', endpoints: ips.map((ip) => ({ ip, port: 8080, ready: true, serving: true, terminating: false, zone: '', pod: null, identity: null })) }] } as unknown as MeshService;
}

const PODS = [
  pod('shop', 'web-0', '10.0.0.2', 'web', { app: 'web' }),
  pod('shop', 'web-1', 'fd00::3', 'web', { app: 'web' }),
  pod('shop', 'legacy-0', '10.0.0.4', 'legacy', {}),
  pod('shop', 'a-0', '10.0.0.5', 'shared', { app: 'a' }),
  pod('shop', 'b-0', '10.0.0.6', 'shared', { 'app.kubernetes.io/name': 'b' }),
];
const MODEL = {
  trustDomain: 'cluster.local',
  podsByIp: new Map(PODS.map((p) => [p.ips[0], p])),
  services: [service('shop', 'web', ['10.0.0.2', 'fd00::3']), service('shop', 'ab', ['10.0.0.5', '10.0.0.6'])],
} as unknown as MeshModel;

function node(id: string, metadata: Record<string, unknown>, kind: NodeInfo['kind'] = 'ferry'): NodeInfo {
  return { id, cluster: '', metadata, locality: { region: '', zone: '', subZone: '' }, userAgentName: kind, userAgentVersion: '', clientFeatures: [], kind };
}

test('targets: registry pods with a connected sidecar (by POD_NAME, else by IP), at 15090 or the announced STATS_PORT; others are unmeshed', () => {
  const nodes = [
    node('n1', { NAMESPACE: 'shop', POD_NAME: 'web-0', POD_IP: '10.0.0.2' }),
    node('n2', { INSTANCE_IPS: 'fd00::3', STATS_PORT: '9090' }),
    node('g', { NAMESPACE: 'shop', POD_NAME: 'a-0' }, 'grpc'), // a proxyless client has no sidecar to scrape
  ];
  const src = new RegistryTargetSource(() => MODEL, () => nodes);
  assert.deepEqual(src.targets().map((t) => [t.id, t.address, t.path, t.identity.workload]), [
    ['shop/web-0', '10.0.0.2:15090', '/stats/prometheus', 'web'],
    ['shop/web-1', '[fd00::3]:9090', '/stats/prometheus', 'web'],
  ]);
  assert.deepEqual(src.pods().map((p) => [p.pod, p.workload, p.meshed, p.identity]), [
    ['a-0', 'a', false, 'spiffe://cluster.local/ns/shop/sa/shared'],
    ['b-0', 'b', false, 'spiffe://cluster.local/ns/shop/sa/shared'],
    ['legacy-0', 'legacy', false, 'spiffe://cluster.local/ns/shop/sa/legacy'],
    ['web-0', 'web', true, 'spiffe://cluster.local/ns/shop/sa/web'],
    ['web-1', 'web', true, 'spiffe://cluster.local/ns/shop/sa/web'],
  ]);
  assert.deepEqual(new RegistryTargetSource(() => null, () => nodes).targets(), [], 'no model yet: nothing to scrape');
});

test('resolver: a service or an identity names a workload only when one workload is behind it', () => {
  const r = resolverFromModel(MODEL);
  assert.equal(r.serviceWorkload('shop', 'web'), 'shop/web');
  assert.equal(r.serviceWorkload('shop', 'ab'), null, 'two workloads behind one service');
  assert.equal(r.serviceWorkload('shop', 'nope'), null);
  assert.equal(r.principalWorkload('spiffe://cluster.local/ns/shop/sa/web'), 'shop/web');
  assert.equal(r.principalWorkload('spiffe://cluster.local/ns/shop/sa/shared'), null, 'two workloads share the account');
  assert.equal(podWorkload(PODS[2]), 'legacy', 'no app label: the service account');
});
