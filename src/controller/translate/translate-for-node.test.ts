// Table tests for the model → xDS translation, over examples/mesh.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { Snapshot } from '../types';
import { exampleModel, modelFrom, node } from './mesh-models.fixture';
import { nodeKey, proxyIdentity, translateForNode, TranslationCache } from './translate-for-node';

type Json = Record<string, any>;
const model = exampleModel();
const REVIEWS = 'outbound|9080||reviews.demo.svc.cluster.local';
const REVIEWS_V2 = 'outbound|9080||reviews-v2.demo.svc.cluster.local';
const RATINGS_GRPC = 'outbound|50051||ratings.demo.svc.cluster.local';
const RATINGS_TCP = 'outbound|6379||ratings.demo.svc.cluster.local';

function get(snap: Snapshot, type: keyof Snapshot, name: string): Json {
  const r = snap[type]?.get(name);
  assert.ok(r, `${name} is served`);
  return r as Json;
}

/** One cache across this file's translations, as the controller keeps one: shared parts are the same objects. */
const cache = new TranslationCache();
const sidecar = translateForNode(model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }), {}, cache);

test('outbound listener: a chain per VIP:port, HTTP through RDS by port, TCP to the cluster, passthrough default', () => {
  const l = get(sidecar, LISTENER_TYPE, 'outbound');
  assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 15001 } });
  assert.equal(l.use_original_dst, true);
  const chains = Object.fromEntries(l.filter_chains.map((c: Json) => [c.name, c]));
  assert.deepEqual(Object.keys(chains).sort(), ['10.96.0.10_9080', '10.96.0.20_9080', '10.96.0.30_50051', '10.96.0.30_6379']);
  assert.deepEqual(chains['10.96.0.10_9080'].filter_chain_match, { destination_port: 9080, prefix_ranges: [{ address_prefix: '10.96.0.10', prefix_len: 32 }] });
  const hcm = chains['10.96.0.10_9080'].filters[0].typed_config;
  assert.equal(hcm.rds.route_config_name, '9080');
  assert.deepEqual(hcm.rds.config_source, { ads: {}, resource_api_version: 'V3' });
  assert.equal(hcm.http_filters.at(-1).name, 'envoy.filters.http.router');
  assert.equal(chains['10.96.0.30_6379'].filters[0].typed_config.cluster, RATINGS_TCP);
  assert.equal(chains['10.96.0.30_50051'].filters[0].typed_config.rds.route_config_name, '50051');
  assert.equal(l.default_filter_chain.filters[0].typed_config.cluster, 'PassthroughCluster');
  assert.equal(get(sidecar, CLUSTER_TYPE, 'PassthroughCluster').type, 'ORIGINAL_DST');

  const closed = translateForNode(model, node('ferry', { NAMESPACE: 'demo' }), { passthrough: false });
  assert.equal(get(closed, LISTENER_TYPE, 'outbound').default_filter_chain.filters[0].typed_config.cluster, 'BlackHoleCluster');
  assert.equal(closed[CLUSTER_TYPE]!.has('PassthroughCluster'), false);
  assert.equal(get(closed, ROUTE_TYPE, '9080').virtual_hosts.some((v: Json) => v.name === 'allow_any'), false);
});

test('route configuration per port: vhost domains, HTTPRoute precedence, weighted split, timeouts and retries', () => {
  const rc = get(sidecar, ROUTE_TYPE, '9080');
  assert.deepEqual(rc.virtual_hosts.map((v: Json) => v.name), ['reviews.demo.svc.cluster.local:9080', 'reviews-v2.demo.svc.cluster.local:9080', 'allow_any']);
  const vh = rc.virtual_hosts[0];
  for (const d of ['reviews', 'reviews:9080', 'reviews.demo', 'reviews.demo.svc:9080', 'reviews.demo.svc.cluster.local', '10.96.0.10', '10.96.0.10:9080']) {
    assert.ok(vh.domains.includes(d), `domain ${d}`);
  }
  const [canary, api, rest] = vh.routes;
  assert.deepEqual(canary.match, { path_separated_prefix: '/api', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] });
  assert.equal(canary.route.cluster, REVIEWS_V2);
  assert.equal(canary.route.timeout, '5s'); // the TrafficPolicy's timeout
  assert.deepEqual(api.match, { path_separated_prefix: '/api' });
  assert.deepEqual(api.route.weighted_clusters, { clusters: [{ name: REVIEWS, weight: 90 }, { name: REVIEWS_V2, weight: 10 }] });
  assert.equal(api.route.timeout, '3s');
  assert.equal(api.route.retry_policy.per_try_timeout, '1s');
  assert.equal(api.route.retry_policy.retry_on, 'connect-failure,refused-stream,gateway-error');
  assert.equal(api.route.retry_policy.num_retries, 2);
  assert.equal(api.route.retry_policy.retry_host_predicate[0].name, 'envoy.retry_host_predicates.previous_hosts');
  assert.deepEqual(rest.match, { prefix: '/' });
  assert.equal(rest.route.cluster, REVIEWS);
  // reviews-v2 has no policy: the defaults, with reset retried for idempotent methods only.
  const [idem, v2] = rc.virtual_hosts[1].routes;
  assert.deepEqual(idem.match, { prefix: '/', headers: [{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD|OPTIONS|TRACE|PUT|DELETE' } } }] });
  assert.equal(idem.route.retry_policy.retry_on, 'connect-failure,refused-stream,reset');
  assert.deepEqual({ ...idem.route, retry_policy: undefined }, { ...v2.route, retry_policy: undefined }, 'the copy differs only in its retry conditions');
  assert.deepEqual(v2.match, { prefix: '/' });
  assert.equal(v2.route.timeout, '15s');
  assert.equal(v2.route.retry_policy.retry_on, 'connect-failure,refused-stream');
  assert.equal(v2.route.retry_policy.per_try_timeout, undefined);
});

test('clusters: EDS with the policy as Envoy fields; defaults without a policy; HTTP/2 for gRPC ports', () => {
  const c = get(sidecar, CLUSTER_TYPE, REVIEWS);
  assert.equal(c.type, 'EDS');
  assert.deepEqual(c.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' } });
  assert.equal(c.lb_policy, 'LEAST_REQUEST');
  assert.equal(c.connect_timeout, '2s');
  assert.deepEqual(c.circuit_breakers, {
    thresholds: [{ priority: 'DEFAULT', max_requests: 200, max_connections: 100, max_pending_requests: 50, retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: 3 } }],
  });
  assert.deepEqual(c.outlier_detection, { consecutive_5xx: 3, interval: '10s', base_ejection_time: '15s', max_ejection_percent: 50, enforcing_success_rate: 0 });
  assert.deepEqual(c.health_checks, [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 1, http_health_check: { path: '/healthz', host: 'reviews.demo.svc.cluster.local' } }]);
  assert.equal(c.ignore_health_on_host_removal, true, 'an endpoint the registry removed leaves at once');
  const d = get(sidecar, CLUSTER_TYPE, REVIEWS_V2);
  assert.equal(d.lb_policy, 'ROUND_ROBIN');
  assert.deepEqual(d.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_retries: 4294967295 }] }, 'defaults: no concurrent retry limit (reset is retried for idempotent methods only, at most twice a request)');
  assert.deepEqual(d.outlier_detection, { consecutive_5xx: 5, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 50, enforcing_success_rate: 0 });
  assert.ok(get(sidecar, CLUSTER_TYPE, RATINGS_GRPC).typed_extension_protocol_options);
  assert.equal(get(sidecar, CLUSTER_TYPE, RATINGS_TCP).typed_extension_protocol_options, undefined);
});

test('the retry breaker: off while every retry condition is a failure before the app, also with the default reset of idempotent requests, a budget once a policy names another condition, the policy\'s own limit first', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80 }] } };
  const policy = (spec: Json) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 's', namespace: 'n' }, spec: { targetRef: { name: 's' }, ...spec } });
  const OFF = { priority: 'DEFAULT', max_retries: 4294967295 };
  const BUDGET = { budget_percent: { value: 20 }, min_retry_concurrency: 3 };
  const cases: [string, Json | null, Json | undefined][] = [
    ['no policy: the default retries (reset only for idempotent methods) keep the breaker off', null, { thresholds: [OFF] }],
    ['only failures before the app', { retries: { retryOn: ['connect-failure', 'reset-before-request'] } }, { thresholds: [OFF] }],
    ['a policy without retries keeps the default retries', { timeout: '3s' }, { thresholds: [OFF] }],
    ['retries without retryOn keep the default conditions', { retries: { attempts: 3 } }, { thresholds: [OFF] }],
    ['5xx: the app did the work, the default budget', { retries: { retryOn: ['5xx'], attempts: 3 } }, { thresholds: [{ priority: 'DEFAULT', retry_budget: BUDGET }] }],
    ['one condition after the app is enough', { retries: { retryOn: ['connect-failure', 'retriable-4xx'] } }, { thresholds: [{ priority: 'DEFAULT', retry_budget: BUDGET }] }],
    [
      "the policy's budget",
      { retries: { retryOn: ['gateway-error'], budget: { percent: 30, minRetryConcurrency: 5 } } },
      { thresholds: [{ priority: 'DEFAULT', retry_budget: { budget_percent: { value: 30 }, min_retry_concurrency: 5 } }] },
    ],
    ["the policy's maxRetries, also for 5xx", { connectionPool: { maxRetries: 7 }, retries: { retryOn: ['5xx'] } }, { thresholds: [{ priority: 'DEFAULT', max_retries: 7 }] }],
    ['other limits leave the retry default alone', { connectionPool: { maxConnections: 10 } }, { thresholds: [{ priority: 'DEFAULT', max_connections: 10, max_retries: 4294967295 }] }],
    ['before-app conditions with other limits', { connectionPool: { maxConnections: 10 }, retries: { retryOn: ['connect-failure'] } }, { thresholds: [{ priority: 'DEFAULT', max_connections: 10, max_retries: 4294967295 }] }],
  ];
  for (const [name, spec, want] of cases) {
    const m = modelFrom(spec ? [svc, policy(spec)] : [svc]);
    const c = get(translateForNode(m, node('ferry', { NAMESPACE: 'n' })), CLUSTER_TYPE, 'outbound|80||s.n.svc.cluster.local');
    assert.deepEqual(c.circuit_breakers, want, name);
    // Proxyless gRPC reads max_requests only: no retry threshold is sent there.
    assert.equal(get(translateForNode(m, node('grpc')), CLUSTER_TYPE, 'outbound|80||s.n.svc.cluster.local').circuit_breakers, undefined, name);
  }
  // The default route retries: 2 retries after jittered back-off (Envoy's 25-250 ms), on another host.
  const route = get(translateForNode(modelFrom([svc]), node('ferry', { NAMESPACE: 'n' })), ROUTE_TYPE, '80').virtual_hosts[0].routes[1].route;
  assert.deepEqual(route.retry_policy.num_retries, 2);
  assert.equal(route.retry_policy.retry_back_off, undefined);
  assert.equal(route.retry_policy.retry_host_predicate[0].name, 'envoy.retry_host_predicates.previous_hosts');
});

test('load assignments: ready, non-terminating endpoints only, one locality per zone', () => {
  const la = get(sidecar, ENDPOINT_TYPE, REVIEWS);
  assert.deepEqual(la, {
    cluster_name: REVIEWS,
    endpoints: [
      { locality: { zone: 'zone-a' }, load_balancing_weight: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.0.11', port_value: 9080 } } } }] },
      { locality: { zone: 'zone-b' }, load_balancing_weight: 1, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.1.0.12', port_value: 9080 } } } }] },
    ],
  });
  assert.deepEqual(get(sidecar, ENDPOINT_TYPE, RATINGS_TCP).endpoints[0].locality, {});
});

test('inbound listener: the pod\'s own ports, to 127.0.0.1 through inbound|<port>||, with the rate limit', () => {
  const l = get(sidecar, LISTENER_TYPE, 'inbound');
  assert.equal(l.address.socket_address.port_value, 15006);
  assert.equal(l.filter_chains.length, 1);
  const fc = l.filter_chains[0];
  assert.deepEqual(fc.filter_chain_match, { destination_port: 9080 });
  const hcm = fc.filters[0].typed_config;
  assert.deepEqual(hcm.http_filters.map((f: Json) => f.name), ['envoy.filters.http.local_ratelimit', 'envoy.filters.http.router']);
  assert.deepEqual(hcm.http_filters[0].typed_config.token_bucket, { max_tokens: 200, tokens_per_fill: 100, fill_interval: '1s' });
  const routes = hcm.route_config.virtual_hosts[0].routes;
  assert.deepEqual(routes.map((r: Json) => r.route.cluster), ['inbound|9080||', 'inbound|9080||']);
  // Idempotent methods get one more try after the app resets them (the keep-alive close race); the rest none.
  assert.deepEqual(routes[0].match.headers, [{ name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD|OPTIONS|TRACE|PUT|DELETE' } } }]);
  assert.deepEqual(routes[0].route.retry_policy, { retry_on: 'reset', num_retries: 1 });
  assert.equal(routes[1].route.retry_policy, undefined);
  assert.deepEqual(routes[1].match, { prefix: '/' });
  const c = get(sidecar, CLUSTER_TYPE, 'inbound|9080||');
  // Idle connections to the app close before its own keep-alive timeout (Node's 5 s) can race a request.
  assert.deepEqual(Object.values(c.typed_extension_protocol_options as Json).map((o) => (o as Json).common_http_protocol_options), [{ idle_timeout: '4s' }]);
  assert.deepEqual(c.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_retries: 1024 }] });
  assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 9080 });
  // From 127.0.0.6, which the capture rules pass: the hop to the app is not captured again.
  assert.deepEqual(c.upstream_bind_config, { source_address: { address: '127.0.0.6', port_value: 0 } });
  assert.equal(l.default_filter_chain.filters[0].typed_config.cluster, 'InboundPassthroughCluster');
  // The ratings pod: a gRPC port and a TCP port.
  const ratings = translateForNode(model, node('envoy', { NAMESPACE: 'demo', POD_IP: '10.1.0.31' }));
  const chains = get(ratings, LISTENER_TYPE, 'inbound').filter_chains;
  assert.deepEqual(chains.map((c: Json) => [c.name, c.filters[0].name]), [
    ['inbound_6379', 'envoy.filters.network.tcp_proxy'],
    ['inbound_50051', 'envoy.filters.network.http_connection_manager'],
  ]);
});

test('a port of unknown protocol is sniffed: an HTTP chain for http/1.1 and h2c, a TCP chain for the rest', () => {
  const m = modelFrom([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.5.5', ports: [{ name: 'web', port: 8000 }] } }]);
  const l = get(translateForNode(m, node('ferry')), LISTENER_TYPE, 'outbound');
  assert.deepEqual(l.filter_chains.map((c: Json) => [c.name, c.filter_chain_match.application_protocols ?? null, c.filters[0].name]), [
    ['10.96.5.5_8000_http', ['http/1.1', 'h2c'], 'envoy.filters.network.http_connection_manager'],
    ['10.96.5.5_8000_tcp', null, 'envoy.filters.network.tcp_proxy'],
  ]);
});

test('short names only in the proxy\'s namespace', () => {
  const other = translateForNode(model, node('ferry', { NAMESPACE: 'prod' }));
  const domains = get(other, ROUTE_TYPE, '9080').virtual_hosts[0].domains;
  assert.equal(domains.includes('reviews'), false);
  assert.ok(domains.includes('reviews.demo'));
});

test('gRPC clients: an api_listener per service port with an inline route, gRPC-safe clusters, no RDS', () => {
  const g = translateForNode(model, node('grpc', {}, 'gRPC Node'), {}, cache);
  assert.deepEqual([...g[LISTENER_TYPE]!.keys()].sort(), [
    'ratings.demo.svc.cluster.local:50051',
    'reviews-v2.demo.svc.cluster.local:9080',
    'reviews.demo.svc.cluster.local:9080',
  ]);
  assert.equal(g[ROUTE_TYPE]!.size, 0);
  const hcm = get(g, LISTENER_TYPE, 'reviews.demo.svc.cluster.local:9080').api_listener.api_listener;
  assert.equal(hcm['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  assert.deepEqual(hcm.http_filters, [{ name: 'router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }]);
  const routes = hcm.route_config.virtual_hosts[0].routes;
  assert.deepEqual(routes[1].match, { prefix: '/api' });
  assert.deepEqual(routes[1].route, {
    weighted_clusters: { clusters: [{ name: REVIEWS, weight: 90 }, { name: REVIEWS_V2, weight: 10 }] },
    max_stream_duration: { max_stream_duration: '3s' },
  });
  const c = get(g, CLUSTER_TYPE, REVIEWS);
  assert.equal(c.lb_policy, 'ROUND_ROBIN'); // LEAST_REQUEST is not in grpc-js-xds
  assert.equal(c.health_checks, undefined);
  assert.deepEqual(c.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_requests: 200 }] });
  assert.equal(g[CLUSTER_TYPE]!.has(RATINGS_TCP), false);
  assert.equal(g[ENDPOINT_TYPE], sidecar[ENDPOINT_TYPE], 'assignments are shared');
});

test('gRPC retries keep only gRPC status conditions', () => {
  const m = modelFrom([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.5.5', ports: [{ name: 'grpc', port: 9000 }] } },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 's', namespace: 'n' }, spec: { targetRef: { name: 's' }, retries: { retryOn: ['unavailable', 'connect-failure'], attempts: 3 } } },
  ]);
  const route = get(translateForNode(m, node('grpc')), LISTENER_TYPE, 's.n.svc.cluster.local:9000').api_listener.api_listener.route_config.virtual_hosts[0].routes[0].route;
  assert.deepEqual(route.retry_policy, { retry_on: 'unavailable', num_retries: 3 });
});

test('node identity and keys', () => {
  const cases: [Parameters<typeof node>, { grpc: boolean; namespace: string; podIp: string | null }, string][] = [
    [['grpc'], { grpc: true, namespace: 'default', podIp: null }, 'grpc'],
    [['unknown', {}, 'gRPC Go'], { grpc: true, namespace: 'default', podIp: null }, 'grpc'],
    [['envoy', { NAMESPACE: 'a', POD_IP: '10.0.0.1' }], { grpc: false, namespace: 'a', podIp: '10.0.0.1' }, 'sidecar|envoy|a|10.0.0.1'],
    [['ferry', { NAMESPACE: 'a', INSTANCE_IPS: '10.0.0.2,fd00::2' }], { grpc: false, namespace: 'a', podIp: '10.0.0.2' }, 'sidecar|ferry|a|10.0.0.2'],
  ];
  for (const [args, identity, key] of cases) {
    assert.deepEqual(proxyIdentity(node(...args)), identity);
    assert.equal(nodeKey(node(...args)), key);
  }
  const istio = { ...node('envoy'), id: 'sidecar~10.0.0.9~web-1.shop~shop.svc.cluster.local' };
  assert.deepEqual(proxyIdentity(istio), { grpc: false, namespace: 'shop', podIp: '10.0.0.9' });
});

test('translation is pure: equal inputs give equal, frozen snapshots', () => {
  const a = translateForNode(model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }));
  const b = translateForNode(exampleModel(), node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }));
  assert.deepEqual(a, b);
  assert.throws(() => (get(a, CLUSTER_TYPE, REVIEWS).lb_policy = 'RANDOM'));
});

test('across models: an endpoint change rebuilds only its service; listeners, routes and other services are the same objects', async () => {
  const { buildMeshModel } = await import('../model/build-model.js');
  const { parseObject } = await import('../model/object-store.js');
  const raw = (ip: string): unknown[] => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'ns' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b', namespace: 'ns' }, spec: { clusterIP: '10.96.0.2', ports: [{ name: 'http', port: 80 }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'b-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'b' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: [ip] }],
    },
  ];
  const build = (ip: string, previous: ReturnType<typeof modelFrom> | null) =>
    buildMeshModel(raw(ip).map((r) => parseObject(r)).filter((o) => o !== null) as Parameters<typeof buildMeshModel>[0], { previous });
  const m1 = build('10.1.0.1', null);
  const m2 = build('10.1.0.2', m1);
  const n = node('ferry', { NAMESPACE: 'ns', POD_IP: '10.1.0.50' });
  const across = new TranslationCache();
  const s1 = translateForNode(m1, n, {}, across);
  const s2 = translateForNode(m2, n, {}, across);
  const a = 'outbound|80||a.ns.svc.cluster.local';
  const b = 'outbound|80||b.ns.svc.cluster.local';
  assert.equal(s2[LISTENER_TYPE]!.get('virtualOutbound'), s1[LISTENER_TYPE]!.get('virtualOutbound'));
  assert.equal(s2[ROUTE_TYPE], s1[ROUTE_TYPE], 'route configurations: the same map');
  assert.equal(s2[CLUSTER_TYPE]!.get(a), s1[CLUSTER_TYPE]!.get(a), 'an unchanged service: the same cluster');
  assert.deepEqual(s2[CLUSTER_TYPE]!.get(b), s1[CLUSTER_TYPE]!.get(b), 'clusters do not hold endpoints');
  assert.equal(s2[ENDPOINT_TYPE]!.get(a), s1[ENDPOINT_TYPE]!.get(a));
  assert.notEqual(s2[ENDPOINT_TYPE]!.get(b), s1[ENDPOINT_TYPE]!.get(b));
  assert.match(JSON.stringify(s2[ENDPOINT_TYPE]!.get(b)), /10\.1\.0\.2/);
});
