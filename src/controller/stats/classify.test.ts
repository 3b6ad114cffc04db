// Tests for sample classification: edges name both ends by the metadata exchange's workloads when the
// sidecars sent them, else by the registry (identity → workload, service → workload).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, type WorkloadResolver } from './classify';

const resolver: WorkloadResolver = {
  serviceWorkload: (ns, svc) => (ns === 'shop' && svc === 'cart' ? 'shop/cart' : null),
  principalWorkload: (p) => (p === 'spiffe://cluster.local/ns/shop/sa/frontend' ? 'shop/frontend' : null),
};
const FE = 'spiffe://cluster.local/ns/shop/sa/frontend';
const target = { namespace: 'shop', pod: 'catalog-v1-flaky-0', workload: 'catalog-v1-flaky' };

test('inbound: the caller is the workload it announced over mTLS, else the workload its identity resolves to', () => {
  const base = { reporter: 'destination', destination_service_namespace: 'shop', destination_service_name: 'catalog-v1-flaky', source_principal: FE };
  const withPeer = classify({ ...base, source_workload: 'frontend-canary', source_workload_namespace: 'shop' }, target, resolver);
  assert.deepEqual(withPeer.find((g) => g.kind === 'edge-in')?.key, 'shop/frontend-canary → shop/catalog-v1-flaky');
  const without = classify({ ...base, source_workload: 'unknown' }, target, resolver);
  assert.deepEqual(without.find((g) => g.kind === 'edge-in')?.key, 'shop/frontend → shop/catalog-v1-flaky');
  const plaintext = classify({ ...base, source_principal: 'unknown', source_workload: 'forged', source_workload_namespace: 'shop' }, target, resolver);
  assert.deepEqual(plaintext.find((g) => g.kind === 'edge-in')?.key, 'unknown → shop/catalog-v1-flaky', 'no identity: no workload is believed');
});

test('outbound: the callee is the workload that answered with its metadata, else the one workload behind the service', () => {
  const base = { reporter: 'source', source_workload: 'frontend', source_workload_namespace: 'shop', destination_service_namespace: 'shop', destination_service_name: 'catalog-v1' };
  const edge = (labels: Record<string, string>): string | undefined => classify(labels, null, resolver).find((g) => g.kind === 'edge-out')?.key;
  assert.equal(edge({ ...base, destination_workload: 'catalog-v1-flaky', destination_workload_namespace: 'shop' }), 'shop/frontend → shop/catalog-v1-flaky');
  assert.equal(edge({ ...base, destination_workload: 'unknown' }), 'shop/frontend → shop/catalog-v1', 'two workloads behind the service: the service is named');
  assert.equal(edge({ ...base, destination_service_name: 'cart' }), 'shop/frontend → shop/cart');
});
