// Tests for the bootstrap translator: defaults, freezing, file loading and cross-resource checks.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ConfigFileError, UnsupportedConfigError } from '../errors';
import { loadBootstrapFile, translateBootstrap } from './bootstrap';
import { assertConfigError, bootstrap, hcm, staticCluster } from './config.fixture';

const dir = mkdtempSync(join(tmpdir(), 'ferry-bootstrap-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('translateBootstrap', () => {
  test('minimal bootstrap gets documented defaults', () => {
    const c = translateBootstrap(bootstrap());
    assert.deepEqual(c.node, { id: '', cluster: '', metadata: {} });
    assert.equal(c.admin, null);
    assert.equal(c.dynamicResources, null);
    assert.equal(c.statsAddress, null);
    const l = c.listeners[0];
    assert.equal(l.listenerFiltersTimeoutMs, 15_000);
    assert.equal(l.perConnectionBufferLimitBytes, 1_048_576);
    const n = l.filterChains[0].network;
    assert.equal(n.kind, 'http_connection_manager');
    if (n.kind !== 'http_connection_manager') return;
    assert.equal(n.streamIdleTimeoutMs, 300_000);
    assert.equal(n.idleTimeoutMs, 3_600_000);
    assert.equal(n.drainTimeoutMs, 5000);
    assert.equal(n.maxRequestHeadersKb, 60);
    assert.equal(n.generateRequestId, true);
    assert.equal(n.serverName, 'ferry');
    assert.equal(n.codecType, 'AUTO');
    const action = n.routeConfig!.virtualHosts[0].routes[0].action;
    assert.equal(action.kind === 'route' && action.timeoutMs, 15_000);
    const cl = c.clusters[0];
    assert.equal(cl.connectTimeoutMs, 1000);
    assert.equal(cl.lbPolicy, 'ROUND_ROBIN');
    assert.equal(cl.type, 'STATIC');
    assert.equal(cl.healthyPanicThreshold, 50);
    assert.equal(cl.circuitBreakers.maxRetries, 3);
    assert.equal(cl.loadAssignment!.overprovisioningFactor, 140);
    assert.equal(cl.idleTimeoutMs, 3_600_000);
    assert.equal(cl.dnsRefreshRateMs, 5000);
  });

  test('the result is deeply frozen, including sets', () => {
    const b = bootstrap();
    b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].retry_policy = {
      retry_on: '5xx',
    };
    const c = translateBootstrap(b);
    assert.ok(Object.isFrozen(c.listeners[0].filterChains[0].match));
    assert.throws(() => (c.clusters as unknown as unknown[]).push(1), TypeError);
    const n = c.listeners[0].filterChains[0].network;
    const rp = n.kind === 'http_connection_manager' ? n.routeConfig!.virtualHosts[0].routes[0].action : null;
    assert.ok(rp && rp.kind === 'route' && rp.retryPolicy);
    assert.throws(() => (rp.retryPolicy!.retryOn as Set<string>).add('reset'), TypeError);
  });

  test('node, admin and dynamic resources', () => {
    const b = bootstrap();
    b.node = { id: 'n1', cluster: 'c1', metadata: { a: { b: 1 } } };
    b.admin = { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } }, access_log_path: '/dev/null' };
    b.dynamic_resources = {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'backend' } }] },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    };
    const c = translateBootstrap(b);
    assert.deepEqual(c.node.metadata, { a: { b: 1 } });
    assert.deepEqual(c.admin, { address: { host: '127.0.0.1', port: 15000 } });
    assert.deepEqual(c.dynamicResources, { adsCluster: 'backend', lds: false, cds: true, initialFetchTimeoutMs: 15_000 });
  });

  test('lds/cds initial_fetch_timeout: start-up waits for the longer one; 0 on either means no limit', () => {
    const dyn = (lds: Record<string, unknown>, cds: Record<string, unknown>) => {
      const b = bootstrap();
      b.node = { id: 'n', cluster: 'c' };
      b.dynamic_resources = {
        ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'backend' } }] },
        lds_config: { ads: {}, ...lds },
        cds_config: { ads: {}, ...cds },
      };
      return translateBootstrap(b).dynamicResources!.initialFetchTimeoutMs;
    };
    assert.equal(dyn({ initial_fetch_timeout: '2s' }, { initial_fetch_timeout: '1s' }), 2000);
    assert.equal(dyn({ initial_fetch_timeout: '0s' }, {}), 0);
    assert.equal(dyn({ initial_fetch_timeout: '30s' }, {}), 30_000);
  });

  test('camelCase keys (proto3 JSON) read like snake_case', () => {
    const c = translateBootstrap({
      staticResources: {
        clusters: [{ name: 'x', connectTimeout: { seconds: 2, nanos: 500_000_000 }, lbPolicy: 'RANDOM', maxRequestsPerConnection: { value: 10 } }],
      },
    });
    assert.equal(c.clusters[0].connectTimeoutMs, 2500);
    assert.equal(c.clusters[0].lbPolicy, 'RANDOM');
    assert.equal(c.clusters[0].maxRequestsPerConnection, 10);
  });

  const rejections: [string, (b: Record<string, any>) => void, string[]][] = [
    ['unknown top-level key', (b) => (b.metrics_port = 15090), ['metrics_port: unknown field']],
    ['unknown cluster key', (b) => (b.static_resources.clusters[0].bogus = 1), ['static_resources.clusters[0].bogus: unknown field']],
    ['secrets', (b) => (b.static_resources.secrets = [{ name: 's' }]), ['static_resources.secrets', 'not supported']],
    ['layered_runtime', (b) => (b.layered_runtime = { layers: [{ name: 'x' }] }), ['layered_runtime', 'not supported']],
    [
      'route to an unknown cluster',
      (b) => (b.static_resources.clusters[0].name = 'other'),
      ['static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster', "unknown cluster 'backend'"],
    ],
    [
      'tcp_proxy to an unknown cluster',
      (b) =>
        (b.static_resources.listeners[0].filter_chains[0].filters[0] = {
          name: 'envoy.filters.network.tcp_proxy',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'nope' },
        }),
      ['typed_config.cluster', "unknown cluster 'nope'"],
    ],
    ['duplicate cluster name', (b) => b.static_resources.clusters.push(staticCluster('backend')), ['static_resources.clusters[1].name', 'duplicate']],
    [
      'duplicate listener name',
      (b) => b.static_resources.listeners.push({ ...b.static_resources.listeners[0], address: { socket_address: { address: '127.0.0.1', port_value: 1 } } }),
      ['static_resources.listeners[1].name', 'duplicate'],
    ],
    [
      'duplicate listener address',
      (b) => b.static_resources.listeners.push({ ...b.static_resources.listeners[0], name: 'l1' }),
      ['static_resources.listeners[1].address', '127.0.0.1:10000'],
    ],
    [
      'ads cluster unknown',
      (b) => {
        b.node = { id: 'a', cluster: 'b' };
        b.dynamic_resources = { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] } };
      },
      ['envoy_grpc.cluster_name', 'unknown cluster xds'],
    ],
    [
      'dynamic resources without node id',
      (b) => (b.dynamic_resources = { ads_config: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'backend' } }] } }),
      ['node', 'required'],
    ],
    [
      'delta ADS',
      (b) => (b.dynamic_resources = { ads_config: { api_type: 'DELTA_GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'backend' } }] } }),
      ['dynamic_resources.ads_config.api_type', 'DELTA_GRPC is not supported'],
    ],
    [
      'lds from a file',
      (b) => (b.dynamic_resources = { lds_config: { path: '/x' } }),
      ['dynamic_resources.lds_config.path', 'not supported'],
    ],
    [
      'EDS cluster without ADS',
      (b) => b.static_resources.clusters.push({ name: 'e', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }),
      ['static_resources.clusters[1].eds_cluster_config', 'ads_config'],
    ],
    ['admin on a hostname', (b) => (b.admin = { address: { socket_address: { address: 'localhost', port_value: 1 } } }), ['admin.address.socket_address.address', 'not an IP']],
  ];
  for (const [name, mutate, fragments] of rejections) {
    test(`rejects: ${name}`, () => {
      const b = bootstrap();
      mutate(b);
      assertConfigError(() => translateBootstrap(b), ...fragments);
    });
  }

  test('cluster references are not checked when CDS is configured or validate_clusters is false', () => {
    const b = bootstrap();
    b.static_resources.clusters.push(staticCluster('xds'));
    b.static_resources.clusters[0].name = 'renamed';
    b.node = { id: 'a', cluster: 'b' };
    b.dynamic_resources = { ads_config: { grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] }, cds_config: { ads: {} } };
    assert.doesNotThrow(() => translateBootstrap(b));
    const b2 = bootstrap();
    b2.static_resources.clusters[0].name = 'renamed';
    b2.static_resources.listeners[0].filter_chains[0].filters[0].typed_config = hcm();
    b2.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.validate_clusters = false;
    assert.doesNotThrow(() => translateBootstrap(b2));
  });

  test('unsupported fields raise UnsupportedConfigError', () => {
    const b = bootstrap();
    b.static_resources.clusters[0].dns_resolvers = [{ socket_address: { address: '1.1.1.1', port_value: 53 } }];
    assert.throws(() => translateBootstrap(b), UnsupportedConfigError);
  });

  test('source file name prefixes messages', () => {
    const b = bootstrap();
    b.bogus = 1;
    assertConfigError(() => translateBootstrap(b, 'x.yaml'), 'x.yaml: bogus: unknown field');
  });
});

describe('loadBootstrapFile', () => {
  test('YAML file', () => {
    const f = writeFile('ok.yaml', 'node: {id: a, cluster: b}\nstatic_resources:\n  clusters:\n  - name: c\n    connect_timeout: 0.25s\n');
    const c = loadBootstrapFile(f);
    assert.equal(c.clusters[0].connectTimeoutMs, 250);
    assert.equal(c.node.id, 'a');
  });

  test('JSON file by extension', () => {
    const f = writeFile('ok.json', JSON.stringify({ static_resources: { clusters: [{ name: 'c', connect_timeout: '2s' }] } }));
    assert.equal(loadBootstrapFile(f).clusters[0].connectTimeoutMs, 2000);
  });

  test('malformed YAML names the file and line', () => {
    const f = writeFile('bad.yaml', 'static_resources:\n  clusters:\n  - name: c\n    connect_timeout: [1s\n');
    assert.throws(
      () => loadBootstrapFile(f),
      (e: unknown) => e instanceof ConfigFileError && e.message.startsWith(f) && /line [45]/.test(e.message),
    );
  });

  test('duplicate YAML keys are an error with a line', () => {
    const f = writeFile('dup.yaml', 'node:\n  id: a\n  id: b\n');
    assert.throws(() => loadBootstrapFile(f), (e: unknown) => e instanceof ConfigFileError && /line 3/.test(e.message));
  });

  test('malformed JSON names the file', () => {
    const f = writeFile('bad.json', '{"static_resources": {\n  "clusters": [}\n');
    assert.throws(() => loadBootstrapFile(f), (e: unknown) => e instanceof ConfigFileError && e.message.startsWith(f) && e.message.includes('line 2'));
  });

  test('a missing file is a ConfigFileError', () => {
    assert.throws(() => loadBootstrapFile(join(dir, 'missing.yaml')), ConfigFileError);
  });

  test('a translation error names the file and the path', () => {
    const f = writeFile('lb.yaml', 'static_resources:\n  clusters:\n  - name: a\n  - name: b\n    lb_policy: RING_HASH_X\n');
    assert.throws(
      () => loadBootstrapFile(f),
      (e: unknown) => e instanceof ConfigError && e.message === `${f}: static_resources.clusters[1].lb_policy: RING_HASH_X is not a valid lb_policy`,
    );
  });

  test('YAML 1.1 booleans as Envoy reads them', () => {
    const f = writeFile('yes.yaml', 'static_resources:\n  clusters:\n  - name: a\n    respect_dns_ttl: yes\n');
    assert.equal(loadBootstrapFile(f).clusters[0].respectDnsTtl, true);
  });
});
