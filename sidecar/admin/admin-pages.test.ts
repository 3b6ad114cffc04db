// Table tests for the admin pages: /clusters as text and JSON, health flags, /config_dump.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateBootstrap } from '../../src/config/bootstrap';
import { translateCluster } from '../../src/config/cluster';
import type { ClusterConfig, HealthStatus } from '../../src/config/types';
import { clustersJson, clustersText, configDump, healthFlags, type ClusterAdminView, type HostAdminView } from './admin-pages';
import { jsonReplacer } from './admin-server';

function clusterConfig(name: string, extra: Record<string, unknown> = {}): ClusterConfig {
  return translateCluster({ name, connect_timeout: '1s', ...extra }, 'clusters[0]');
}

function host(key: string, o: Partial<Omit<HostAdminView, 'key'>> = {}): HostAdminView {
  return {
    key,
    weight: 1,
    priority: 0,
    edsStatus: 'HEALTHY',
    failedActiveHc: false,
    ejected: false,
    usable: true,
    stats: { activeRequests: 0, totalRequests: 0 },
    ...o,
  };
}

function cluster(config: ClusterConfig, hosts: HostAdminView[] = [], connections = 0): ClusterAdminView {
  return { name: config.name, config, resources: { connections }, allHosts: hosts };
}

test('health_flags: each reason a host is out of rotation, in order, or healthy', () => {
  const cases: { name: string; h: Partial<HostAdminView>; flags: string }[] = [
    { name: 'healthy', h: {}, flags: 'healthy' },
    { name: 'degraded is still healthy', h: { edsStatus: 'DEGRADED' }, flags: 'healthy' },
    { name: 'active health check failed', h: { failedActiveHc: true }, flags: '/failed_active_hc' },
    { name: 'ejected', h: { ejected: true }, flags: '/failed_outlier_check' },
    { name: 'EDS unhealthy', h: { edsStatus: 'UNHEALTHY' }, flags: '/failed_eds_health' },
    { name: 'EDS draining', h: { edsStatus: 'DRAINING' }, flags: '/pending_dynamic_removal' },
    {
      name: 'several',
      h: { failedActiveHc: true, ejected: true, edsStatus: 'UNHEALTHY' as HealthStatus },
      flags: '/failed_active_hc/failed_outlier_check/failed_eds_health',
    },
  ];
  for (const c of cases) assert.equal(healthFlags(host('h:1', c.h)), c.flags, c.name);
});

test('/clusters text: thresholds per cluster, then each host’s stats', () => {
  const cases: { name: string; clusters: ClusterAdminView[]; text: string }[] = [
    { name: 'no clusters', clusters: [], text: '' },
    {
      name: 'default thresholds, no hosts',
      clusters: [cluster(clusterConfig('a'))],
      text: ['a::default_priority::max_connections::1024', 'a::default_priority::max_pending_requests::1024', 'a::default_priority::max_requests::1024', 'a::default_priority::max_retries::3', ''].join('\n'),
    },
    {
      name: 'configured thresholds and two hosts',
      clusters: [
        cluster(clusterConfig('b', { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 2, max_requests: 3, max_retries: 4 }] } }), [
          host('10.0.0.1:80', { weight: 3, stats: { activeRequests: 2, totalRequests: 7 } }),
          host('[::1]:81', { priority: 1, ejected: true, usable: false }),
        ]),
      ],
      text: [
        'b::default_priority::max_connections::1',
        'b::default_priority::max_pending_requests::2',
        'b::default_priority::max_requests::3',
        'b::default_priority::max_retries::4',
        'b::10.0.0.1:80::rq_active::2',
        'b::10.0.0.1:80::rq_total::7',
        'b::10.0.0.1:80::weight::3',
        'b::10.0.0.1:80::priority::0',
        'b::10.0.0.1:80::health_flags::healthy',
        'b::10.0.0.1:80::ejected::false',
        'b::[::1]:81::rq_active::0',
        'b::[::1]:81::rq_total::0',
        'b::[::1]:81::weight::1',
        'b::[::1]:81::priority::1',
        'b::[::1]:81::health_flags::/failed_outlier_check',
        'b::[::1]:81::ejected::true',
        '',
      ].join('\n'),
    },
  ];
  for (const c of cases) assert.equal(clustersText(c.clusters), c.text, c.name);
});

test('/clusters JSON: thresholds, open connections (the breaker’s count) and each host', () => {
  const a = clusterConfig('a', { circuit_breakers: { thresholds: [{ max_connections: 5 }] } });
  const cases: { name: string; clusters: ClusterAdminView[]; json: unknown }[] = [
    { name: 'no clusters', clusters: [], json: { clusters: [] } },
    {
      name: 'one cluster, one host',
      clusters: [cluster(a, [host('127.0.0.1:9', { edsStatus: 'DRAINING', usable: false, failedActiveHc: true, stats: { activeRequests: 1, totalRequests: 4 } })], 2)],
      json: {
        clusters: [
          {
            name: 'a',
            circuit_breakers: a.circuitBreakers,
            connections: 2,
            hosts: [
              {
                address: '127.0.0.1:9',
                weight: 1,
                priority: 0,
                health_status: 'DRAINING',
                failed_active_health_check: true,
                ejected: false,
                healthy: false,
                active_requests: 1,
                total_requests: 4,
              },
            ],
          },
        ],
      },
    },
  ];
  for (const c of cases) assert.deepEqual(clustersJson(c.clusters), c.json, c.name);
});

test('/config_dump: the bootstrap, and as dynamic only the clusters, listeners and routes xDS added', () => {
  const bootstrap = translateBootstrap({ static_resources: { clusters: [{ name: 'static', connect_timeout: '1s' }] } });
  const dynamic = clusterConfig('from-cds');
  const listener = { name: 'from-lds' } as never;
  const routes = { name: 'from-rds' } as never;
  const cases: { name: string; state: Parameters<typeof configDump>[0]; dump: unknown }[] = [
    {
      name: 'static only',
      state: { bootstrap, clusters: [cluster(bootstrap.clusters[0])], dynamicListeners: [], routeConfigs: [], xds: null },
      dump: { bootstrap, dynamic_listeners: [], dynamic_clusters: [], dynamic_route_configs: [], xds: null },
    },
    {
      name: 'with xDS resources',
      state: {
        bootstrap,
        clusters: [cluster(bootstrap.clusters[0]), cluster(dynamic)],
        dynamicListeners: [listener],
        routeConfigs: [routes],
        xds: { connected: true },
      },
      dump: { bootstrap, dynamic_listeners: [listener], dynamic_clusters: [dynamic], dynamic_route_configs: [routes], xds: { connected: true } },
    },
    {
      name: 'a cluster of the same name replaced by CDS is dynamic',
      state: { bootstrap, clusters: [cluster(clusterConfig('static'))], dynamicListeners: [], routeConfigs: [], xds: null },
      dump: { bootstrap, dynamic_listeners: [], dynamic_clusters: [clusterConfig('static')], dynamic_route_configs: [], xds: null },
    },
  ];
  for (const c of cases) assert.deepEqual(configDump(c.state), c.dump, c.name);
});

test('config_dump JSON: keys redacted, other buffers by size, sets as lists, patterns as source', () => {
  const cases: { name: string; value: unknown; json: string }[] = [
    { name: 'private key', value: { privateKey: Buffer.from('secret') }, json: '{"privateKey":"[redacted]"}' },
    { name: 'certificate', value: { certChain: Buffer.from('abc') }, json: '{"certChain":"[3 bytes]"}' },
    { name: 'set', value: { names: new Set(['a', 'b']) }, json: '{"names":["a","b"]}' },
    { name: 'regexp', value: { match: /^\/api/ }, json: '{"match":"^\\\\/api"}' },
  ];
  for (const c of cases) assert.equal(JSON.stringify(c.value, jsonReplacer), c.json, c.name);
});
