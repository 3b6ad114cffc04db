// Tests for the simulator's wire reading, against resources encoded by the project's own xDS codecs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResource, encodeResource } from '../src/xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../src/xds/type-urls';
import { decodeDiscoveryRequest, encodeDiscoveryRequest } from '../src/xds/ads-service';
import { addressMarker, clusterEdsName, encodeRequest, encodeResourceNames, fields, listenerRdsNames, resourcesContain } from './xds-wire';

test('clusterEdsName: EDS service_name, else the name; null for other discovery types', () => {
  const cases: [Record<string, unknown>, string | null][] = [
    [{ name: 'outbound|80||svc-1.bench.svc.cluster.local', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'svc-1-eds' } }, 'svc-1-eds'],
    [{ name: 'outbound|80||svc-2.bench.svc.cluster.local', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: '1s' }, 'outbound|80||svc-2.bench.svc.cluster.local'],
    [{ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }, null],
    [{ name: 'static', type: 'STATIC', load_assignment: { cluster_name: 'static', endpoints: [] } }, null],
  ];
  for (const [cluster, want] of cases) assert.equal(clusterEdsName(encodeResource(CLUSTER_TYPE, cluster).value), want, String(cluster.name));
});

test('fields: rejects truncated input instead of reading past it', () => {
  assert.throws(() => [...fields(Uint8Array.from([0x0a, 0x05, 0x61]))], /truncated/);
  assert.throws(() => [...fields(Uint8Array.from([0x08, 0x80]))], /truncated varint/);
});

test('listenerRdsNames: every HCM rds.route_config_name in the filter chains, deduplicated', () => {
  const hcm = (rds: string) => ({
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'x',
      rds: { route_config_name: rds, config_source: { ads: {} } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  });
  const listener = {
    name: 'outbound',
    address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [{ filters: [hcm('80')] }, { filters: [hcm('8080')] }, { filters: [hcm('80')] }],
  };
  assert.deepEqual(listenerRdsNames(decodeResource(encodeResource(LISTENER_TYPE, listener))), ['80', '8080']);
  assert.deepEqual(listenerRdsNames({ name: 'tcp-only', filter_chains: [] }), []);
});

test('addressMarker matches the exact endpoint address only', () => {
  const cla = (ip: string) => encodeResource(ENDPOINT_TYPE, {
    cluster_name: 'svc',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } } }] }],
  });
  assert.equal(resourcesContain([cla('10.1.0.1'), cla('10.250.0.1')], addressMarker('10.250.0.1')), true);
  assert.equal(resourcesContain([cla('10.250.0.12')], addressMarker('10.250.0.1')), false);
  assert.equal(resourcesContain([], addressMarker('10.250.0.1')), false);
});

test('encodeRequest: the same bytes the project codec decodes to the same request', () => {
  const node = { id: 'sidecar~10.1.0.1~svc-0-0.bench~bench.svc.cluster.local', cluster: 'bench', userAgentName: 'ferry', userAgentVersion: '0.1.0' };
  const nodeField = encodeDiscoveryRequest({ node });
  const names = ['outbound|80||svc-0.bench.svc.cluster.local', 'outbound|80||svc-1.bench.svc.cluster.local'];
  const buf = encodeRequest('v1', nodeField, encodeResourceNames(names), ENDPOINT_TYPE, '17');
  assert.deepEqual(buf, encodeDiscoveryRequest({ versionInfo: 'v1', node, resourceNames: names, typeUrl: ENDPOINT_TYPE, responseNonce: '17' }));
  assert.deepEqual(decodeDiscoveryRequest(encodeRequest('', nodeField, encodeResourceNames([]), CLUSTER_TYPE, '')), { node, typeUrl: CLUSTER_TYPE });
});
