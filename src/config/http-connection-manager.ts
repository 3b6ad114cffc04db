// The two network filters Ferry runs: http_connection_manager and tcp_proxy.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { HttpConnectionManagerConfig, TcpProxyConfig, WeightedClusterConfig } from './types';
import { duration, optDuration } from './common';
import { translateHttpFilters } from './http-filters';
import { translateAccessLogs } from './access-log';
import { Reader } from './reader';
import { translateRouteConfiguration, upgradeTypes } from './route';

export const HCM_NAME = 'envoy.filters.network.http_connection_manager';
export const TCP_PROXY_NAME = 'envoy.filters.network.tcp_proxy';
export const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Envoy's initial_fetch_timeout when a config source does not set one. */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

/**
 * A ConfigSource: only `ads: {}` is supported (with resource_api_version V3). Returns its
 * initial_fetch_timeout in ms (0 = wait as long as it takes), null when not given.
 */
export function adsConfigSource(v: unknown, path: string): { initialFetchTimeoutMs: number | null } {
  const r = new Reader(v, path);
  r.reject('path', 'path_config_source', 'api_config_source', 'self', 'authorities');
  r.enumOf('resource_api_version', ['V3'], 'V3', 'resource_api_version (only V3 is supported)');
  const initialFetchTimeoutMs = optDuration(r, 'initial_fetch_timeout');
  const ads = r.obj('ads');
  if (!ads) throw new UnsupportedConfigError(path, 'only an ADS config source (ads: {}) is supported');
  ads.done();
  r.done();
  return { initialFetchTimeoutMs };
}

/** Envoy's default for `common_http_protocol_options.max_headers_count` on a connection manager. */
export const DEFAULT_MAX_REQUEST_HEADERS_COUNT = 100;

function commonHttpProtocolOptions(r: Reader, key: string): { idleTimeoutMs: number; maxHeadersCount: number } {
  const o = r.obj(key);
  if (!o) return { idleTimeoutMs: 3_600_000, maxHeadersCount: DEFAULT_MAX_REQUEST_HEADERS_COUNT };
  const idleTimeoutMs = duration(o, 'idle_timeout', 3_600_000);
  const maxHeadersCount = o.int('max_headers_count', DEFAULT_MAX_REQUEST_HEADERS_COUNT, 1, 0xffffffff);
  o.reject('max_connection_duration', 'max_stream_duration', 'max_requests_per_connection', 'max_response_headers_kb');
  o.enumOf('headers_with_underscores_action', ['ALLOW'], 'ALLOW', 'headers_with_underscores_action (only ALLOW is supported)');
  o.done();
  return { idleTimeoutMs, maxHeadersCount };
}

/**
 * Downstream HTTP/2 options: only max_concurrent_streams (SETTINGS_MAX_CONCURRENT_STREAMS), whose
 * default is Ferry's, not Envoy's unlimited one (docs/decisions/0013-http2-abuse-limits.md).
 */
export const DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS = 100;

function http2ProtocolOptions(r: Reader, key: string): number {
  const o = r.obj(key);
  if (!o) return DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS;
  const max = o.int('max_concurrent_streams', DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS, 1, 2_147_483_647);
  o.rejectRest();
  o.done();
  return max;
}

/** The HttpConnectionManager message (typed_config minus '@type'). */
export function translateHttpConnectionManager(r: Reader): HttpConnectionManagerConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const codec = r.enumOf('codec_type', ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'], 'AUTO', 'codec_type');
  if (codec === 'HTTP3') throw new UnsupportedConfigError(r.at('codec_type'), 'HTTP3 is not supported');
  const sources = ['route_config', 'rds', 'scoped_routes'].filter((k) => r.has(k));
  if (sources.length !== 1) throw new ConfigError(r.path, 'exactly one of route_config and rds is required');
  r.reject('scoped_routes');
  let routeConfig = null;
  let rdsRouteConfigName: string | null = null;
  let rdsInitialFetchTimeoutMs = DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
  if (sources[0] === 'route_config') {
    routeConfig = translateRouteConfiguration(r.get('route_config'), r.at('route_config'));
  } else {
    const rds = r.obj('rds')!;
    rdsRouteConfigName = rds.requiredStr('route_config_name');
    const cs = rds.get('config_source');
    if (cs === undefined) throw new ConfigError(rds.at('config_source'), 'is required');
    rdsInitialFetchTimeoutMs = adsConfigSource(cs, rds.at('config_source')).initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
    rds.done();
  }
  const httpFilters = translateHttpFilters(r, 'http_filters');
  const stripPorts = ['strip_matching_host_port', 'strip_any_host_port'].filter((k) => r.has(k));
  if (stripPorts.length > 1) throw new ConfigError(r.path, 'only one of strip_matching_host_port and strip_any_host_port may be given');
  const stripMatching = r.bool('strip_matching_host_port', false);
  const stripAny = r.bool('strip_any_host_port', false);
  const common = commonHttpProtocolOptions(r, 'common_http_protocol_options');
  const out: HttpConnectionManagerConfig = {
    kind: 'http_connection_manager',
    statPrefix,
    codecType: codec,
    routeConfig,
    rdsRouteConfigName,
    rdsInitialFetchTimeoutMs,
    httpFilters,
    requestHeadersTimeoutMs: duration(r, 'request_headers_timeout', 0),
    requestTimeoutMs: duration(r, 'request_timeout', 0),
    streamIdleTimeoutMs: duration(r, 'stream_idle_timeout', 300_000),
    idleTimeoutMs: common.idleTimeoutMs,
    maxRequestHeadersKb: r.int('max_request_headers_kb', 60, 1, 8192),
    maxRequestHeadersCount: common.maxHeadersCount,
    useRemoteAddress: r.bool('use_remote_address', false),
    generateRequestId: r.bool('generate_request_id', true),
    preserveExternalRequestId: r.bool('preserve_external_request_id', false),
    upgradeTypes: upgradeTypes(r, 'upgrade_configs', true),
    serverName: r.str('server_name', 'ferry') || 'ferry',
    drainTimeoutMs: duration(r, 'drain_timeout', 5000),
    normalizePath: r.bool('normalize_path', false),
    mergeSlashes: r.bool('merge_slashes', false),
    stripPortMode: stripMatching ? 'matching' : stripAny ? 'any' : 'none',
    http2MaxConcurrentStreams: http2ProtocolOptions(r, 'http2_protocol_options'),
    accessLogs: translateAccessLogs(r),
  };
  r.enumOf('server_header_transformation', ['OVERWRITE'], 'OVERWRITE', 'server_header_transformation (only OVERWRITE is supported)');
  r.enumOf('forward_client_cert_details', ['SANITIZE'], 'SANITIZE', 'forward_client_cert_details (only SANITIZE is supported)');
  r.enumOf('path_with_escaped_slashes_action', ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED'], 'IMPLEMENTATION_SPECIFIC_DEFAULT', 'path_with_escaped_slashes_action');
  const h1 = r.obj('http_protocol_options');
  if (h1) {
    h1.rejectRest();
    h1.done();
  }
  r.ignore('internal_address_config');
  // Ferry never takes the client address from x-forwarded-for (RBAC and hashing read the
  // connection's peer), so trusted hops would have nothing to change.
  r.reject(
    // Periodic and on-new-request flushing: Ferry writes each line once, when the stream ends.
    'access_log_options',
    'xff_num_trusted_hops',
    // Would set user-agent and x-envoy-downstream-service-cluster on requests: Ferry adds neither.
    'add_user_agent',
    'tracing',
    'http3_protocol_options',
    'scheme_header_transformation',
    'max_request_headers_count',
    'stream_error_on_invalid_http_message',
    'delayed_close_timeout',
    'via',
    'skip_xff_append',
    'set_current_client_cert_details',
    'proxy_100_continue',
    'represent_ipv4_remote_address_as_ipv4_mapped_ipv6',
    'local_reply_config',
    'request_id_extension',
    'original_ip_detection_extensions',
    'early_header_mutation_extensions',
    'path_normalization_options',
    'strip_trailing_host_dot',
    'proxy_status_config',
    'typed_header_validation_config',
    'append_x_forwarded_port',
    'append_local_overload',
    'add_proxy_protocol_connection_state',
    'always_set_request_id_in_response',
    'max_stream_duration',
    'stream_flush_timeout',
    'http1_safe_max_connection_duration',
    'user_agent',
  );
  r.done();
  return out;
}

function tcpWeighted(r: Reader, key: string): WeightedClusterConfig[] | null {
  const w = r.obj(key);
  if (!w) return null;
  const list = w.objList('clusters', (c) => {
    const name = c.requiredStr('name');
    const weight = c.int('weight', 0, 1, 0xffffffff);
    c.reject('metadata_match');
    c.done();
    return { name, weight };
  });
  w.done();
  if (list.length === 0) throw new ConfigError(w.at('clusters'), 'at least one cluster is required');
  return list;
}

/** The TcpProxy message (typed_config minus '@type'). */
export function translateTcpProxy(r: Reader): TcpProxyConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const specs = ['cluster', 'weighted_clusters', 'on_demand'].filter((k) => r.has(k));
  if (specs.length !== 1) throw new ConfigError(r.path, 'exactly one of cluster and weighted_clusters is required');
  const cluster = specs[0] === 'cluster' ? r.requiredStr('cluster') : null;
  const weightedClusters = tcpWeighted(r, 'weighted_clusters');
  const out: TcpProxyConfig = {
    kind: 'tcp_proxy',
    statPrefix,
    cluster,
    weightedClusters,
    idleTimeoutMs: duration(r, 'idle_timeout', 3_600_000),
    maxConnectAttempts: r.int('max_connect_attempts', 1, 1, 0xffffffff),
    accessLogs: translateAccessLogs(r),
  };
  r.reject(
    'access_log_options',
    'on_demand',
    'metadata_match',
    'downstream_idle_timeout',
    'upstream_idle_timeout',
    'hash_policy',
    'tunneling_config',
    'max_downstream_connection_duration',
    'access_log_flush_interval',
    'flush_access_log_on_connected',
    'backoff_options',
    'proxy_protocol_tlvs',
    'max_early_data_bytes',
  );
  r.done();
  return out;
}

/** One network filter: HCM or tcp_proxy, with typed_config (or an empty name-only config). */
export function translateNetworkFilter(v: unknown, path: string): HttpConnectionManagerConfig | TcpProxyConfig {
  const f = new Reader(v, path);
  const name = f.str('name');
  const tc = f.obj('typed_config');
  f.reject('config_discovery');
  f.done();
  const type = tc ? tc.str('@type') : name === HCM_NAME ? HCM_TYPE : name === TCP_PROXY_NAME ? TCP_PROXY_TYPE : '';
  const body = tc ?? new Reader({}, `${path}.typed_config`);
  if (type === HCM_TYPE) return translateHttpConnectionManager(body);
  if (type === TCP_PROXY_TYPE) return translateTcpProxy(body);
  throw new UnsupportedConfigError(tc ? tc.at('@type') : f.at('name'), `network filter ${type || name || '(none)'} is not supported`);
}
