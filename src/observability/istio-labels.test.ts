// Istio label derivation: destination service from cluster names, workload from node metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationLabels, workloadOf } from './istio-labels';

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
