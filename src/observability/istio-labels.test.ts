// Istio label derivation: destination service from cluster names, workload from node metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePeerMetadata, destinationLabels, encodePeerMetadata, namespaceOfPrincipal, requestLabels, workloadOf } from './istio-labels';

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

test('workload from node metadata: name, namespace, app and version labels, SPIFFE ID from the service account', () => {
  const node = (metadata: Record<string, unknown>, cluster = '') => ({ id: 'x', cluster, metadata });
  assert.deepEqual(workloadOf(node({ WORKLOAD_NAME: 'web-v1', NAMESPACE: 'demo' })), { workload: 'web-v1', namespace: 'demo' });
  assert.deepEqual(workloadOf(node({ LABELS: { app: 'web', version: 'v2' }, NAMESPACE: 'demo', SERVICE_ACCOUNT: 'web-sa', TRUST_DOMAIN: 'td.example' })), {
    workload: 'web', namespace: 'demo', app: 'web', version: 'v2', principal: 'spiffe://td.example/ns/demo/sa/web-sa',
  });
  assert.deepEqual(workloadOf(node({ LABELS: { 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/version': '1.2' }, NAMESPACE: 'x', SERVICE_ACCOUNT: 'api' })), {
    workload: 'api', namespace: 'x', app: 'api', version: '1.2', principal: 'spiffe://cluster.local/ns/x/sa/api',
  });
  assert.deepEqual(workloadOf(node({}, 'client.shop')), { workload: 'client', namespace: 'unknown' });
  assert.deepEqual(workloadOf(node({ SERVICE_ACCOUNT: 'sa' })), { workload: 'unknown', namespace: 'unknown' });
});

const WEB = { workload: 'web', namespace: 'demo', app: 'web', version: 'v1', principal: 'spiffe://cluster.local/ns/demo/sa/web' };
const CLIENT = 'spiffe://cluster.local/ns/shop/sa/client';

test('the destination reporter is the destination; the caller is its SPIFFE ID and, with the exchange, its workload', () => {
  assert.deepEqual(requestLabels('destination', 'inbound|8080||', WEB, CLIENT), {
    source_workload: 'unknown', source_workload_namespace: 'shop', source_principal: CLIENT, source_app: 'unknown', source_version: 'unknown',
    destination_workload: 'web', destination_workload_namespace: 'demo', destination_principal: WEB.principal, destination_app: 'web', destination_version: 'v1',
    destination_service: 'web.demo.svc.cluster.local', destination_service_name: 'web', destination_service_namespace: 'demo',
  });
  const peer = { workload: 'client-v3', namespace: 'shop', app: 'client', version: 'v3' };
  const l = requestLabels('destination', 'inbound|8080||', WEB, CLIENT, peer);
  assert.deepEqual([l.source_workload, l.source_workload_namespace, l.source_app, l.source_version], ['client-v3', 'shop', 'client', 'v3']);
  assert.equal(requestLabels('destination', 'inbound|8080||', WEB, '').source_workload_namespace, 'unknown');
  assert.equal(requestLabels('destination', 'inbound|8080||', WEB, '').source_principal, 'unknown');
});

test('the source reporter is the source; the callee is the identity its cluster expects and, with the exchange, its workload', () => {
  const api = 'spiffe://cluster.local/ns/shop/sa/api';
  assert.deepEqual(requestLabels('source', 'outbound|80||api.shop.svc.cluster.local', WEB, '', null, api), {
    source_workload: 'web', source_workload_namespace: 'demo', source_principal: WEB.principal, source_app: 'web', source_version: 'v1',
    destination_workload: 'unknown', destination_workload_namespace: 'shop', destination_principal: api, destination_app: 'unknown', destination_version: 'unknown',
    destination_service: 'api.shop.svc.cluster.local', destination_service_name: 'api', destination_service_namespace: 'shop',
  });
  const l = requestLabels('source', 'outbound|80||api.shop.svc.cluster.local', WEB, '', { workload: 'api-v2', namespace: 'shop', version: 'v2' }, api);
  assert.deepEqual([l.destination_workload, l.destination_app, l.destination_version], ['api-v2', 'unknown', 'v2']);
  const plain = requestLabels('source', 'outbound|80||ext.example.com', { workload: 'web', namespace: 'demo' }, '');
  assert.deepEqual([plain.source_principal, plain.destination_principal, plain.destination_workload_namespace], ['unknown', 'unknown', 'unknown']);
  assert.equal(requestLabels('source', 'c', WEB, CLIENT).source_principal, CLIENT, 'a caller that presented a certificate is the source');
});

test('peer metadata round-trips, and is refused unless it belongs to the mTLS peer', () => {
  const encoded = encodePeerMetadata({ workload: 'web;x', namespace: 'demo', app: 'web', version: 'v1=2' });
  assert.equal(encoded, 'workload=web%3Bx;namespace=demo;app=web;version=v1%3D2');
  assert.deepEqual(decodePeerMetadata(encoded, WEB.principal), { workload: 'web;x', namespace: 'demo', app: 'web', version: 'v1=2', principal: WEB.principal });
  const refused: [string | string[] | undefined, string][] = [
    [encoded, ''], // no mTLS identity: anyone could send it
    [encoded, CLIENT], // the certificate's namespace is shop, the metadata says demo
    [undefined, WEB.principal],
    [['a', 'b'], WEB.principal],
    ['namespace=demo', WEB.principal], // no workload
    ['workload=web;namespace=demo;workload=x', WEB.principal],
    ['workload=web;namespace=demo;colour=red', WEB.principal],
    ['workload=web;namespace=demo;app=%E0%A4%A', WEB.principal],
    ['workload=%0Aweb;namespace=demo', WEB.principal],
    ['workload=' + 'w'.repeat(600) + ';namespace=demo', WEB.principal],
    ['workload=web;namespace=demo;app=', WEB.principal],
  ];
  for (const [value, principal] of refused) assert.equal(decodePeerMetadata(value, principal), null, `${String(value).slice(0, 40)} / ${principal}`);
  assert.equal(namespaceOfPrincipal('spiffe://td/ns/a/sa/b'), 'a');
  assert.equal(namespaceOfPrincipal('spiffe://td/ns/a'), null);
});
