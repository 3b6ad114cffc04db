// Cluster → ClusterConfig: discovery type, load balancing, endpoints, health, resilience, upstream protocol and TLS.

import { isIP } from 'node:net';
import { ConfigError, UnsupportedConfigError } from '../errors';
import type { ClusterConfig, DiscoveryType, Http2ProtocolOptions, LbPolicy, LoadAssignmentConfig } from './types';
import { duration, percent, positiveDuration } from './common';
import { endpointHosts, translateClusterLoadAssignment } from './endpoints';
import { translateHealthChecks } from './health-check';
import { adsConfigSource } from './http-connection-manager';
import { Reader } from './reader';
import { DEFAULT_THRESHOLDS, translateCircuitBreakers, translateOutlierDetection } from './resilience';
import { translateUpstreamTransportSocket } from './tls';

const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP_OPTIONS_TYPE = `type.googleapis.com/${HTTP_OPTIONS_KEY}`;
const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'] as const;
const TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'] as const;
const MAX_RING = 8_388_608;

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) if (n % i === 0) return false;
  return true;
}

function http2Options(v: unknown, path: string): Http2ProtocolOptions {
  const r = new Reader(v, path);
  const window = (key: string) => r.int(key, 268_435_456, 65_535, 2_147_483_647);
  const out: Http2ProtocolOptions = {
    maxConcurrentStreams: r.int('max_concurrent_streams', 2_147_483_647, 1, 2_147_483_647),
    initialStreamWindowSize: window('initial_stream_window_size'),
    initialConnectionWindowSize: window('initial_connection_window_size'),
  };
  r.rejectRest();
  r.done();
  return out;
}

interface ProtocolOptions {
  http2: Http2ProtocolOptions | null;
  idleTimeoutMs: number | null;
  maxRequestsPerConnection: number | null;
}

function commonHttpOptions(v: unknown, path: string, out: ProtocolOptions): void {
  const c = new Reader(v, path);
  if (c.has('idle_timeout')) out.idleTimeoutMs = duration(c, 'idle_timeout', 3_600_000);
  if (c.has('max_requests_per_connection')) out.maxRequestsPerConnection = c.int('max_requests_per_connection', 0, 0, 0xffffffff);
  c.reject('max_connection_duration', 'max_headers_count', 'max_stream_duration', 'max_response_headers_kb');
  c.enumOf('headers_with_underscores_action', ['ALLOW'], 'ALLOW', 'headers_with_underscores_action (only ALLOW is supported)');
  c.done();
}

function httpProtocolOptions(r: Reader, out: ProtocolOptions): void {
  const m = r.map('typed_extension_protocol_options');
  for (const [key, any] of Object.entries(m)) {
    const path = `${r.at('typed_extension_protocol_options')}.${key}`;
    if (key !== HTTP_OPTIONS_KEY) throw new UnsupportedConfigError(path, 'protocol options are not supported');
    const o = new Reader(any, path);
    const type = o.str('@type');
    if (type !== HTTP_OPTIONS_TYPE) throw new ConfigError(o.at('@type'), `expected ${HTTP_OPTIONS_TYPE}`);
    const c = o.get('common_http_protocol_options');
    if (c !== undefined) commonHttpOptions(c, o.at('common_http_protocol_options'), out);
    const e = o.obj('explicit_http_config');
    if (e) {
      const kinds = ['http_protocol_options', 'http2_protocol_options', 'http3_protocol_options'].filter((k) => e.has(k));
      if (kinds.length !== 1) throw new ConfigError(e.path, 'exactly one protocol is required');
      e.reject('http3_protocol_options');
      const h2 = e.get('http2_protocol_options');
      if (h2 !== undefined) out.http2 = http2Options(h2, e.at('http2_protocol_options'));
      const h1 = e.obj('http_protocol_options');
      h1?.rejectRest();
      h1?.done();
      e.done();
    }
    o.reject(
      'upstream_http_protocol_options',
      'use_downstream_protocol_config',
      'auto_config',
      'http_filters',
      'header_validation_config',
      'outlier_detection',
    );
    o.done();
  }
}

function lbConfig(r: Reader, policy: LbPolicy) {
  const lr = r.obj('least_request_lb_config');
  const leastRequest = { choiceCount: 2, activeRequestBias: 1 };
  if (lr) {
    leastRequest.choiceCount = lr.int('choice_count', 2, 2, 0xffffffff);
    const bias = lr.obj('active_request_bias');
    if (bias) {
      leastRequest.activeRequestBias = bias.num('default_value', 1);
      bias.ignore('runtime_key');
      bias.done();
      if (leastRequest.activeRequestBias < 0) throw new ConfigError(bias.at('default_value'), 'must not be negative');
    }
    lr.reject('slow_start_config', 'selection_method');
    lr.done();
  }
  const rh = r.obj('ring_hash_lb_config');
  const ringHash = { minimumRingSize: 1024, maximumRingSize: MAX_RING };
  if (rh) {
    ringHash.minimumRingSize = rh.int('minimum_ring_size', 1024, 1, MAX_RING);
    ringHash.maximumRingSize = rh.int('maximum_ring_size', MAX_RING, 1, MAX_RING);
    rh.enumOf('hash_function', ['XX_HASH'], 'XX_HASH', 'hash_function (only XX_HASH is supported)');
    rh.done();
    if (ringHash.minimumRingSize > ringHash.maximumRingSize) {
      throw new ConfigError(rh.path, `minimum_ring_size (${ringHash.minimumRingSize}) > maximum_ring_size (${ringHash.maximumRingSize})`);
    }
  }
  const mg = r.obj('maglev_lb_config');
  const maglev = { tableSize: 65_537 };
  if (mg) {
    maglev.tableSize = mg.int('table_size', 65_537, 1, 5_000_010);
    mg.done();
    if (!isPrime(maglev.tableSize)) throw new ConfigError(mg.at('table_size'), `${maglev.tableSize} is not a prime number`);
  }
  const pairs: [string, boolean][] = [
    ['least_request_lb_config', !!lr && policy !== 'LEAST_REQUEST'],
    ['ring_hash_lb_config', !!rh && policy !== 'RING_HASH'],
    ['maglev_lb_config', !!mg && policy !== 'MAGLEV'],
  ];
  for (const [k, bad] of pairs) if (bad) throw new ConfigError(r.at(k), `does not apply to lb_policy ${policy}`);
  return { leastRequest, ringHash, maglev };
}

function checkEndpoints(type: DiscoveryType, la: LoadAssignmentConfig | null, r: Reader): void {
  const path = r.at('load_assignment');
  if (type === 'ORIGINAL_DST' || type === 'EDS') {
    if (la) throw new ConfigError(path, `${type} clusters must have no load assignment configured`);
    return;
  }
  if (!la) return;
  if (type === 'LOGICAL_DNS' && (la.localities.length !== 1 || la.localities[0].endpoints.length !== 1)) {
    throw new ConfigError(path, 'LOGICAL_DNS clusters must have a single locality with a single endpoint');
  }
  if (type !== 'STATIC') {
    for (const host of endpointHosts(la)) if (host === '') throw new ConfigError(path, 'endpoint address is empty');
  }
}

/** A Cluster (static_resources.clusters[i] or a CDS resource). */
export function translateCluster(obj: unknown, path: string): ClusterConfig {
  const r = new Reader(obj, path);
  const name = r.requiredStr('name');
  r.reject('cluster_type', 'load_balancing_policy', 'transport_socket_matches', 'lrs_server');
  let upstreamBindAddress: string | null = null;
  const bind = r.obj('upstream_bind_config');
  if (bind) {
    const sa = bind.obj('source_address');
    if (!sa) throw new ConfigError(bind.at('source_address'), 'is required');
    upstreamBindAddress = sa.requiredStr('address');
    if (isIP(upstreamBindAddress) === 0) throw new ConfigError(sa.at('address'), `${upstreamBindAddress} is not an IP address`);
    if (sa.int('port_value', 0, 0, 65535) !== 0) throw new UnsupportedConfigError(sa.at('port_value'), 'a fixed source port is not supported');
    sa.enumOf('protocol', ['TCP'], 'TCP', 'protocol');
    sa.done();
    // freebind (binding an address not on this host) needs IP_FREEBIND, which Node cannot set.
    bind.reject('socket_options', 'additional_source_addresses', 'extra_source_addresses', 'local_address_selector', 'freebind');
    bind.done();
  }
  const type = r.enumOf('type', TYPES, 'STATIC', 'cluster type');
  const lbPolicy = r.enumOf('lb_policy', LB_POLICIES, 'ROUND_ROBIN', 'lb_policy');
  if ((type === 'ORIGINAL_DST') !== (lbPolicy === 'CLUSTER_PROVIDED')) {
    throw new ConfigError(r.at('lb_policy'), type === 'ORIGINAL_DST'
      ? `${lbPolicy} is not valid for ORIGINAL_DST clusters; only CLUSTER_PROVIDED is allowed`
      : 'CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters');
  }
  const lb = lbConfig(r, lbPolicy);
  let healthyPanicThreshold = 50;
  const c = r.obj('common_lb_config');
  if (c) {
    healthyPanicThreshold = percent(c, 'healthy_panic_threshold', 50);
    c.ignore('update_merge_window');
    c.reject(
      'zone_aware_lb_config',
      'locality_weighted_lb_config',
      'ignore_new_hosts_until_first_hc',
      'close_connections_on_host_set_change',
      'consistent_hashing_lb_config',
      'override_host_status',
    );
    c.done();
  }
  const lav = r.get('load_assignment');
  const loadAssignment = lav === undefined ? null : translateClusterLoadAssignment(lav, r.at('load_assignment'), type === 'STATIC');
  checkEndpoints(type, loadAssignment, r);
  let edsServiceName: string | null = null;
  const eds = r.obj('eds_cluster_config');
  if (eds) {
    if (type !== 'EDS') throw new ConfigError(eds.path, 'only applies to EDS clusters');
    edsServiceName = eds.str('service_name') || null;
    const cs = eds.get('eds_config');
    if (cs === undefined) throw new ConfigError(eds.at('eds_config'), 'is required');
    if (adsConfigSource(cs, eds.at('eds_config')).initialFetchTimeoutMs !== null) {
      // Ferry does not warm clusters: an EDS cluster has no hosts until its assignment comes.
      throw new UnsupportedConfigError(eds.at('eds_config.initial_fetch_timeout'), 'is not supported by Ferry (clusters do not warm)');
    }
    eds.done();
  } else if (type === 'EDS') {
    throw new ConfigError(r.at('eds_cluster_config'), 'is required for EDS clusters');
  }
  const od = r.get('outlier_detection');
  const cb = r.get('circuit_breakers');
  const circuitBreakers = cb === undefined ? DEFAULT_THRESHOLDS : translateCircuitBreakers(cb, r.at('circuit_breakers'));
  const proto: ProtocolOptions = { http2: null, idleTimeoutMs: null, maxRequestsPerConnection: null };
  const hasTyped = Object.keys(r.map('typed_extension_protocol_options')).length > 0;
  for (const k of ['http2_protocol_options', 'http_protocol_options', 'common_http_protocol_options']) {
    if (hasTyped && r.has(k)) throw new ConfigError(r.at(k), 'cannot be combined with typed_extension_protocol_options');
  }
  httpProtocolOptions(r, proto);
  const h2 = r.get('http2_protocol_options');
  if (h2 !== undefined) proto.http2 = http2Options(h2, r.at('http2_protocol_options'));
  const h1 = r.obj('http_protocol_options');
  h1?.rejectRest();
  h1?.done();
  const chpo = r.get('common_http_protocol_options');
  if (chpo !== undefined) commonHttpOptions(chpo, r.at('common_http_protocol_options'), proto);
  if (r.has('max_requests_per_connection')) {
    if (proto.maxRequestsPerConnection !== null) {
      throw new ConfigError(r.at('max_requests_per_connection'), 'is also set in common_http_protocol_options');
    }
    proto.maxRequestsPerConnection = r.int('max_requests_per_connection', 0, 0, 0xffffffff);
  }
  const ts = r.get('transport_socket');
  const tls = ts === undefined ? null : translateUpstreamTransportSocket(ts, r.at('transport_socket'));
  const out: ClusterConfig = {
    name,
    type,
    connectTimeoutMs: positiveDuration(r, 'connect_timeout', 5000),
    lbPolicy,
    ...lb,
    healthyPanicThreshold,
    loadAssignment,
    edsServiceName,
    healthChecks: translateHealthChecks(r, 'health_checks'),
    outlierDetection: od === undefined ? null : translateOutlierDetection(od, r.at('outlier_detection')),
    circuitBreakers,
    http2: proto.http2,
    tls,
    dnsRefreshRateMs: positiveDuration(r, 'dns_refresh_rate', 5000),
    dnsLookupFamily: r.enumOf('dns_lookup_family', ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'], 'AUTO', 'dns_lookup_family'),
    respectDnsTtl: r.bool('respect_dns_ttl', false),
    maxRequestsPerConnection: proto.maxRequestsPerConnection ?? 0,
    idleTimeoutMs: proto.idleTimeoutMs ?? 3_600_000,
    closeConnectionsOnHostHealthFailure: r.bool('close_connections_on_host_health_failure', false),
    ignoreHealthOnHostRemoval: r.bool('ignore_health_on_host_removal', false),
    cleanupIntervalMs: positiveDuration(r, 'cleanup_interval', 5000),
    upstreamBindAddress,
  };
  // A flow-control watermark for upstream connections in Envoy; Ferry keeps no upstream data of its
  // own (responses stream with back-pressure), so there is nothing for it to bound. Checked, not kept.
  r.int('per_connection_buffer_limit_bytes', 1_048_576, 0, 0xffffffff);
  r.enumOf('protocol_selection', ['USE_CONFIGURED_PROTOCOL'], 'USE_CONFIGURED_PROTOCOL', 'protocol_selection (only USE_CONFIGURED_PROTOCOL is supported)');
  r.ignore('alt_stat_name', 'metadata', 'track_timeout_budgets', 'track_cluster_stats', 'wait_for_warm_on_init');
  r.reject(
    'dns_resolvers',
    'dns_resolution_config',
    'typed_dns_resolver_config',
    'use_tcp_for_dns_lookups',
    'dns_failure_refresh_rate',
    'dns_jitter',
    'upstream_connection_options',
    'original_dst_lb_config',
    'lb_subset_config',
    'round_robin_lb_config',
    'filters',
    'preconnect_policy',
    'connection_pool_per_downstream_connection',
    'upstream_config',
    'load_balancing_policy',
  );
  r.done();
  return out;
}
