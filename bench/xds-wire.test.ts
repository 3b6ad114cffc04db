// Tests for the simulator's wire reading, against resources and responses encoded by the project's own xDS codecs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeResource } from '../src/xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../src/xds/type-urls';
import { decodeDiscoveryRequest, encodeDiscoveryRequest, encodeDiscoveryResponse, encodeResponseBody, withNonce } from '../src/xds/ads-service';
import { addressMarker, clusterEdsName, decodeResponseHeader, encodeRequest, encodeResourceNames, fields, listenerRdsNames, resourcesContain } from './xds-wire';

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
  assert.throws(() => [...fields(Uint8Array.from([0x09, 1, 2, 3]))], /truncated fixed-width/);
  assert.throws(() => [...fields(Uint8Array.from([0x0d, 1, 2, 3]))], /truncated fixed-width/);
});

test('listenerRdsNames: every HCM rds.route_config_name in filter_chains and default_filter_chain, sorted, deduplicated', () => {
  const hcm = (route: Record<string, unknown>) => ({
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'x',
      ...route,
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    },
  });
  const rds = (name: string) => hcm({ rds: { route_config_name: name, config_source: { ads: {} } } });
  const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'PassthroughCluster' } };
  const inline = hcm({ route_config: { name: 'inline', virtual_hosts: [] } });
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['chains, one repeated', { filter_chains: [{ filters: [rds('8080')] }, { filters: [rds('80')] }, { filters: [rds('8080')] }] }, ['80', '8080']],
    ['default chain too', { filter_chains: [{ filters: [tcp] }], default_filter_chain: { filters: [rds('9090')] } }, ['9090']],
    ['TCP proxy and inline routes only', { filter_chains: [{ filters: [tcp] }, { filters: [inline] }] }, []],
    ['no chains', { filter_chains: [] }, []],
  ];
  for (const [name, chains, want] of cases) {
    const listener = { name: 'outbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, ...chains };
    assert.deepEqual(listenerRdsNames(encodeResource(LISTENER_TYPE, listener).value), want, name);
  }
});

test('decodeResponseHeader: version, type, nonce and each resource Any value, as the project codecs encode them', () => {
  const resources = [
    encodeResource(CLUSTER_TYPE, { name: 'a', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }),
    encodeResource(CLUSTER_TYPE, { name: 'b', type: 'STATIC' }),
  ];
  const viaServer = decodeResponseHeader(withNonce(encodeResponseBody('v7', CLUSTER_TYPE, resources), '42'));
  assert.deepEqual(viaServer, { versionInfo: 'v7', typeUrl: CLUSTER_TYPE, nonce: '42', resources: resources.map((r) => Buffer.from(r.value)) });
  assert.deepEqual(viaServer.resources.map(clusterEdsName), ['a', null]);
  const whole = decodeResponseHeader(encodeDiscoveryResponse({ versionInfo: '', typeUrl: ENDPOINT_TYPE, nonce: 'n', resources: [] }));
  assert.deepEqual(whole, { versionInfo: '', typeUrl: ENDPOINT_TYPE, nonce: 'n', resources: [] });
  assert.throws(() => decodeResponseHeader(Uint8Array.from([0x12, 0x03, 0x0a])), /truncated/);
});

test('addressMarker matches the exact endpoint address only', () => {
  const cla = (ip: string) => encodeResource(ENDPOINT_TYPE, {
    cluster_name: 'svc',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } } }] }],
  });
  assert.equal(resourcesContain([cla('10.1.0.1').value, cla('10.250.0.1').value], addressMarker('10.250.0.1')), true);
  assert.equal(resourcesContain([cla('10.250.0.12').value], addressMarker('10.250.0.1')), false);
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
