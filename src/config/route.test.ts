// Tests for RouteConfiguration translation: virtual hosts, matches, actions, header mutations.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteActionConfig, RouteConfig } from './types';
import { translateRouteConfiguration } from './route';
import { assertConfigError } from './config.fixture';

function rc(routes: unknown[], vhExtra: Record<string, unknown> = {}, rcExtra: Record<string, unknown> = {}) {
  return { name: 'r', virtual_hosts: [{ name: 'vh', domains: ['*'], routes, ...vhExtra }], ...rcExtra };
}
function one(route: Record<string, unknown>, vhExtra: Record<string, unknown> = {}): RouteConfig {
  return translateRouteConfiguration(rc([{ match: { prefix: '/' }, ...route }], vhExtra), 'route_config').virtualHosts[0].routes[0];
}
function action(route: Record<string, unknown>): RouteActionConfig {
  const a = one({ route }).action;
  assert.equal(a.kind, 'route');
  return a as RouteActionConfig;
}

describe('virtual hosts', () => {
  test('domains are lower-cased', () => {
    const c = translateRouteConfiguration({ virtual_hosts: [{ name: 'a', domains: ['Example.COM', '*.Foo.org', 'api-*'] }] }, 'rc');
    assert.deepEqual(c.virtualHosts[0].domains, ['example.com', '*.foo.org', 'api-*']);
  });
  const bad: [string, unknown, string[]][] = [
    ['duplicate domain across vhosts', { virtual_hosts: [{ name: 'a', domains: ['a.com'] }, { name: 'b', domains: ['A.com'] }] }, ['rc.virtual_hosts[1].domains[0]', 'duplicate domain a.com']],
    ['two wildcards', { virtual_hosts: [{ name: 'a', domains: ['*'] }, { name: 'b', domains: ['*'] }] }, ['rc.virtual_hosts[1].domains[0]', 'single wildcard']],
    ['no domains', { virtual_hosts: [{ name: 'a', domains: [] }] }, ['rc.virtual_hosts[0].domains']],
    ['duplicate vhost names', { virtual_hosts: [{ name: 'a', domains: ['x'] }, { name: 'a', domains: ['y'] }] }, ['rc.virtual_hosts[1].name']],
    ['cors', { virtual_hosts: [{ name: 'a', domains: ['x'], cors: { allow_origin_string_match: [] , allow_methods: 'GET' } }] }, ['rc.virtual_hosts[0].cors', 'not supported']],
  ];
  for (const [name, v, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateRouteConfiguration(v, 'rc'), ...frags));

  test('vhost retry policy applies to routes without their own', () => {
    const c = translateRouteConfiguration(
      rc(
        [
          { match: { prefix: '/a' }, route: { cluster: 'c' } },
          { match: { prefix: '/b' }, route: { cluster: 'c', retry_policy: { retry_on: 'reset', num_retries: 4 } } },
        ],
        { retry_policy: { retry_on: '5xx' }, require_tls: 'ALL' },
      ),
      'rc',
    );
    const [a, b] = c.virtualHosts[0].routes.map((r) => (r.action as RouteActionConfig).retryPolicy!);
    assert.deepEqual([...a.retryOn], ['5xx']);
    assert.equal(a.numRetries, 1);
    assert.equal(b.numRetries, 4);
    assert.equal(c.virtualHosts[0].requireTls, 'all');
  });
  test('rejects require_tls EXTERNAL_ONLY (no internal/external classification)', () =>
    assertConfigError(() => translateRouteConfiguration(rc([], { require_tls: 'EXTERNAL_ONLY' }), 'rc'), 'rc.virtual_hosts[0].require_tls: EXTERNAL_ONLY is not supported'));

  test("vhost typed_per_filter_config reaches the routes that have none for that filter", () => {
    const FAULT = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', abort: { http_status: 503, percentage: { numerator: 100 } } };
    const own = { ...FAULT, abort: { http_status: 418, percentage: { numerator: 100 } } };
    const c = translateRouteConfiguration(
      rc(
        [
          { match: { prefix: '/a' }, route: { cluster: 'c' } },
          { match: { prefix: '/b' }, route: { cluster: 'c' }, typed_per_filter_config: { 'envoy.filters.http.fault': own } },
        ],
        { typed_per_filter_config: { 'envoy.filters.http.fault': FAULT } },
      ),
      'rc',
    );
    const [a, b] = c.virtualHosts[0].routes.map((r) => r.perFilterConfig['envoy.filters.http.fault']);
    assert.ok(a?.kind === 'fault' && a.abort?.httpStatus === 503, 'the vhost config applies to /a');
    assert.ok(b?.kind === 'fault' && b.abort?.httpStatus === 418, "the route's own config wins on /b");
  });
});

describe('route match', () => {
  test('path specifiers', () => {
    assert.deepEqual(one({ match: { path: '/x' }, route: { cluster: 'c' } }).match.path, { kind: 'path', value: '/x' });
    assert.equal(one({ match: { path_separated_prefix: '/api' }, route: { cluster: 'c' } }).match.path.kind, 'path_separated_prefix');
    const re = one({ match: { safe_regex: { regex: '/u/[0-9]+' } }, route: { cluster: 'c' } }).match.path;
    assert.ok(re.kind === 'safe_regex' && re.regex.test('/u/1') && !re.regex.test('/u/1/x'));
  });
  test('headers, query parameters, grpc, runtime fraction, case', () => {
    const m = one({
      match: {
        prefix: '/',
        case_sensitive: false,
        grpc: {},
        headers: [{ name: 'X-A', exact_match: 'b' }],
        query_parameters: [{ name: 'q', string_match: { exact: '1' } }, { name: 'p' }],
        runtime_fraction: { default_value: { numerator: 30 }, runtime_key: 'k' },
      },
      route: { cluster: 'c' },
    }).match;
    assert.equal(m.caseSensitive, false);
    assert.equal(m.grpc, true);
    assert.equal(m.headers[0].name, 'x-a');
    assert.equal(m.queryParameters[0].stringMatch!.value, '1');
    assert.equal(m.queryParameters[1].presentMatch, true);
    assert.equal(m.runtimeFraction, 0.3);
  });
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['two path specifiers', { prefix: '/', path: '/x' }, ['.match:']],
    ['path_separated_prefix ending in /', { path_separated_prefix: '/a/' }, ['.match.path_separated_prefix']],
    ['bad regex', { safe_regex: { regex: '(' } }, ['.match.safe_regex.regex', 'invalid regex']],
    ['lookahead regex', { safe_regex: { regex: 'a(?=b)' } }, ['.match.safe_regex.regex', 'lookaround']],
    ['tls_context', { prefix: '/', tls_context: { presented: true } }, ['.match.tls_context', 'not supported']],
  ];
  for (const [name, match, frags] of bad) {
    test(`rejects ${name}`, () => assertConfigError(() => one({ match, route: { cluster: 'c' } }), 'route_config.virtual_hosts[0].routes[0]', ...frags));
  }
});

describe('route actions', () => {
  test('defaults', () => {
    const a = action({ cluster: 'c' });
    assert.equal(a.timeoutMs, 15_000);
    assert.equal(a.idleTimeoutMs, null);
    assert.equal(action({ cluster: 'c', idle_timeout: '0s' }).idleTimeoutMs, 0);
    assert.equal(action({ cluster: 'c', idle_timeout: '2s' }).idleTimeoutMs, 2_000);
    assert.equal(a.retryPolicy, null);
    assert.equal(a.upgradeTypes, null);
  });
  test('weighted clusters and total weight', () => {
    const a = action({ weighted_clusters: { clusters: [{ name: 'a', weight: 3 }, { name: 'b', weight: { value: 1 } }] } });
    assert.deepEqual(a.weightedClusters, [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }]);
    assert.equal(a.totalWeight, 4);
    assert.equal(action({ weighted_clusters: { total_weight: 4, clusters: [{ name: 'a', weight: 4 }] } }).totalWeight, 4);
  });
  test('rewrites, hash policy, upgrades', () => {
    const a = action({
      cluster_header: 'X-Cluster',
      regex_rewrite: { pattern: { regex: '^/a/(.*)$' }, substitution: '/b/\\1' },
      host_rewrite_literal: 'h',
      hash_policy: [{ header: { header_name: 'X-U' } }, { connection_properties: { source_ip: true }, terminal: true }],
      upgrade_configs: [{ upgrade_type: 'WebSocket' }],
      timeout: '0s',
    });
    assert.equal(a.clusterHeader, 'x-cluster');
    assert.equal('/a/z'.replace(a.regexRewrite!.regex, a.regexRewrite!.substitution), '/b/z');
    assert.deepEqual(a.hashPolicy, [{ kind: 'header', name: 'x-u', terminal: false }, { kind: 'source_ip', terminal: true }]);
    assert.deepEqual(a.upgradeTypes, ['websocket']);
    assert.equal(a.timeoutMs, 0);
  });
  test('redirect codes and https', () => {
    const r = one({ route: undefined, redirect: { https_redirect: true, response_code: 'TEMPORARY_REDIRECT', port_redirect: 8443 } }).action;
    assert.deepEqual(r, {
      kind: 'redirect', schemeRedirect: 'https', hostRedirect: null, portRedirect: 8443, pathRedirect: null, prefixRewrite: null, responseCode: 307, stripQuery: false,
    });
    const codes: [string, number][] = [['MOVED_PERMANENTLY', 301], ['FOUND', 302], ['SEE_OTHER', 303], ['PERMANENT_REDIRECT', 308]];
    for (const [name, code] of codes) assert.equal((one({ redirect: { response_code: name } }).action as { responseCode: number }).responseCode, code);
    assert.equal((one({ redirect: {} }).action as { responseCode: number }).responseCode, 301);
  });
  test('direct response', () => {
    assert.deepEqual(one({ direct_response: { status: 503, body: { inline_string: 'down' } } }).action, { kind: 'direct_response', status: 503, body: 'down' });
  });
  test('header mutations at every level', () => {
    const c = translateRouteConfiguration(
      rc(
        [{ match: { prefix: '/' }, route: { cluster: 'c' }, response_headers_to_remove: ['X-R'] }],
        { request_headers_to_add: [{ header: { key: 'x-v', value: '1' } }] },
        { response_headers_to_add: [{ header: { key: 'x-c', value: '2' } }], request_headers_to_remove: ['x-q'] },
      ),
      'rc',
    );
    assert.equal(c.responseHeadersToAdd[0].name, 'x-c');
    assert.deepEqual(c.requestHeadersToRemove, ['x-q']);
    assert.equal(c.virtualHosts[0].requestHeadersToAdd[0].value, '1');
    assert.deepEqual(c.virtualHosts[0].routes[0].responseHeadersToRemove, ['x-r']);
  });
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['no action', {}, ['routes[0]:', 'exactly one of route']],
    ['two actions', { route: { cluster: 'c' }, direct_response: { status: 200 } }, ['routes[0]:']],
    ['weights summing to 0', { route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } } }, ['route.weighted_clusters.clusters', 'greater than 0']],
    ['total_weight mismatch', { route: { weighted_clusters: { total_weight: 10, clusters: [{ name: 'a', weight: 4 }] } } }, ['route.weighted_clusters.total_weight']],
    ['prefix and regex rewrite', { route: { cluster: 'c', prefix_rewrite: '/', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } } }, ['.route:', 'prefix_rewrite']],
    ['bad timeout', { route: { cluster: 'c', timeout: '10' } }, ['.route.timeout', 'not a valid duration']],
    ['mirror', { route: { cluster: 'c', request_mirror_policies: [{ cluster: 'm' }] } }, ['.route.request_mirror_policies', 'not supported']],
    ['HIGH priority', { route: { cluster: 'c', priority: 'HIGH' } }, ['.route.priority']],
    ['redirect code', { redirect: { response_code: 'GONE' } }, ['.redirect.response_code', 'GONE']],
    ['direct response status', { direct_response: { status: 99 } }, ['.direct_response.status']],
    ['direct response body too big', { direct_response: { status: 200, body: { inline_string: 'x'.repeat(4097) } } }, ['.direct_response.body', 'maximum is 4096']],
    ['host header add', { route: { cluster: 'c' }, request_headers_to_add: [{ header: { key: 'host', value: 'x' } }] }, ['request_headers_to_add[0].header.key']],
    ['host header removal', { route: { cluster: 'c' }, request_headers_to_remove: ['Host'] }, ['request_headers_to_remove[0]', 'may not be removed']],
    ['bad retry_on token', { route: { cluster: 'c', retry_policy: { retry_on: '5xx,bogus' } } }, ['.route.retry_policy.retry_on', 'bogus is not a valid retry_on']],
    ['disabled per-route upgrade', { route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] } }, ['upgrade_configs[0].enabled']],
    ['per-route CONNECT upgrade', { route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT' }] } }, ['upgrade_configs[0].upgrade_type', 'CONNECT tunnelling']],
    ['cookie hash with ttl', { route: { cluster: 'c', hash_policy: [{ cookie: { name: 's', ttl: '1s' } }] } }, ['hash_policy[0].cookie.ttl']],
  ];
  for (const [name, route, frags] of bad) {
    test(`rejects ${name}`, () =>
      assertConfigError(() => translateRouteConfiguration(rc([{ match: { prefix: '/' }, ...route }]), 'rc'), 'rc.virtual_hosts[0].routes[0]', ...frags));
  }
});
