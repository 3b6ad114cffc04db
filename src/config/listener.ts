// Listener → ListenerConfig: address, listener filters, filter chains and their matches.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { FilterChainConfig, FilterChainMatchConfig, ListenerConfig, NetworkRbacConfig } from './types';
import { NETWORK_RBAC_NAME, NETWORK_RBAC_TYPE, translateNetworkRbac } from './rbac';
import { cidrRange, duration, socketAddressWithCompat } from './common';
import { translateNetworkFilter } from './http-connection-manager';
import { Reader } from './reader';
import { translateDownstreamTransportSocket } from './tls';

const LISTENER_FILTERS: Record<string, 'tls' | 'http' | 'orig'> = {
  'envoy.filters.listener.tls_inspector': 'tls',
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector': 'tls',
  'envoy.filters.listener.http_inspector': 'http',
  'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector': 'http',
  'envoy.filters.listener.original_dst': 'orig',
  'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst': 'orig',
};

const EMPTY_MATCH: FilterChainMatchConfig = {
  destinationPort: null,
  prefixRanges: [],
  sourcePrefixRanges: [],
  sourcePorts: [],
  serverNames: [],
  transportProtocol: null,
  applicationProtocols: [],
};

function filterChainMatch(v: unknown, path: string): FilterChainMatchConfig {
  const r = new Reader(v, path);
  const port = r.optInt('destination_port', 1, 65535);
  const out: FilterChainMatchConfig = {
    destinationPort: port,
    prefixRanges: r.list('prefix_ranges', cidrRange),
    sourcePrefixRanges: r.list('source_prefix_ranges', cidrRange),
    sourcePorts: r.intList('source_ports', 1, 65535),
    serverNames: r.strList('server_names').map((s) => s.toLowerCase()),
    transportProtocol: r.optStr('transport_protocol') || null,
    applicationProtocols: r.strList('application_protocols'),
  };
  r.enumOf('source_type', ['ANY'], 'ANY', 'source_type (only ANY is supported)');
  r.reject('direct_source_prefix_ranges', 'address_suffix', 'suffix_len');
  r.done();
  out.serverNames.forEach((s, i) => {
    if (s.includes('*') && !(s.startsWith('*.') && !s.slice(1).includes('*'))) {
      throw new ConfigError(`${r.at('server_names')}[${i}]`, `partial wildcard ${s} is not supported`);
    }
  });
  return out;
}

function filterChain(v: unknown, path: string, name: string): FilterChainConfig {
  const r = new Reader(v, path);
  const m = r.get('filter_chain_match');
  const match = m === undefined ? EMPTY_MATCH : filterChainMatch(m, r.at('filter_chain_match'));
  const ts = r.get('transport_socket');
  const tls = ts === undefined ? null : translateDownstreamTransportSocket(ts, r.at('transport_socket'));
  // An optional network RBAC filter, then exactly one terminal filter (HCM or tcp_proxy).
  let networkRbac: NetworkRbacConfig | null = null;
  const raw = r.get('filters');
  const list = Array.isArray(raw) ? raw : [];
  const first = list[0] as { name?: unknown; typed_config?: { ['@type']?: unknown } } | undefined;
  let skip = 0;
  if (first && (first.typed_config?.['@type'] === NETWORK_RBAC_TYPE || (first.name === NETWORK_RBAC_NAME && !first.typed_config))) {
    const f = new Reader(first, `${r.at('filters')}[0]`);
    f.str('name');
    const tc = f.obj('typed_config');
    f.done();
    if (!tc) throw new ConfigError(`${r.at('filters')}[0].typed_config`, 'is required for envoy.filters.network.rbac');
    tc.ignore('@type');
    networkRbac = translateNetworkRbac(tc);
    skip = 1;
  }
  const filters = r.list('filters', (v, p, i) => (i < skip ? null : translateNetworkFilter(v, p))).filter((x) => x !== null);
  if (filters.length !== 1) {
    throw new UnsupportedConfigError(
      r.at('filters'),
      'exactly one terminal network filter (http_connection_manager or tcp_proxy), optionally after envoy.filters.network.rbac, is supported',
    );
  }
  const given = r.str('name');
  r.ignore('metadata');
  r.reject('transport_socket_connect_timeout', 'use_proxy_proto', 'on_demand_configuration', 'filter_chain_match_type');
  r.done();
  return { name: given || name, match, tls, networkRbac, network: filters[0]! };
}

/** A Listener (static_resources.listeners[i] or an LDS resource). */
export function translateListener(obj: unknown, path: string): ListenerConfig {
  const r = new Reader(obj, path);
  const addr = r.get('address');
  if (addr === undefined) throw new ConfigError(r.at('address'), 'is required');
  const { address, ipv4Compat } = socketAddressWithCompat(addr, r.at('address'), { requireIp: true });
  const name = r.str('name') || `${address.host}_${address.port}`;
  let tlsInspector = false;
  let httpInspector = false;
  let useOriginalDst = false;
  r.objList('listener_filters', (f) => {
    const fname = f.str('name');
    const tc = f.obj('typed_config');
    const type = tc ? tc.str('@type') : fname;
    tc?.done();
    f.reject('filter_disabled', 'config_discovery');
    f.done();
    const kind = LISTENER_FILTERS[type];
    if (!kind) throw new UnsupportedConfigError(f.path, `listener filter ${type || '(none)'} is not supported`);
    if (kind === 'tls') tlsInspector = true;
    else if (kind === 'http') httpInspector = true;
    else useOriginalDst = true;
  });
  if (r.bool('use_original_dst', false)) useOriginalDst = true;
  const filterChains = r.list('filter_chains', (v, p, i) => filterChain(v, p, `filter_chains[${i}]`));
  const dfc = r.get('default_filter_chain');
  const defaultFilterChain = dfc === undefined ? null : filterChain(dfc, r.at('default_filter_chain'), 'default_filter_chain');
  if (filterChains.length === 0 && !defaultFilterChain) {
    throw new ConfigError(r.at('filter_chains'), 'at least one filter chain (or default_filter_chain) is required');
  }
  const seen = new Map<string, number>();
  filterChains.forEach((fc, i) => {
    const key = JSON.stringify(fc.match);
    if (seen.has(key)) {
      throw new ConfigError(`${r.at('filter_chains')}[${i}].filter_chain_match`, `multiple filter chains with the same matching rules (also filter_chains[${seen.get(key)}])`);
    }
    seen.set(key, i);
  });
  const names = new Set<string>();
  for (const fc of filterChains) {
    if (names.has(fc.name)) throw new ConfigError(r.at('filter_chains'), `duplicate filter chain name ${fc.name}`);
    names.add(fc.name);
  }
  const out: ListenerConfig = {
    name,
    address,
    ipv4Compat,
    filterChains,
    defaultFilterChain,
    useOriginalDst,
    tlsInspector,
    httpInspector,
    listenerFiltersTimeoutMs: duration(r, 'listener_filters_timeout', 15_000),
    continueOnListenerFiltersTimeout: r.bool('continue_on_listener_filters_timeout', false),
    perConnectionBufferLimitBytes: r.int('per_connection_buffer_limit_bytes', 1_048_576, 0, 0xffffffff),
  };
  // The limit bounds the request body kept for a retry; Ferry has no unbounded buffer to offer for 0.
  if (out.perConnectionBufferLimitBytes === 0) {
    throw new UnsupportedConfigError(r.at('per_connection_buffer_limit_bytes'), '0 (no limit) is not supported');
  }
  r.ignore('stat_prefix', 'metadata', 'traffic_direction', 'enable_reuse_port', 'reuse_port', 'ignore_global_conn_limit');
  r.enumOf('drain_type', ['DEFAULT'], 'DEFAULT', 'drain_type (only DEFAULT is supported)');
  r.reject(
    // The listener's own log (connections no filter chain took): Ferry logs in the HCM and tcp_proxy only.
    'access_log',
    'additional_addresses',
    'freebind',
    'socket_options',
    'tcp_fast_open_queue_length',
    'udp_listener_config',
    'api_listener',
    'connection_balance_config',
    'enable_mptcp',
    'max_connections_to_accept_per_socket_event',
    'tcp_backlog_size',
    'listener_specifier',
    'internal_listener',
    'transparent',
    'filter_chain_matcher',
    'deprecated_v1',
    'fcds_config',
    'max_connections',
    'bypass_overload_manager',
  );
  const bind = r.bool('bind_to_port', true);
  if (!bind) throw new UnsupportedConfigError(r.at('bind_to_port'), 'false is not supported');
  r.done();
  return out;
}
