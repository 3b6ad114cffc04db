// Table tests for bind mode: listeners bound at loopback service VIPs and at the pod's own address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { Snapshot } from '../types';
import { appPorts, bindsOutbound, isLoopback } from './bind-listeners';
import { localMeshModel, node } from './mesh-models.fixture';
import { nodeKey, translateForNode } from './translate-for-node';

type Json = Record<string, any>;

const WEB = 'outbound|80||web.shop.svc.cluster.local';
const WEB_V2 = 'outbound|80||web-v2.shop.svc.cluster.local';
const CACHE = 'outbound|6379||cache.shop.svc.cluster.local';

const model = localMeshModel();
const NS = 'shop';
const bind = (metadata: Record<string, unknown>, kind: 'ferry' | 'envoy' = 'ferry'): Snapshot =>
  translateForNode(model, node(kind, { NAMESPACE: 'shop', ...metadata }), { outbound: 'bind' });

function get(snap: Snapshot, type: keyof Snapshot, name: string): Json {
  const r = snap[type]?.get(name);
  assert.ok(r, `${name} is served (have ${[...(snap[type]?.keys() ?? [])].join(', ')})`);
  return r as Json;
}

test('outbound: one listener per loopback VIP:port, bound there, no capture listener', () => {
  const snap = bind({ POD_IP: '127.0.2.1' });
  assert.deepEqual([...snap[LISTENER_TYPE]!.keys()].sort(), ['127.10.0.12_80', '127.10.0.13_80', '127.10.0.14_7000', '127.10.0.15_6379']);
  const web = get(snap, LISTENER_TYPE, '127.10.0.12_80');
  assert.deepEqual(web.address, { socket_address: { address: '127.10.0.12', port_value: 80 } });
  assert.equal(web.use_original_dst, undefined);
  assert.equal(web.traffic_direction, 'OUTBOUND');
  assert.deepEqual(web.listener_filters, []);
  assert.equal(web.filter_chains.length, 1);
  const hcm = web.filter_chains[0].filters[0].typed_config;
  assert.deepEqual(hcm.rds, { route_config_name: '127.10.0.12_80', config_source: { ads: {}, resource_api_version: 'V3' } });
  const cache = get(snap, LISTENER_TYPE, '127.10.0.15_6379');
  assert.equal(cache.filter_chains[0].filters[0].typed_config.cluster, CACHE);
  // Unknown protocol: sniffed by the HTTP inspector into an HTTP chain, else TCP.
  const raw = get(snap, LISTENER_TYPE, '127.10.0.14_7000');
  assert.deepEqual(raw.listener_filters.map((f: Json) => f.name), ['envoy.filters.listener.http_inspector']);
  assert.deepEqual(raw.filter_chains.map((c: Json) => [c.filter_chain_match.application_protocols ?? null, c.filters[0].name]), [
    [['http/1.1', 'h2c'], 'envoy.filters.network.http_connection_manager'],
    [null, 'envoy.filters.network.tcp_proxy'],
  ]);
  // Nothing is captured, so nothing passes through.
  for (const c of ['PassthroughCluster', 'BlackHoleCluster', 'InboundPassthroughCluster']) assert.equal(snap[CLUSTER_TYPE]!.has(c), false, c);
  assert.ok(snap[CLUSTER_TYPE]!.has('outbound|80||far.shop.svc.cluster.local'), 'clusters are served for every service');
});

test('routes: one configuration per HTTP listener, any Host, the service\'s HTTPRoute rules', () => {
  const snap = bind({});
  assert.deepEqual([...snap[ROUTE_TYPE]!.keys()].sort(), ['127.10.0.12_80', '127.10.0.13_80', '127.10.0.14_7000']);
  const rc = get(snap, ROUTE_TYPE, '127.10.0.12_80');
  assert.equal(rc.virtual_hosts.length, 1);
  assert.deepEqual(rc.virtual_hosts[0].domains, ['*']);
  assert.deepEqual(rc.virtual_hosts[0].routes[0].route.weighted_clusters, { clusters: [{ name: WEB, weight: 80 }, { name: WEB_V2, weight: 20 }] });
  assert.equal(get(snap, ROUTE_TYPE, '127.10.0.13_80').virtual_hosts[0].routes[0].route.cluster, WEB_V2);
});

const INBOUND_CASES: [string, Record<string, unknown>, string[], [number, number][]][] = [
  ['a client pod with no endpoints', { POD_IP: '127.0.2.1' }, [], []],
  ['no pod address', {}, [], []],
  ['the web pod: its ports at its own address', { POD_IP: '127.0.3.1' }, ['inbound_127.0.3.1_7000', 'inbound_127.0.3.1_8080'], [[7000, 7000], [8080, 8080]]],
  ['APP_PORTS moves the app', { POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }, ['inbound_127.0.3.1_7000', 'inbound_127.0.3.1_8080'], [[7000, 7000], [8080, 18080]]],
  ['a pod at 127.0.0.1 shares the app\'s address: no inbound', { POD_IP: '127.0.0.1' }, [], []],
];

for (const [name, metadata, listeners, clusters] of INBOUND_CASES) {
  test(`inbound: ${name}`, () => {
    const snap = bind(metadata);
    const inbound = [...snap[LISTENER_TYPE]!.keys()].filter((n) => n.startsWith('inbound')).sort();
    assert.deepEqual(inbound, listeners);
    const got = [...snap[CLUSTER_TYPE]!.values()]
      .filter((c) => String(c.name).startsWith('inbound|'))
      .map((c) => [Number(String(c.name).split('|')[1]), (c as Json).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value]);
    assert.deepEqual(got.sort((a, b) => a[0] - b[0]), clusters);
  });
}

test('inbound listener: bound at POD_IP:port, HTTP with the rate limit to the app on 127.0.0.1', () => {
  const l = get(bind({ POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }), LISTENER_TYPE, 'inbound_127.0.3.1_8080');
  assert.deepEqual(l.address, { socket_address: { address: '127.0.3.1', port_value: 8080 } });
  assert.equal(l.traffic_direction, 'INBOUND');
  const hcm = l.filter_chains[0].filters[0].typed_config;
  assert.deepEqual(hcm.http_filters.map((f: Json) => f.name), ['envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
  assert.equal(hcm.route_config.virtual_hosts[0].routes[0].route.cluster, 'inbound|8080||');
});

test('capture stays the default; gRPC clients get the same resources in both modes', () => {
  const capture = translateForNode(model, node('ferry', { NAMESPACE: 'shop' }));
  assert.deepEqual([...capture[LISTENER_TYPE]!.keys()].sort(), ['inbound', 'outbound']);
  const g = node('grpc', {}, 'gRPC Node');
  assert.deepEqual(translateForNode(model, g, { outbound: 'bind' }), translateForNode(model, g));
});

test('APP_PORTS: parsed, rejected with the metadata path, part of the node key', () => {
  assert.deepEqual([...appPorts({ APP_PORTS: '8080:18080, 9090:19090' })], [[8080, 18080], [9090, 19090]]);
  assert.equal(appPorts({}).size, 0);
  for (const bad of ['8080', '8080:0', 'a:1', '1:2:3', 5]) {
    assert.throws(() => appPorts({ APP_PORTS: bad }), /node\.metadata\.APP_PORTS/, String(bad));
  }
  const key = (m: Record<string, unknown>) => nodeKey(node('ferry', { NAMESPACE: 'shop', POD_IP: '127.0.3.1', ...m }));
  assert.notEqual(key({ APP_PORTS: '8080:18080' }), key({ APP_PORTS: '8080:18081' }));
  assert.equal(key({}), 'sidecar|ferry|shop|127.0.3.1');
});

test('BIND_OUTBOUND "false": only the pod\'s inbound listeners (one sidecar per machine owns the VIPs)', () => {
  const snap = bind({ POD_IP: '127.0.3.1', BIND_OUTBOUND: 'false' });
  assert.deepEqual([...snap[LISTENER_TYPE]!.keys()].sort(), ['inbound_127.0.3.1_7000', 'inbound_127.0.3.1_8080']);
  assert.equal(snap[ROUTE_TYPE]!.size, 0);
  assert.ok(snap[CLUSTER_TYPE]!.has('inbound|8080||'));
  // Bind mode has no capture rules to dodge: the app sees the sidecar at 127.0.0.1.
  assert.equal((snap[CLUSTER_TYPE]!.get('inbound|8080||') as Json).upstream_bind_config, undefined);
  const cases: [unknown, boolean | RegExp][] = [[undefined, true], ['true', true], ['false', false], [false, false], ['no', /node\.metadata\.BIND_OUTBOUND/]];
  for (const [v, want] of cases) {
    if (want instanceof RegExp) assert.throws(() => bindsOutbound({ BIND_OUTBOUND: v }), want);
    else assert.equal(bindsOutbound(v === undefined ? {} : { BIND_OUTBOUND: v }), want, String(v));
  }
  assert.notEqual(nodeKey(node('ferry', { POD_IP: '127.0.3.1', BIND_OUTBOUND: 'false' })), nodeKey(node('ferry', { POD_IP: '127.0.3.1' })));
  // A sidecar started from the pod environment says it with a pod label; the metadata key wins.
  const label = (v: unknown, m: Record<string, unknown> = {}) => ({ LABELS: { app: 'web', 'ferry.io/bind-outbound': v }, ...m });
  assert.equal(bindsOutbound(label('false')), false);
  assert.equal(bindsOutbound(label('true')), true);
  assert.equal(bindsOutbound(label('false', { BIND_OUTBOUND: 'true' })), true);
  assert.throws(() => bindsOutbound(label('off')), /node\.metadata\.LABELS\["ferry\.io\/bind-outbound"\]/);
  assert.equal(nodeKey(node('ferry', { POD_IP: '127.0.3.1', ...label('false') })), nodeKey(node('ferry', { POD_IP: '127.0.3.1', BIND_OUTBOUND: 'false' })));
  assert.deepEqual([...bind({ POD_IP: '127.0.3.1', ...label('false') })[LISTENER_TYPE]!.keys()].sort(), ['inbound_127.0.3.1_7000', 'inbound_127.0.3.1_8080']);
});

test('loopback addresses', () => {
  const cases: [string, boolean][] = [['127.10.0.12', true], ['127.0.0.1', true], ['::1', true], ['10.96.0.1', false], ['128.0.0.1', false], ['fd00::1', false]];
  for (const [ip, want] of cases) assert.equal(isLoopback(ip), want, ip);
});
