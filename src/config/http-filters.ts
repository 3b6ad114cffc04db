// HTTP filters (router, local_ratelimit, fault, registered custom filters) and their per-route configs.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type {
  CustomFilterConfig,
  FaultFilterConfig,
  HttpFilterConfig,
  LocalRateLimitFilterConfig,
  RouterFilterConfig,
  TokenBucketConfig,
} from './types';
import { fractionalPercent, headerMatcher, headersToAdd, positiveDuration, runtimeFractionalPercent } from './common';
import { isPlainObject, Reader } from './reader';
import { RBAC_PER_ROUTE_TYPE, RBAC_TYPE, translateRbac } from './rbac';

export const ROUTER_NAME = 'envoy.filters.http.router';
export const LOCAL_RATELIMIT_NAME = 'envoy.filters.http.local_ratelimit';
export const FAULT_NAME = 'envoy.filters.http.fault';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const LOCAL_RATELIMIT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const TYPED_STRUCT_TYPES = new Set([
  'type.googleapis.com/udpa.type.v1.TypedStruct',
  'type.googleapis.com/xds.type.v3.TypedStruct',
]);
const FILTER_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const customTypes = new Set<string>();

/**
 * Lets a user's TypeScript HTTP filter through translation: a filter whose typed_config '@type'
 * (or TypedStruct type_url), or whose name when it has no typed_config, equals `typeUrlOrName`
 * becomes a CustomFilterConfig instead of an error.
 */
export function registerHttpFilterType(typeUrlOrName: string): void {
  if (typeUrlOrName === '') throw new ConfigError('', 'registerHttpFilterType: empty type');
  customTypes.add(typeUrlOrName);
}

/** For tests: forget a registration. */
export function unregisterHttpFilterType(typeUrlOrName: string): void {
  customTypes.delete(typeUrlOrName);
}

/** Envoy's envoy.type.v3.StatusCode enum names. */
const STATUS_NAMES: Record<string, number> = {
  Continue: 100, OK: 200, Created: 201, Accepted: 202, NonAuthoritativeInformation: 203, NoContent: 204,
  ResetContent: 205, PartialContent: 206, MultiStatus: 207, AlreadyReported: 208, IMUsed: 226,
  MultipleChoices: 300, MovedPermanently: 301, Found: 302, SeeOther: 303, NotModified: 304, UseProxy: 305,
  TemporaryRedirect: 307, PermanentRedirect: 308, BadRequest: 400, Unauthorized: 401, PaymentRequired: 402,
  Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, NotAcceptable: 406, ProxyAuthenticationRequired: 407,
  RequestTimeout: 408, Conflict: 409, Gone: 410, LengthRequired: 411, PreconditionFailed: 412,
  PayloadTooLarge: 413, URITooLong: 414, UnsupportedMediaType: 415, RangeNotSatisfiable: 416,
  ExpectationFailed: 417, MisdirectedRequest: 421, UnprocessableEntity: 422, Locked: 423, FailedDependency: 424,
  UpgradeRequired: 426, PreconditionRequired: 428, TooManyRequests: 429, RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
  HTTPVersionNotSupported: 505, VariantAlsoNegotiates: 506, InsufficientStorage: 507, LoopDetected: 508,
  NotExtended: 510, NetworkAuthenticationRequired: 511,
};

function httpStatus(r: Reader, key: string): number | null {
  const s = r.obj(key);
  if (!s) return null;
  const code = s.get('code');
  s.done();
  if (typeof code === 'string' && code in STATUS_NAMES) return STATUS_NAMES[code];
  if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) return code;
  throw new ConfigError(s.at('code'), `${String(code)} is not a valid HTTP status`);
}

function tokenBucket(r: Reader, key: string): TokenBucketConfig | null {
  const b = r.obj(key);
  if (!b) return null;
  const maxTokens = b.int('max_tokens', 0, 1, 0xffffffff);
  if (!b.has('max_tokens')) throw new ConfigError(b.at('max_tokens'), 'is required');
  const tokensPerFill = b.int('tokens_per_fill', 1, 1, 0xffffffff);
  const fillIntervalMs = positiveDuration(b, 'fill_interval');
  if (fillIntervalMs < 50) throw new ConfigError(b.at('fill_interval'), 'the fill timer must be >= 50ms');
  b.done();
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

function localRateLimit(r: Reader, name: string): LocalRateLimitFilterConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const tokenBucketCfg = tokenBucket(r, 'token_bucket');
  const filterEnabled = runtimeFractionalPercent(r, 'filter_enabled', 0);
  const filterEnforced = runtimeFractionalPercent(r, 'filter_enforced', 0);
  const status = httpStatus(r, 'status');
  const responseHeadersToAdd = headersToAdd(r, 'response_headers_to_add');
  r.reject(
    'request_headers_to_add_when_not_enforced',
    'descriptors',
    'stage',
    'local_rate_limit_per_downstream_connection',
    'local_cluster_rate_limit',
    'rate_limited_as_resource_exhausted',
    'vh_rate_limits',
    'always_consume_default_token_bucket',
    'rate_limits',
    'max_dynamic_descriptors',
  );
  r.enumOf('enable_x_ratelimit_headers', ['OFF'], 'OFF', 'enable_x_ratelimit_headers (only OFF is supported)');
  r.done();
  return {
    kind: 'local_ratelimit',
    name,
    statPrefix,
    tokenBucket: tokenBucketCfg,
    filterEnabled,
    filterEnforced,
    // Envoy answers 429 when the configured status is below 400.
    status: status === null || status < 400 ? 429 : status,
    responseHeadersToAdd,
  };
}

function fault(r: Reader, name: string): FaultFilterConfig {
  let delay: FaultFilterConfig['delay'] = null;
  const d = r.obj('delay');
  if (d) {
    d.reject('header_delay');
    const fixed = d.get('fixed_delay');
    if (fixed === undefined) throw new ConfigError(d.at('fixed_delay'), 'is required (header_delay is not supported)');
    const fixedDelayMs = positiveDuration(d, 'fixed_delay');
    const p = d.get('percentage');
    delay = { fixedDelayMs, percentage: p === undefined ? 0 : fractionalPercent(p, d.at('percentage')) };
    d.done();
  }
  let abort: FaultFilterConfig['abort'] = null;
  const a = r.obj('abort');
  if (a) {
    a.reject('header_abort');
    if (a.has('http_status') && a.has('grpc_status')) throw new ConfigError(a.path, 'only one of http_status and grpc_status may be given');
    const p = a.get('percentage');
    const percentage = p === undefined ? 0 : fractionalPercent(p, a.at('percentage'));
    if (a.has('http_status')) {
      abort = { httpStatus: a.int('http_status', 0, 200, 599), grpcStatus: null, percentage };
    } else if (a.has('grpc_status')) {
      // A gRPC abort is a trailers-only response with HTTP status 200.
      abort = { httpStatus: 200, grpcStatus: a.int('grpc_status', 0, 0, 16), percentage };
    } else {
      throw new ConfigError(a.path, 'one of http_status and grpc_status is required (header_abort is not supported)');
    }
    a.done();
  }
  const maxActiveFaults = r.optInt('max_active_faults', 0, 0xffffffff);
  const headers = r.list('headers', headerMatcher);
  r.reject('upstream_cluster', 'downstream_nodes', 'response_rate_limit', 'filter_metadata');
  r.ignore(
    'delay_percent_runtime',
    'abort_percent_runtime',
    'delay_duration_runtime',
    'abort_http_status_runtime',
    'max_active_faults_runtime',
    'response_rate_limit_percent_runtime',
    'abort_grpc_status_runtime',
    'disable_downstream_cluster_stats',
  );
  r.done();
  return { kind: 'fault', name, delay, abort, maxActiveFaults, headers };
}

function router(r: Reader, name: string): RouterFilterConfig {
  const suppressEnvoyHeaders = r.bool('suppress_envoy_headers', false);
  r.ignore('dynamic_stats', 'start_child_span', 'upstream_log', 'upstream_log_options', 'suppress_grpc_request_failure_code_stats');
  r.reject('strict_check_headers', 'respect_expected_rq_timeout', 'upstream_http_filters');
  r.done();
  return { kind: 'router', name, suppressEnvoyHeaders };
}

function custom(name: string, typeUrl: string, config: Record<string, unknown>): CustomFilterConfig {
  return { kind: 'custom', name, typeUrl, config: structuredClone(config) };
}

/**
 * One filter configuration message (a typed_config Any, or absent) → HttpFilterConfig.
 * `where` is 'filter' for http_filters entries and 'route' for typed_per_filter_config.
 */
export function translateFilterTypedConfig(name: string, any: unknown, path: string): HttpFilterConfig {
  if (any === undefined) {
    // The older form: a well-known name and no typed_config (Envoy ≥ 1.3x no longer accepts it).
    if (customTypes.has(name)) return custom(name, name, {});
    if (name === ROUTER_NAME) return router(new Reader({}, path), name);
    if (name === FAULT_NAME) return fault(new Reader({}, path), name);
    if (name === LOCAL_RATELIMIT_NAME) throw new ConfigError(`${path}.stat_prefix`, 'is required');
    throw new UnsupportedConfigError(path, `HTTP filter ${name || '(no name)'} is not supported (no typed_config)`);
  }
  if (!isPlainObject(any)) throw new ConfigError(path, 'expected an object with "@type"');
  const type = any['@type'];
  if (typeof type !== 'string' || type === '') throw new ConfigError(`${path}.@type`, 'is required');
  if (TYPED_STRUCT_TYPES.has(type)) {
    const ts = new Reader(any, path);
    ts.ignore('@type');
    const typeUrl = ts.requiredStr('type_url');
    const value = ts.map('value');
    ts.done();
    if (customTypes.has(typeUrl) || customTypes.has(name)) return custom(name, typeUrl, value);
    throw new UnsupportedConfigError(`${path}.type_url`, `HTTP filter type ${typeUrl} is not supported`);
  }
  if (customTypes.has(type) || customTypes.has(name)) {
    const { ['@type']: _t, ...rest } = any;
    return custom(name, type, rest);
  }
  const r = new Reader(any, path);
  r.ignore('@type');
  switch (type) {
    case RBAC_TYPE:
      return translateRbac(r, name);
    case RBAC_PER_ROUTE_TYPE:
      return translateRbac(r, name, true);
    case ROUTER_TYPE:
      return router(r, name);
    case LOCAL_RATELIMIT_TYPE:
      return localRateLimit(r, name);
    case FAULT_TYPE:
      return fault(r, name);
    default:
      throw new UnsupportedConfigError(`${path}.@type`, `HTTP filter type ${type} is not supported`);
  }
}

/** One entry of http_filters. */
export function translateHttpFilter(v: unknown, path: string): HttpFilterConfig {
  const r = new Reader(v, path);
  const name = r.requiredStr('name');
  const tc = r.get('typed_config');
  r.reject('config_discovery', 'disabled');
  r.ignore('is_optional');
  r.done();
  return translateFilterTypedConfig(name, tc, `${path}.typed_config`);
}

/** The http_filters list: at least the router, which must come last (empty means router only). */
export function translateHttpFilters(r: Reader, key: string): HttpFilterConfig[] {
  const filters = r.list(key, translateHttpFilter);
  if (filters.length === 0) return [{ kind: 'router', name: ROUTER_NAME, suppressEnvoyHeaders: false }];
  filters.forEach((f, i) => {
    if (f.kind === 'router' && i !== filters.length - 1) {
      throw new ConfigError(`${r.at(key)}[${i}]`, `terminal filter ${f.name} (router) must be the last filter in the http filter chain`);
    }
  });
  const last = filters[filters.length - 1];
  if (last.kind !== 'router') {
    throw new ConfigError(`${r.at(key)}[${filters.length - 1}]`, `${last.name} is not a terminal filter; the router must be last`);
  }
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    if (seen.has(f.name)) throw new ConfigError(`${r.at(key)}[${i}].name`, `duplicate HTTP filter name ${f.name}`);
    seen.add(f.name);
  });
  return filters;
}

/** typed_per_filter_config: filter name → Any (or envoy.config.route.v3.FilterConfig wrapping one). */
export function translatePerFilterConfig(r: Reader, key: string): Record<string, HttpFilterConfig> {
  const out: Record<string, HttpFilterConfig> = {};
  const m = r.map(key);
  for (const [name, any] of Object.entries(m)) {
    const path = `${r.at(key)}.${name}`;
    let inner: unknown = any;
    if (isPlainObject(any) && any['@type'] === FILTER_CONFIG_TYPE) {
      const fc = new Reader(any, path);
      fc.ignore('@type', 'is_optional');
      fc.reject('disabled');
      inner = fc.get('config');
      fc.done();
      if (inner === undefined) throw new ConfigError(`${path}.config`, 'is required');
    }
    const f = translateFilterTypedConfig(name, inner, path);
    if (f.kind === 'router') throw new UnsupportedConfigError(path, 'the router has no per-route config');
    out[name] = f;
  }
  return out;
}
