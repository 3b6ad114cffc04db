// RouteConfiguration → Ferry's RouteConfiguration: virtual hosts, route matches and actions.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type {
  DirectResponseConfig,
  HashPolicyConfig,
  PathMatchConfig,
  QueryParameterMatcherConfig,
  RedirectConfig,
  RouteActionConfig,
  RouteConfig,
  RouteConfiguration,
  RouteMatchConfig,
  VirtualHostConfig,
  WeightedClusterConfig,
} from './types';
import {
  dataSource,
  duration,
  fractionalPercent,
  headerMatcher,
  headersToAdd,
  headersToRemove,
  regexMatcher,
  stringMatcher,
} from './common';
import { translatePerFilterConfig } from './http-filters';
import { globalRegex, re2Substitution } from './re2';
import { Reader } from './reader';
import { translateRetryPolicy } from './retry-policy';

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_DIRECT_RESPONSE_BODY = 4096;

/** Per-route upgrade_configs: the enabled types (lower-case), added to the connection manager's. */
export function upgradeTypes(r: Reader, key: string, allowDisabled: boolean): string[] {
  const out: string[] = [];
  r.objList(key, (u) => {
    const type = u.requiredStr('upgrade_type').toLowerCase();
    const enabled = u.bool('enabled', true);
    u.reject('filters', 'connect_config');
    u.done();
    if (!enabled && !allowDisabled) {
      throw new UnsupportedConfigError(u.at('enabled'), 'disabling an upgrade per route is not supported');
    }
    if (out.includes(type)) throw new ConfigError(u.at('upgrade_type'), `duplicate upgrade type ${type}`);
    if (type === 'connect' && enabled) {
      // CONNECT needs connect_matcher routes and a tunnel; Ferry answers every CONNECT 404 (NR).
      throw new UnsupportedConfigError(u.at('upgrade_type'), 'CONNECT tunnelling is not supported by Ferry');
    }
    if (type === 'h2c' && enabled) {
      // As in Envoy, an h2c upgrade is always stripped and the request served as HTTP/1.1.
      throw new UnsupportedConfigError(u.at('upgrade_type'), 'h2c is never upgraded (the request is served as HTTP/1.1)');
    }
    if (enabled) out.push(type);
  });
  return out;
}

function pathMatch(m: Reader): PathMatchConfig {
  const kinds = ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'connect_matcher', 'path_match_policy'].filter(
    (k) => m.has(k),
  );
  if (kinds.length !== 1) {
    throw new ConfigError(m.path, 'exactly one of prefix, path, safe_regex, path_separated_prefix is required');
  }
  m.reject('connect_matcher', 'path_match_policy');
  switch (kinds[0]) {
    case 'prefix':
      return { kind: 'prefix', value: m.str('prefix') };
    case 'path':
      return { kind: 'path', value: m.str('path') };
    case 'path_separated_prefix': {
      const value = m.str('path_separated_prefix');
      if (!/^[^?#]+[^?#/]$/.test(value)) {
        throw new ConfigError(m.at('path_separated_prefix'), `${JSON.stringify(value)} must not contain ? or # nor end with /`);
      }
      return { kind: 'path_separated_prefix', value };
    }
    default: {
      const re = regexMatcher(m.get('safe_regex'), m.at('safe_regex'));
      return { kind: 'safe_regex', value: re.source, regex: re.regex };
    }
  }
}

function routeMatch(v: unknown, path: string): RouteMatchConfig {
  const m = new Reader(v, path);
  const p = pathMatch(m);
  // Envoy ignores case_sensitive for safe_regex; the regex itself decides.
  const caseSensitive = m.bool('case_sensitive', true);
  const headers = m.list('headers', headerMatcher);
  const queryParameters = m.list('query_parameters', queryParameterMatcher);
  const g = m.obj('grpc');
  g?.done();
  let runtimeFraction = 1;
  const rf = m.obj('runtime_fraction');
  if (rf) {
    const dv = rf.get('default_value');
    if (dv === undefined) throw new ConfigError(rf.at('default_value'), 'is required');
    runtimeFraction = fractionalPercent(dv, rf.at('default_value'));
    rf.ignore('runtime_key');
    rf.done();
  }
  m.reject('tls_context', 'dynamic_metadata', 'filter_state', 'cookies');
  m.done();
  return { path: p, caseSensitive, headers, queryParameters, grpc: g !== null, runtimeFraction };
}

function queryParameterMatcher(v: unknown, path: string): QueryParameterMatcherConfig {
  const r = new Reader(v, path);
  const name = r.requiredStr('name');
  if (r.has('string_match') && r.has('present_match')) {
    throw new ConfigError(path, 'only one of string_match and present_match may be given');
  }
  const sm = r.get('string_match');
  const stringMatch = sm === undefined ? null : stringMatcher(sm, r.at('string_match'));
  const presentMatch = stringMatch === null ? r.bool('present_match', true) : false;
  r.done();
  return { name, stringMatch, presentMatch };
}

function hashPolicy(v: unknown, path: string): HashPolicyConfig {
  const r = new Reader(v, path);
  const terminal = r.bool('terminal', false);
  const kinds = ['header', 'cookie', 'query_parameter', 'connection_properties', 'filter_state'].filter((k) => r.has(k));
  if (kinds.length !== 1) throw new ConfigError(path, 'exactly one of header, cookie, query_parameter, connection_properties is required');
  r.reject('filter_state');
  const o = r.obj(kinds[0])!;
  let out: HashPolicyConfig;
  switch (kinds[0]) {
    case 'header':
      o.reject('regex_rewrite');
      out = { kind: 'header', name: o.requiredStr('header_name').toLowerCase(), terminal };
      break;
    case 'cookie':
      o.reject('ttl', 'attributes');
      o.ignore('path');
      out = { kind: 'cookie', name: o.requiredStr('name'), terminal };
      break;
    case 'query_parameter':
      out = { kind: 'query_parameter', name: o.requiredStr('name'), terminal };
      break;
    default:
      if (!o.bool('source_ip', false)) throw new ConfigError(o.at('source_ip'), 'must be true');
      out = { kind: 'source_ip', terminal };
  }
  o.done();
  r.done();
  return out;
}

function weightedClusters(v: unknown, path: string): { clusters: WeightedClusterConfig[]; total: number } {
  const r = new Reader(v, path);
  const clusters = r.objList('clusters', (c) => {
    const name = c.requiredStr('name');
    const weight = c.int('weight', 0, 0, 0xffffffff);
    c.reject(
      'cluster_header',
      'metadata_match',
      'request_headers_to_add',
      'request_headers_to_remove',
      'response_headers_to_add',
      'response_headers_to_remove',
      'typed_per_filter_config',
      'host_rewrite_literal',
    );
    c.done();
    return { name, weight };
  });
  if (clusters.length === 0) throw new ConfigError(r.at('clusters'), 'at least one cluster is required');
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  if (sum === 0) throw new ConfigError(r.at('clusters'), 'the sum of weights must be greater than 0');
  const total = r.int('total_weight', sum, 1, 0xffffffff);
  if (total !== sum) throw new ConfigError(r.at('total_weight'), `${total} differs from the sum of weights ${sum}`);
  r.reject('runtime_key_prefix', 'header_name', 'random_value_specifier');
  r.done();
  return { clusters, total };
}

function routeAction(v: unknown, path: string): RouteActionConfig {
  const r = new Reader(v, path);
  const specs = ['cluster', 'cluster_header', 'weighted_clusters', 'cluster_specifier_plugin', 'inline_cluster_specifier_plugin'].filter(
    (k) => r.has(k),
  );
  if (specs.length !== 1) throw new ConfigError(path, 'exactly one of cluster, cluster_header, weighted_clusters is required');
  r.reject('cluster_specifier_plugin', 'inline_cluster_specifier_plugin');
  const cluster = specs[0] === 'cluster' ? r.requiredStr('cluster') : null;
  const clusterHeader = specs[0] === 'cluster_header' ? r.requiredStr('cluster_header').toLowerCase() : null;
  let weighted: WeightedClusterConfig[] | null = null;
  let totalWeight = 0;
  if (specs[0] === 'weighted_clusters') {
    const w = weightedClusters(r.get('weighted_clusters'), r.at('weighted_clusters'));
    weighted = w.clusters;
    totalWeight = w.total;
  }
  if (r.has('prefix_rewrite') && r.has('regex_rewrite')) {
    throw new ConfigError(path, 'cannot specify both prefix_rewrite and regex_rewrite');
  }
  const prefixRewrite = r.optStr('prefix_rewrite');
  let regexRewrite: RouteActionConfig['regexRewrite'] = null;
  const rr = r.obj('regex_rewrite');
  if (rr) {
    const pat = rr.obj('pattern');
    if (!pat) throw new ConfigError(rr.at('pattern'), 'is required');
    const g = pat.obj('google_re2');
    g?.ignore('max_program_size');
    g?.done();
    const regex = globalRegex(pat.requiredStr('regex'), pat.at('regex'));
    pat.done();
    const substitution = re2Substitution(rr.str('substitution'), rr.at('substitution'));
    rr.done();
    regexRewrite = { regex, substitution };
  }
  const hostSpecs = ['host_rewrite_literal', 'auto_host_rewrite', 'host_rewrite_header', 'host_rewrite_path_regex'].filter((k) =>
    r.has(k),
  );
  if (hostSpecs.length > 1) throw new ConfigError(path, `only one of ${hostSpecs.join(', ')} may be given`);
  r.reject('host_rewrite_header', 'host_rewrite_path_regex');
  const hostRewriteLiteral = r.optStr('host_rewrite_literal');
  const autoHostRewrite = r.bool('auto_host_rewrite', false);
  const timeoutMs = duration(r, 'timeout', DEFAULT_ROUTE_TIMEOUT_MS);
  const idleTimeoutMs = r.has('idle_timeout') ? duration(r, 'idle_timeout', 0) : null;
  const rp = r.get('retry_policy');
  const retryPolicy = rp === undefined ? null : translateRetryPolicy(rp, r.at('retry_policy'));
  const hash = r.list('hash_policy', hashPolicy);
  const upgrades = r.has('upgrade_configs') ? upgradeTypes(r, 'upgrade_configs', false) : null;
  r.enumOf('priority', ['DEFAULT'], 'DEFAULT', 'priority (only DEFAULT is supported)');
  r.enumOf('cluster_not_found_response_code', ['SERVICE_UNAVAILABLE'], 'SERVICE_UNAVAILABLE', 'cluster_not_found_response_code (only SERVICE_UNAVAILABLE is supported)');
  r.reject(
    'metadata_match',
    'request_mirror_policies',
    'rate_limits',
    'include_vh_rate_limits',
    'cors',
    'max_grpc_timeout',
    'grpc_timeout_offset',
    'internal_redirect_policy',
    'internal_redirect_action',
    'max_internal_redirects',
    'hedge_policy',
    'max_stream_duration',
    'retry_policy_typed_config',
    'early_data_policy',
    'append_x_forwarded_host',
    'path_rewrite_policy',
    'host_rewrite_path_regex',
  );
  r.done();
  return {
    kind: 'route',
    cluster,
    clusterHeader,
    weightedClusters: weighted,
    totalWeight,
    prefixRewrite,
    regexRewrite,
    hostRewriteLiteral,
    autoHostRewrite,
    timeoutMs,
    idleTimeoutMs,
    retryPolicy,
    hashPolicy: hash,
    upgradeTypes: upgrades,
  };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function redirect(v: unknown, path: string): RedirectConfig {
  const r = new Reader(v, path);
  if (r.has('scheme_redirect') && r.has('https_redirect')) throw new ConfigError(path, 'only one of scheme_redirect and https_redirect may be given');
  let schemeRedirect = r.optStr('scheme_redirect');
  if (r.bool('https_redirect', false)) schemeRedirect = 'https';
  if (schemeRedirect !== null) schemeRedirect = schemeRedirect.toLowerCase();
  const hostRedirect = r.optStr('host_redirect');
  const portRedirect = r.optInt('port_redirect', 0, 65535);
  if (r.has('path_redirect') && r.has('prefix_rewrite')) throw new ConfigError(path, 'only one of path_redirect and prefix_rewrite may be given');
  r.reject('regex_rewrite');
  const pathRedirect = r.optStr('path_redirect');
  const prefixRewrite = r.optStr('prefix_rewrite');
  const code = r.enumOf('response_code', Object.keys(REDIRECT_CODES), 'MOVED_PERMANENTLY', 'redirect response_code');
  const stripQuery = r.bool('strip_query', false);
  r.done();
  return {
    kind: 'redirect',
    schemeRedirect,
    hostRedirect,
    portRedirect: portRedirect === 0 ? null : portRedirect,
    pathRedirect,
    prefixRewrite,
    responseCode: REDIRECT_CODES[code],
    stripQuery,
  };
}

function directResponse(v: unknown, path: string, maxBody: number): DirectResponseConfig {
  const r = new Reader(v, path);
  const status = r.int('status', 0, 200, 599);
  if (!r.has('status')) throw new ConfigError(r.at('status'), 'is required');
  const b = r.get('body');
  const body = b === undefined ? null : dataSource(b, r.at('body'));
  r.done();
  if (body && body.length > maxBody) {
    throw new ConfigError(r.at('body'), `response body size is ${body.length} bytes; maximum is ${maxBody}`);
  }
  return { kind: 'direct_response', status, body: body === null ? null : body.toString('utf8') };
}

/** What a virtual host hands down to each of its routes. */
interface VhostDefaults {
  readonly retryPolicy: VirtualHostConfig['retryPolicy'];
  readonly perFilterConfig: VirtualHostConfig['perFilterConfig'];
}

function route(v: unknown, path: string, maxBody: number, vhost: VhostDefaults): RouteConfig {
  const r = new Reader(v, path);
  const name = r.str('name');
  const mv = r.get('match');
  if (mv === undefined) throw new ConfigError(r.at('match'), 'is required');
  const match = routeMatch(mv, r.at('match'));
  const actions = ['route', 'redirect', 'direct_response', 'filter_action', 'non_forwarding_action'].filter((k) => r.has(k));
  if (actions.length !== 1) throw new ConfigError(path, 'exactly one of route, redirect, direct_response is required');
  r.reject('filter_action', 'non_forwarding_action');
  let action: RouteConfig['action'];
  if (actions[0] === 'route') {
    const a = routeAction(r.get('route'), r.at('route'));
    action = a.retryPolicy === null && vhost.retryPolicy !== null ? { ...a, retryPolicy: vhost.retryPolicy } : a;
  } else if (actions[0] === 'redirect') {
    action = redirect(r.get('redirect'), r.at('redirect'));
  } else {
    action = directResponse(r.get('direct_response'), r.at('direct_response'), maxBody);
  }
  const out: RouteConfig = {
    name,
    match,
    action,
    requestHeadersToAdd: headersToAdd(r, 'request_headers_to_add'),
    responseHeadersToAdd: headersToAdd(r, 'response_headers_to_add'),
    requestHeadersToRemove: headersToRemove(r, 'request_headers_to_remove'),
    responseHeadersToRemove: headersToRemove(r, 'response_headers_to_remove'),
    // A filter looks up its per-route config on the route; the virtual host's applies where the
    // route has none for that filter (Envoy's most specific wins).
    perFilterConfig: { ...vhost.perFilterConfig, ...translatePerFilterConfig(r, 'typed_per_filter_config') },
  };
  r.ignore('metadata', 'decorator', 'tracing', 'stat_prefix');
  r.reject('per_request_buffer_limit_bytes', 'request_body_buffer_limit');
  r.done();
  return out;
}

function virtualHost(v: unknown, path: string, maxBody: number): VirtualHostConfig {
  const r = new Reader(v, path);
  const name = r.requiredStr('name');
  const domains = r.strList('domains').map((d, i) => {
    if (d === '') throw new ConfigError(`${r.at('domains')}[${i}]`, 'must not be empty');
    return d.toLowerCase();
  });
  if (domains.length === 0) throw new ConfigError(r.at('domains'), 'at least one domain is required');
  const rp = r.get('retry_policy');
  const retryPolicy = rp === undefined ? null : translateRetryPolicy(rp, r.at('retry_policy'));
  const perFilterConfig = translatePerFilterConfig(r, 'typed_per_filter_config');
  const routes = r.list('routes', (item, p) => route(item, p, maxBody, { retryPolicy, perFilterConfig }));
  const tls = r.enumOf('require_tls', ['NONE', 'EXTERNAL_ONLY', 'ALL'], 'NONE', 'require_tls');
  // EXTERNAL_ONLY needs Envoy's internal/external request classification, which Ferry does not make.
  if (tls === 'EXTERNAL_ONLY') throw new UnsupportedConfigError(r.at('require_tls'), 'EXTERNAL_ONLY is not supported (only NONE and ALL)');
  const out: VirtualHostConfig = {
    name,
    domains,
    routes,
    retryPolicy,
    requireTls: tls === 'ALL' ? 'all' : 'none',
    requestHeadersToAdd: headersToAdd(r, 'request_headers_to_add'),
    responseHeadersToAdd: headersToAdd(r, 'response_headers_to_add'),
    requestHeadersToRemove: headersToRemove(r, 'request_headers_to_remove'),
    responseHeadersToRemove: headersToRemove(r, 'response_headers_to_remove'),
    perFilterConfig,
  };
  r.ignore('metadata');
  r.reject(
    'virtual_clusters',
    'rate_limits',
    'cors',
    'include_request_attempt_count',
    'include_attempt_count_in_response',
    'hedge_policy',
    'per_request_buffer_limit_bytes',
    'request_body_buffer_limit',
    'retry_policy_typed_config',
    'matcher',
    'request_mirror_policies',
  );
  r.done();
  return out;
}

/** A RouteConfiguration (inline route_config or an RDS resource). */
export function translateRouteConfiguration(obj: unknown, path: string): RouteConfiguration {
  const r = new Reader(obj, path);
  const name = r.str('name');
  const maxBody = r.int('max_direct_response_body_size_bytes', DEFAULT_MAX_DIRECT_RESPONSE_BODY, 0, 0xffffffff);
  const virtualHosts = r.list('virtual_hosts', (v, p) => virtualHost(v, p, maxBody));
  const seenDomains = new Map<string, string>();
  const seenNames = new Set<string>();
  virtualHosts.forEach((vh, i) => {
    if (seenNames.has(vh.name)) throw new ConfigError(`${r.at('virtual_hosts')}[${i}].name`, `duplicate virtual host name ${vh.name}`);
    seenNames.add(vh.name);
    vh.domains.forEach((d, j) => {
      if (seenDomains.has(d)) {
        const what = d === '*' ? 'only a single wildcard domain is permitted' : `duplicate domain ${d}`;
        throw new ConfigError(`${r.at('virtual_hosts')}[${i}].domains[${j}]`, `${what} (also in virtual host ${seenDomains.get(d)})`);
      }
      seenDomains.set(d, vh.name);
    });
  });
  const out: RouteConfiguration = {
    name,
    virtualHosts,
    requestHeadersToAdd: headersToAdd(r, 'request_headers_to_add'),
    responseHeadersToAdd: headersToAdd(r, 'response_headers_to_add'),
    requestHeadersToRemove: headersToRemove(r, 'request_headers_to_remove'),
    responseHeadersToRemove: headersToRemove(r, 'response_headers_to_remove'),
  };
  const validate = r.has('validate_clusters') ? r.bool('validate_clusters', true) : null;
  if (validate === false) unvalidated.add(out);
  if (validate === true) validatedExplicitly.add(out);
  r.reject(
    'internal_only_headers',
    'most_specific_header_mutations_wins',
    'cluster_specifier_plugins',
    'request_mirror_policies',
    'ignore_port_in_host_matching',
    'ignore_path_parameters_in_path_matching',
    'vhds',
    'typed_per_filter_config',
    'metadata',
  );
  r.done();
  return out;
}

const unvalidated = new WeakSet<RouteConfiguration>();
const validatedExplicitly = new WeakSet<RouteConfiguration>();

/** False when the route configuration set validate_clusters: false (no cluster cross-check). */
export function validatesClusters(rc: RouteConfiguration): boolean {
  return !unvalidated.has(rc);
}

/**
 * True when the route configuration itself set validate_clusters: true — what an RDS resource needs
 * for its clusters to be checked on arrival (Envoy's default is true inline, false over RDS).
 */
export function validatesClustersExplicitly(rc: RouteConfiguration): boolean {
  return validatedExplicitly.has(rc);
}

/** Clusters a route configuration names (for the bootstrap cross-check). */
export function referencedClusters(rc: RouteConfiguration): { cluster: string; path: string }[] {
  const out: { cluster: string; path: string }[] = [];
  rc.virtualHosts.forEach((vh, i) =>
    vh.routes.forEach((rt, j) => {
      if (rt.action.kind !== 'route') return;
      const p = `virtual_hosts[${i}].routes[${j}].route`;
      if (rt.action.cluster) out.push({ cluster: rt.action.cluster, path: `${p}.cluster` });
      rt.action.weightedClusters?.forEach((w, k) => out.push({ cluster: w.name, path: `${p}.weighted_clusters.clusters[${k}].name` }));
    }),
  );
  return out;
}
