// Tests for http_connection_manager and tcp_proxy translation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpConnectionManagerConfig } from './types';
import { translateNetworkFilter } from './http-connection-manager';
import { assertConfigError, hcm } from './config.fixture';

const PATH = 'listeners[0].filter_chains[0].filters[0]';
function translate(extra: Record<string, unknown>): HttpConnectionManagerConfig {
  const n = translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm(extra) }, PATH);
  assert.equal(n.kind, 'http_connection_manager');
  return n as HttpConnectionManagerConfig;
}

describe('http_connection_manager', () => {
  test('every supported field', () => {
    const c = translate({
      codec_type: 'HTTP2',
      request_headers_timeout: '1s',
      request_timeout: '2s',
      stream_idle_timeout: '3s',
      common_http_protocol_options: { idle_timeout: '4s' },
      max_request_headers_kb: 90,
      use_remote_address: true,
      xff_num_trusted_hops: 0,
      generate_request_id: false,
      preserve_external_request_id: true,
      upgrade_configs: [{ upgrade_type: 'WebSocket' }, { upgrade_type: 'CONNECT', enabled: false }],
      server_name: 'edge',
      drain_timeout: '6s',
      normalize_path: true,
      merge_slashes: true,
      strip_matching_host_port: true,
      access_log: [{ name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } }],
    });
    assert.deepEqual(c.accessLogs.map((l) => [l.target.kind, l.format.kind]), [['stdout', 'text']]);
    assert.deepEqual(
      [c.codecType, c.requestHeadersTimeoutMs, c.requestTimeoutMs, c.streamIdleTimeoutMs, c.idleTimeoutMs, c.maxRequestHeadersKb],
      ['HTTP2', 1000, 2000, 3000, 4000, 90],
    );
    assert.deepEqual(
      [c.useRemoteAddress, c.generateRequestId, c.preserveExternalRequestId, c.serverName, c.drainTimeoutMs],
      [true, false, true, 'edge', 6000],
    );
    assert.deepEqual(c.upgradeTypes, ['websocket']);
    assert.deepEqual([c.normalizePath, c.mergeSlashes, c.stripPortMode], [true, true, 'matching']);
  });
  test('rds over ADS', () => {
    const c = translate({ route_config: undefined, rds: { route_config_name: 'r80', config_source: { ads: {}, resource_api_version: 'V3' } } });
    assert.equal(c.routeConfig, null);
    assert.equal(c.rdsRouteConfigName, 'r80');
    assert.equal(c.rdsInitialFetchTimeoutMs, 15_000, "Envoy's default");
    const t = translate({ route_config: undefined, rds: { route_config_name: 'r', config_source: { ads: {}, initial_fetch_timeout: '2.5s' } } });
    assert.equal(t.rdsInitialFetchTimeoutMs, 2500);
  });
  test('http2_protocol_options.max_concurrent_streams: 100 by default, else as given', () => {
    assert.equal(translate({}).http2MaxConcurrentStreams, 100);
    assert.equal(translate({ http2_protocol_options: {} }).http2MaxConcurrentStreams, 100);
    assert.equal(translate({ http2_protocol_options: { max_concurrent_streams: 7 } }).http2MaxConcurrentStreams, 7);
    assert.equal(translate({ http2_protocol_options: { max_concurrent_streams: { value: 2147483647 } } }).http2MaxConcurrentStreams, 2147483647);
  });
  test('strip_any_host_port', () => assert.equal(translate({ strip_any_host_port: true }).stripPortMode, 'any'));
  test('max_headers_count: Envoy\'s default 100, or the configured count', () => {
    assert.equal(translate({}).maxRequestHeadersCount, 100);
    assert.equal(translate({ common_http_protocol_options: { idle_timeout: '4s' } }).maxRequestHeadersCount, 100);
    assert.equal(translate({ common_http_protocol_options: { max_headers_count: 250 } }).maxRequestHeadersCount, 250);
    assert.equal(translate({ common_http_protocol_options: { max_headers_count: { value: 7 } } }).maxRequestHeadersCount, 7);
  });
  const T = `${PATH}.typed_config`;
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['HTTP3 codec', { codec_type: 'HTTP3' }, [`${T}.codec_type: HTTP3 is not supported`]],
    ['bogus codec', { codec_type: 'SPDY' }, [`${T}.codec_type`]],
    ['no route source', { route_config: undefined }, [T]],
    ['rds from a file', { route_config: undefined, rds: { route_config_name: 'r', config_source: { path: '/x' } } }, [`${T}.rds.config_source.path`]],
    ['no stat_prefix', { stat_prefix: '' }, [`${T}.stat_prefix`]],
    ['tracing', { tracing: { random_sampling: { value: 1 } } }, [`${T}.tracing`, 'not supported']],
    ['max headers kb', { max_request_headers_kb: 9000 }, [`${T}.max_request_headers_kb`]],
    ['max headers count 0', { common_http_protocol_options: { max_headers_count: 0 } }, [`${T}.common_http_protocol_options.max_headers_count`]],
    ['max headers count not a number', { common_http_protocol_options: { max_headers_count: 'lots' } }, [`${T}.common_http_protocol_options.max_headers_count`]],
    ['a CONNECT upgrade', { upgrade_configs: [{ upgrade_type: 'CONNECT' }] }, [`${T}.upgrade_configs[0].upgrade_type`, 'CONNECT tunnelling is not supported']],
    ['an h2c upgrade', { upgrade_configs: [{ upgrade_type: 'h2c' }] }, [`${T}.upgrade_configs[0].upgrade_type`, 'served as HTTP/1.1']],
    ['both strip modes', { strip_any_host_port: true, strip_matching_host_port: true }, [T]],
    ['router not last', { http_filters: [{ name: 'envoy.filters.http.router' }, { name: 'envoy.filters.http.fault' }] }, [`${T}.http_filters[0]`]],
    ['unknown field', { colour: 'blue' }, [`${T}.colour: unknown field`]],
    ['max_concurrent_streams 0', { http2_protocol_options: { max_concurrent_streams: 0 } }, [`${T}.http2_protocol_options.max_concurrent_streams`, 'out of range']],
    ['max_concurrent_streams 2^31', { http2_protocol_options: { max_concurrent_streams: 2 ** 31 } }, [`${T}.http2_protocol_options.max_concurrent_streams`, 'out of range']],
    ['max_concurrent_streams text', { http2_protocol_options: { max_concurrent_streams: 'many' } }, [`${T}.http2_protocol_options.max_concurrent_streams`, 'integer']],
    ['other http2 options', { http2_protocol_options: { initial_stream_window_size: 65535 } }, [`${T}.http2_protocol_options.initial_stream_window_size`, 'not supported']],
    ['add_user_agent', { add_user_agent: true }, [`${T}.add_user_agent: is not supported`]],
    ['trusted x-forwarded-for hops', { use_remote_address: true, xff_num_trusted_hops: 1 }, [`${T}.xff_num_trusted_hops: is not supported`]],
    ['bad stream idle timeout', { stream_idle_timeout: '5m' }, [`${T}.stream_idle_timeout`]],
  ];
  for (const [name, extra, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => translate(extra), ...frags));
  test('a network filter without typed_config needs one', () =>
    assertConfigError(() => translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager' }, PATH), `${PATH}.typed_config.stat_prefix`));
});
