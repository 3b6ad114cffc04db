// Istio label derivation: destination service from cluster names, workload from node metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationLabels, requestLabels, workloadOf } from './istio-labels';

test('destination labels from cluster names', () => {
  const table: [string, string, string, string][] = [
    ['outbound|80||web.demo.svc.cluster.local', 'web.demo.svc.cluster.local', 'web', 'demo'],
    ['outbound|9000|v2|echo.shop.svc.cluster.local', 'echo.shop.svc.cluster.local', 'echo', 'shop'],
    ['inbound|8080||', 'inbound|8080||', 'inbound|8080||', 'unknown'],
    ['steady', 'steady', 'steady', 'unknown'],
    ['api.example.com', 'api.example.com', 'api', 'unknown'],
  ];
  for (const [cluster, service, name, ns] of table) {
    assert.deepEqual({ ...destinationLabels(cluster) }, { destination_service: service, destination_service_name: name, destination_service_namespace: ns }, cluster);
  }
});

test('workload from node metadata', () => {
  const node = (metadata: Record<string, unknown>, cluster = '') => ({ id: 'x', cluster, metadata });
  assert.deepEqual(workloadOf(node({ WORKLOAD_NAME: 'web-v1', NAMESPACE: 'demo' })), { workload: 'web-v1', namespace: 'demo' });
  assert.deepEqual(workloadOf(node({ LABELS: { app: 'web' }, NAMESPACE: 'demo' })), { workload: 'web', namespace: 'demo' });
  assert.deepEqual(workloadOf(node({}, 'client.shop')), { workload: 'client', namespace: 'unknown' });
  assert.deepEqual(workloadOf(node({})), { workload: 'unknown', namespace: 'unknown' });
});

test('the destination reporter labels its own service and the caller namespace from the SPIFFE ID', () => {
  const self = { workload: 'web', namespace: 'demo' };
  assert.deepEqual(requestLabels('destination', 'inbound|8080||', self, 'spiffe://cluster.local/ns/shop/sa/client'), {
    source_workload: 'unknown',
    source_workload_namespace: 'shop',
    destination_service: 'web.demo.svc.cluster.local',
    destination_service_name: 'web',
    destination_service_namespace: 'demo',
  });
  assert.equal(requestLabels('destination', 'inbound|8080||', self, '').source_workload_namespace, 'unknown');
  assert.deepEqual(requestLabels('source', 'outbound|80||api.shop.svc.cluster.local', self, ''), {
    source_workload: 'web',
    source_workload_namespace: 'demo',
    destination_service: 'api.shop.svc.cluster.local',
    destination_service_name: 'api',
    destination_service_namespace: 'shop',
  });
});
