// Tests for Cluster translation: discovery, load balancing, endpoints, health checks, resilience, protocols.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrime, translateCluster } from './cluster';
import { translateClusterLoadAssignment } from './endpoints';
import { assertConfigError, staticCluster } from './config.fixture';

const C = 'static_resources.clusters[1]';
const tr = (extra: Record<string, unknown>, base = staticCluster('c')) => translateCluster({ ...base, ...extra }, C);
const HC = { timeout: '1s', interval: '2s', unhealthy_threshold: 3, healthy_threshold: 2 };
const dns = (type: string, extra: Record<string, unknown> = {}) => ({
  name: 'd', type, load_assignment: { cluster_name: 'd', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'db.local', port_value: 5432 } } } }] }] }, ...extra,
});

describe('cluster', () => {
  test('lb policies and their configs', () => {
    assert.deepEqual(tr({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 4, active_request_bias: { default_value: 0.5, runtime_key: 'k' } } }).leastRequest, { choiceCount: 4, activeRequestBias: 0.5 });
    assert.deepEqual(tr({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: '10', maximum_ring_size: 100 } }).ringHash, { minimumRingSize: 10, maximumRingSize: 100 });
    assert.deepEqual(tr({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 251 } }).maglev, { tableSize: 251 });
    assert.equal(tr({}).maglev.tableSize, 65_537);
    assert.equal(tr({ lb_policy: 'RANDOM', common_lb_config: { healthy_panic_threshold: { value: 0 } } }).healthyPanicThreshold, 0);
  });
  test('DNS clusters and ORIGINAL_DST', () => {
    const d = translateCluster(dns('STRICT_DNS', { dns_lookup_family: 'V4_ONLY', dns_refresh_rate: '30s', respect_dns_ttl: true }), C);
    assert.deepEqual([d.type, d.dnsLookupFamily, d.dnsRefreshRateMs, d.respectDnsTtl], ['STRICT_DNS', 'V4_ONLY', 30_000, true]);
    assert.equal(translateCluster(dns('LOGICAL_DNS'), C).loadAssignment!.localities[0].endpoints[0].address.host, 'db.local');
    const o = translateCluster({ name: 'o', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }, C);
    assert.equal(o.loadAssignment, null);
  });
  test('EDS cluster', () => {
    const e = translateCluster({ name: 'e', type: 'EDS', eds_cluster_config: { service_name: 'svc', eds_config: { ads: {} } } }, C);
    assert.deepEqual([e.type, e.edsServiceName, e.loadAssignment], ['EDS', 'svc', null]);
  });
  test('protocol options: typed, deprecated field, max requests', () => {
    const t = tr({
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          common_http_protocol_options: { idle_timeout: '10s', max_requests_per_connection: 7 },
          explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 50 } },
        },
      },
    });
    assert.deepEqual(t.http2, { maxConcurrentStreams: 50, initialStreamWindowSize: 268_435_456, initialConnectionWindowSize: 268_435_456 });
    assert.deepEqual([t.idleTimeoutMs, t.maxRequestsPerConnection], [10_000, 7]);
    assert.ok(tr({ http2_protocol_options: {} }).http2);
    assert.equal(tr({}).http2, null);
    assert.equal(tr({ max_requests_per_connection: { value: 3 } }).maxRequestsPerConnection, 3);
    assert.equal(tr({ typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http_protocol_options: {} } } } }).http2, null);
  });
  test('outlier detection defaults and circuit breakers', () => {
    const c = tr({ outlier_detection: {}, circuit_breakers: { thresholds: [{ max_retries: 10, track_remaining: true }, { priority: 'HIGH', retry_budget: {} }] } });
    assert.deepEqual(c.outlierDetection, {
      consecutive5xx: 5, consecutiveGatewayFailure: 5, consecutiveLocalOriginFailure: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000, maxEjectionPercent: 10, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0,
      enforcingConsecutiveLocalOriginFailure: 100, enforcingSuccessRate: 100, successRateMinimumHosts: 5, successRateRequestVolume: 100,
      successRateStdevFactor: 1900, enforcingFailurePercentage: 0, failurePercentageThreshold: 85, failurePercentageMinimumHosts: 5,
      failurePercentageRequestVolume: 50, splitExternalLocalOriginErrors: false, maxEjectionTimeJitterMs: 0, successfulActiveHealthCheckUnejectHost: true,
    });
    assert.deepEqual(c.circuitBreakers, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 10, retryBudget: null });
    assert.equal(tr({ outlier_detection: { consecutive5xx: 2 } }).outlierDetection!.consecutive5xx, 2, 'proto3 JSON name');
  });
  test('health checks and their derived intervals', () => {
    const [h] = tr({ health_checks: [{ ...HC, http_health_check: { path: '/h' } }] }).healthChecks;
    assert.deepEqual(
      [h.noTrafficIntervalMs, h.noTrafficHealthyIntervalMs, h.unhealthyIntervalMs, h.unhealthyEdgeIntervalMs, h.healthyEdgeIntervalMs, h.reuseConnection],
      [60_000, 60_000, 2000, 2000, 2000, true],
    );
    assert.deepEqual(h.check, { kind: 'http', path: '/h', host: null, expectedStatuses: [[200, 201]], retriableStatuses: [], requestHeadersToAdd: [], http2: false });
    const [t] = tr({ health_checks: [{ ...HC, unhealthy_interval: '5s', tcp_health_check: { send: { text: '0a0B' }, receive: [{ text: 'ff' }] } }] }).healthChecks;
    assert.ok(t.check.kind === 'tcp' && t.check.send!.equals(Buffer.from([10, 11])) && t.check.receive[0][0] === 255);
    assert.equal(t.unhealthyEdgeIntervalMs, 5000);
    const [g] = tr({ health_checks: [{ ...HC, grpc_health_check: {} }] }).healthChecks;
    assert.deepEqual(g.check, { kind: 'grpc', serviceName: '', authority: null });
  });
  test('rejects health_status DEGRADED (no degraded load)', () =>
    assertConfigError(
      () => translateClusterLoadAssignment({ cluster_name: 'x', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, health_status: 'DEGRADED' }] }] }, 'cla'),
      'cla.endpoints[0].lb_endpoints[0].health_status: DEGRADED is not supported',
    ));
  test('endpoints: locality, priority, weights, health, metadata', () => {
    const la = translateClusterLoadAssignment(
      {
        cluster_name: 'x',
        policy: { overprovisioning_factor: 200 },
        endpoints: [
          {
            locality: { region: 'r', zone: 'z' },
            priority: 1,
            load_balancing_weight: 5,
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } }, hostname: 'h', health_check_config: { port_value: 81 } }, health_status: 'DRAINING', load_balancing_weight: 2, metadata: { filter_metadata: { a: { b: 1 } } } },
            ],
          },
        ],
      },
      'cla',
    );
    assert.equal(la.overprovisioningFactor, 200);
    assert.deepEqual(la.localities[0].locality, { region: 'r', zone: 'z', subZone: '' });
    assert.deepEqual([la.localities[0].priority, la.localities[0].weight], [1, 5]);
    assert.deepEqual(la.localities[0].endpoints[0], {
      address: { host: '10.0.0.1', port: 80 }, healthStatus: 'DRAINING', weight: 2, hostname: 'h', healthCheckPort: 81, metadata: { filter_metadata: { a: { b: 1 } } },
    });
  });
  test('proto3 JSON as @grpc/proto-loader emits it (camelCase, oneof markers, wrappers, Any)', () => {
    const c = translateCluster(
      {
        name: 'app',
        connectTimeout: { seconds: '1', nanos: 500000000 },
        lbPolicy: 'LEAST_REQUEST',
        loadAssignment: {
          clusterName: 'app',
          endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80, portSpecifier: 'portValue' }, address: 'socketAddress' } }, hostIdentifier: 'endpoint' }] }],
        },
        outlierDetection: { consecutive_5xx: { value: 2 }, enforcingConsecutive_5xx: { value: 50 }, baseEjectionTime: { seconds: '10', nanos: 0 } },
        typedExtensionProtocolOptions: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: { value: 9 } }, protocolConfig: 'http2ProtocolOptions' },
            upstreamProtocolOptions: 'explicitHttpConfig',
          },
        },
        clusterDiscoveryType: 'type',
        type: 'STATIC',
      },
      C,
    );
    assert.equal(c.connectTimeoutMs, 1500);
    assert.equal(c.loadAssignment!.localities[0].endpoints[0].address.port, 80);
    assert.deepEqual([c.outlierDetection!.consecutive5xx, c.outlierDetection!.enforcingConsecutive5xx, c.outlierDetection!.baseEjectionTimeMs], [2, 50, 10_000]);
    assert.equal(c.http2!.maxConcurrentStreams, 9);
  });
  test('isPrime', () => assert.deepEqual([2, 3, 4, 65_537, 65_535, 5_000_011].map(isPrime), [true, true, false, true, false, true]));

  const bad: [string, Record<string, unknown>, string[]][] = [
    ['bad lb_policy', { lb_policy: 'RING_HASH_X' }, [`${C}.lb_policy: RING_HASH_X is not a valid lb_policy`]],
    ['maglev table size not prime', { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 100 } }, [`${C}.maglev_lb_config.table_size`, 'prime']],
    ['ring min above max', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 100, maximum_ring_size: 10 } }, [`${C}.ring_hash_lb_config`]],
    ['lb config for another policy', { ring_hash_lb_config: {} }, [`${C}.ring_hash_lb_config`, 'ROUND_ROBIN']],
    ['choice_count 1', { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 1 } }, [`${C}.least_request_lb_config.choice_count`]],
    ['negative active_request_bias', { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { active_request_bias: { default_value: -1 } } }, [`${C}.least_request_lb_config.active_request_bias.default_value`, 'negative']],
    ['ring size 0', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 0 } }, [`${C}.ring_hash_lb_config.minimum_ring_size`]],
    ['ring size over 8M', { lb_policy: 'RING_HASH', ring_hash_lb_config: { maximum_ring_size: 8_388_609 } }, [`${C}.ring_hash_lb_config.maximum_ring_size`]],
    ['maglev table size over the limit', { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 5_000_011 } }, [`${C}.maglev_lb_config.table_size`]],
    ['custom cluster_type', { cluster_type: { name: 'envoy.clusters.aggregate' } }, [`${C}.cluster_type`, 'not supported']],
    ['unknown type', { type: 'MAGIC' }, [`${C}.type`]],
    ['STATIC with a hostname', { load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'db', port_value: 1 } } } }] }] } }, [`${C}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address`, 'not an IP']],
    ['ORIGINAL_DST with round robin', { type: 'ORIGINAL_DST', load_assignment: undefined }, [`${C}.lb_policy`, 'CLUSTER_PROVIDED']],
    ['ORIGINAL_DST with endpoints', { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }, [`${C}.load_assignment`]],
    ['upstream_bind_config freebind', { upstream_bind_config: { source_address: { address: '10.9.9.9', port_value: 0 }, freebind: true } }, [`${C}.upstream_bind_config.freebind: is not supported`]],
    ['EDS without eds_cluster_config', { type: 'EDS', load_assignment: undefined }, [`${C}.eds_cluster_config`]],
    ['an EDS initial_fetch_timeout (clusters do not warm)', { type: 'EDS', load_assignment: undefined, eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: '5s' } } }, [`${C}.eds_cluster_config.eds_config.initial_fetch_timeout: is not supported`]],
    ['bad connect_timeout', { connect_timeout: '1.5' }, [`${C}.connect_timeout`]],
    ['zero connect_timeout', { connect_timeout: '0s' }, [`${C}.connect_timeout`]],
    ['panic threshold above 100', { common_lb_config: { healthy_panic_threshold: { value: 150 } } }, [`${C}.common_lb_config.healthy_panic_threshold.value`]],
    ['outlier percent above 100', { outlier_detection: { max_ejection_percent: 101 } }, [`${C}.outlier_detection.max_ejection_percent`]],
    ['outlier unknown field', { outlier_detection: { consecutive_6xx: 1 } }, [`${C}.outlier_detection.consecutive_6xx: unknown field`]],
    ['duplicate breaker priority', { circuit_breakers: { thresholds: [{}, { priority: 'DEFAULT' }] } }, [`${C}.circuit_breakers.thresholds[1].priority`]],
    ['per-host thresholds', { circuit_breakers: { per_host_thresholds: [{ max_connections: 1 }] } }, [`${C}.circuit_breakers.per_host_thresholds`]],
    ['health check without checker', { health_checks: [HC] }, [`${C}.health_checks[0]`]],
    ['health check without timeout', { health_checks: [{ ...HC, timeout: undefined, tcp_health_check: {} }] }, [`${C}.health_checks[0].timeout`, 'required']],
    ['health check bad status range', { health_checks: [{ ...HC, http_health_check: { path: '/', expected_statuses: [{ start: 300, end: 200 }] } }] }, [`${C}.health_checks[0].http_health_check.expected_statuses[0]`]],
    ['health check bad hex', { health_checks: [{ ...HC, tcp_health_check: { send: { text: 'xyz' } } }] }, [`${C}.health_checks[0].tcp_health_check.send.text`]],
    ['two unnamed health checks', { health_checks: [{ ...HC, tcp_health_check: {} }, { ...HC, tcp_health_check: {} }] }, [`${C}.health_checks[0].name`]],
    ['HTTP3 health check', { health_checks: [{ ...HC, http_health_check: { path: '/', codec_client_type: 'HTTP3' } }] }, ['codec_client_type: HTTP3 is not supported']],
    ['unknown protocol options key', { typed_extension_protocol_options: { 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions': {} } }, [`${C}.typed_extension_protocol_options.envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions`]],
    ['http2 window too small', { http2_protocol_options: { initial_stream_window_size: 100 } }, [`${C}.http2_protocol_options.initial_stream_window_size`]],
    ['unsupported http2 option', { http2_protocol_options: { hpack_table_size: 100 } }, [`${C}.http2_protocol_options.hpack_table_size`, 'not supported']],
    ['LOGICAL_DNS with two endpoints', { type: 'LOGICAL_DNS', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'a', port_value: 1 } } } }, { endpoint: { address: { socket_address: { address: 'b', port_value: 1 } } } }] }] } }, [`${C}.load_assignment`, 'single']],
    ['bad health status', { load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.1.1.1', port_value: 1 } } }, health_status: 'SICK' }] }] } }, ['lb_endpoints[0].health_status']],
    ['load assignment without cluster_name', { load_assignment: { endpoints: [] } }, [`${C}.load_assignment.cluster_name`]],
    ['dns lookup family', { dns_lookup_family: 'V5_ONLY' }, [`${C}.dns_lookup_family`]],
  ];
  for (const [name, extra, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => tr(extra), ...frags));
});
