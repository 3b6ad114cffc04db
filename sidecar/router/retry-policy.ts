// The retry policy: decides after each upstream attempt whether to retry, and how long to back off first.
//
// Pure and allocation-light: a RetryPolicyConfig is compiled once (cached per config object) into a bit mask,
// and the per-attempt decision reads the outcome without allocating. Semantics are Envoy's retry_on:
//
//   5xx                 any 5xx response, or no response at all (reset, connect failure, refused stream, timeout)
//   gateway-error       502/503/504 responses, and resets/connect failures (Envoy answers those with a 503 itself)
//   reset               no response at all: any reset, connect failure, refused stream or per-try timeout
//   reset-before-request  a reset that happened before the request was sent upstream
//   connect-failure     the TCP/TLS connection could not be established (includes connect timeout)
//   refused-stream      the upstream reset the stream with REFUSED_STREAM
//   envoy-ratelimited   the response carries x-envoy-ratelimited
//   retriable-4xx       the response is 409
//   retriable-status-codes  the status is in retriable_status_codes (or x-envoy-retriable-status-codes)
//   retriable-headers   a response header matches retriable_headers (or x-envoy-retriable-header-names)
//   http3-post-connect-failure  never: Ferry does not speak HTTP/3 upstream
//   cancelled / deadline-exceeded / internal / resource-exhausted / unavailable
//                       grpc-status 1 / 4 / 13 / 8 / 14 on the response (headers, i.e. trailers-only responses)
//
// A response carrying x-envoy-overloaded is never retried. An outcome with `reset` (or `connectFailure`,
// `refusedStream`, `timeout`) is judged as "no response"; its `status` is ignored.
//
// Back-off (Envoy's fully jittered exponential back-off): before retry N (N = 1 for the first retry) wait a
// whole number of milliseconds drawn uniformly from [0, min((2^N − 1) × base, max)), i.e.
// floor(random() × min((2^N − 1) × base, max)). With the defaults (25 ms, 250 ms): 0–24, 0–74, 0–174, 0–249 ms.

import type { HeaderMatcherConfig, RetryOn, RetryPolicyConfig } from '../../src/config/types';
import { HeaderMatcher, type HeaderRecord } from '../../src/match/header-matcher';

/** What happened on one attempt, as far as retries care. */
export interface RetryOutcome {
  /** Response status, when a response (headers) arrived. */
  readonly status?: number;
  /** Response headers, lower-case names. */
  readonly headers?: HeaderRecord;
  /** grpc-status if the caller already parsed it (headers or trailers); otherwise read from `headers`. */
  readonly grpcStatus?: number | null;
  /** The stream ended without a (usable) response: disconnect, reset, per-try timeout. */
  readonly reset?: boolean;
  readonly connectFailure?: boolean;
  readonly refusedStream?: boolean;
  /** The reset happened before any of the request was sent upstream. */
  readonly beforeRequestSent?: boolean;
  /** A per-try timeout (treated as a reset after the request was sent). */
  readonly timeout?: boolean;
}

export type RetryDecision = 'retry' | 'no' | 'exhausted';

const enum Bit {
  FiveXx = 1 << 0,
  GatewayError = 1 << 1,
  Reset = 1 << 2,
  ResetBeforeRequest = 1 << 3,
  ConnectFailure = 1 << 4,
  EnvoyRateLimited = 1 << 5,
  Retriable4xx = 1 << 6,
  RefusedStream = 1 << 7,
  RetriableStatusCodes = 1 << 8,
  RetriableHeaders = 1 << 9,
  Http3PostConnectFailure = 1 << 10,
  Cancelled = 1 << 11,
  DeadlineExceeded = 1 << 12,
  Internal = 1 << 13,
  ResourceExhausted = 1 << 14,
  Unavailable = 1 << 15,
}

const HTTP_TOKENS: Readonly<Record<string, number>> = {
  '5xx': Bit.FiveXx,
  'gateway-error': Bit.GatewayError,
  reset: Bit.Reset,
  'reset-before-request': Bit.ResetBeforeRequest,
  'connect-failure': Bit.ConnectFailure,
  'envoy-ratelimited': Bit.EnvoyRateLimited,
  'retriable-4xx': Bit.Retriable4xx,
  'refused-stream': Bit.RefusedStream,
  'retriable-status-codes': Bit.RetriableStatusCodes,
  'retriable-headers': Bit.RetriableHeaders,
  'http3-post-connect-failure': Bit.Http3PostConnectFailure,
};

const GRPC_TOKENS: Readonly<Record<string, number>> = {
  cancelled: Bit.Cancelled,
  'deadline-exceeded': Bit.DeadlineExceeded,
  internal: Bit.Internal,
  'resource-exhausted': Bit.ResourceExhausted,
  unavailable: Bit.Unavailable,
};

const GRPC_BITS = Bit.Cancelled | Bit.DeadlineExceeded | Bit.Internal | Bit.ResourceExhausted | Bit.Unavailable;

/** Defaults Envoy applies when a request asks for retries by header but the route has no policy. */
export const DEFAULT_RETRY_POLICY: RetryPolicyConfig = Object.freeze({
  retryOn: new Set<RetryOn>(),
  numRetries: 1,
  perTryTimeoutMs: 0,
  perTryIdleTimeoutMs: 0,
  retriableStatusCodes: new Set<number>(),
  retriableHeaders: [],
  backOffBaseMs: 25,
  backOffMaxMs: 250,
  retryOnDifferentHost: false,
  hostSelectionRetryMaxAttempts: 1,
});

/** A compiled retry policy. Build with `RetryPolicy.of(config)` (cached) or `new RetryPolicy(config)`. */
export class RetryPolicy {
  readonly config: RetryPolicyConfig;
  private readonly bits: number;
  private readonly matchers: readonly HeaderMatcher[];

  constructor(config: RetryPolicyConfig) {
    this.config = config;
    let bits = 0;
    for (const t of config.retryOn) bits |= HTTP_TOKENS[t] ?? GRPC_TOKENS[t] ?? 0;
    this.bits = bits;
    this.matchers = config.retriableHeaders.map((m) => new HeaderMatcher(m));
  }

  private static cache = new WeakMap<RetryPolicyConfig, RetryPolicy>();

  static of(config: RetryPolicyConfig): RetryPolicy {
    let p = RetryPolicy.cache.get(config);
    if (p === undefined) {
      p = new RetryPolicy(config);
      RetryPolicy.cache.set(config, p);
    }
    return p;
  }

  /** Whether `outcome` is one this policy retries on, regardless of the number of retries left. */
  retriable(o: RetryOutcome): boolean {
    const bits = this.bits;
    if (bits === 0) return false;
    const noResponse = o.reset === true || o.connectFailure === true || o.refusedStream === true || o.timeout === true;
    if (noResponse) {
      if (o.connectFailure === true && bits & Bit.ConnectFailure) return true;
      if (o.refusedStream === true && bits & Bit.RefusedStream) return true;
      const before = o.connectFailure === true || (o.beforeRequestSent === true && o.timeout !== true);
      if (before && bits & Bit.ResetBeforeRequest) return true;
      return (bits & (Bit.FiveXx | Bit.GatewayError | Bit.Reset)) !== 0;
    }
    const status = o.status;
    if (status === undefined) return false;
    const headers = o.headers;
    if (headers !== undefined && headers['x-envoy-overloaded'] !== undefined) return false;
    if (bits & Bit.FiveXx && status >= 500 && status < 600) return true;
    if (bits & Bit.GatewayError && (status === 502 || status === 503 || status === 504)) return true;
    if (bits & Bit.Retriable4xx && status === 409) return true;
    if (bits & Bit.RetriableStatusCodes && this.config.retriableStatusCodes.has(status)) return true;
    if (headers !== undefined) {
      if (bits & Bit.EnvoyRateLimited && headers['x-envoy-ratelimited'] !== undefined) return true;
      if (bits & Bit.RetriableHeaders) {
        const ms = this.matchers;
        for (let i = 0; i < ms.length; i++) if (ms[i].matchHeaders(headers)) return true;
      }
    }
    if (bits & GRPC_BITS) {
      const g = grpcStatusOf(o);
      if (g !== null) {
        if (g === 1 && bits & Bit.Cancelled) return true;
        if (g === 4 && bits & Bit.DeadlineExceeded) return true;
        if (g === 13 && bits & Bit.Internal) return true;
        if (g === 8 && bits & Bit.ResourceExhausted) return true;
        if (g === 14 && bits & Bit.Unavailable) return true;
      }
    }
    return false;
  }

  /**
   * Decision after attempt number `attemptNumber` (1 = the original request) ended with `outcome`:
   * 'retry' when the outcome is retriable and fewer than num_retries retries were made, 'exhausted' when it is
   * retriable but the retries are used up, 'no' otherwise. The caller still asks the circuit breaker.
   */
  shouldRetry(outcome: RetryOutcome, attemptNumber: number): RetryDecision {
    if (!this.retriable(outcome)) return 'no';
    return attemptNumber <= this.config.numRetries ? 'retry' : 'exhausted';
  }

  /** Back-off before retry number `retry` (1 = first retry), in whole ms; see the file header. */
  backoffMs(retry: number, random: () => number): number {
    return backoff(this.config.backOffBaseMs, this.config.backOffMaxMs, retry, random);
  }
}

/** Envoy's fully jittered exponential back-off: floor(random × min((2^N − 1) × base, max)). */
export function backoff(baseMs: number, maxMs: number, retry: number, random: () => number): number {
  const n = Math.min(Math.max(retry, 1), 52);
  const upper = Math.min((2 ** n - 1) * baseMs, maxMs);
  if (!(upper > 0)) return 0;
  return Math.floor(random() * upper);
}

function grpcStatusOf(o: RetryOutcome): number | null {
  if (typeof o.grpcStatus === 'number') return o.grpcStatus;
  const raw = o.headers?.['grpc-status'];
  if (raw === undefined) return null;
  const s = Array.isArray(raw) ? raw[0] : raw;
  if (s === undefined || s === '') return null;
  const n = Number(s);
  return Number.isInteger(n) ? n : null;
}

function headerString(headers: HeaderRecord, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function tokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '') out.push(t);
  }
  return out;
}

/**
 * Merges the request headers x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries,
 * x-envoy-retriable-status-codes and x-envoy-retriable-header-names into the route's policy, as Envoy does:
 * retry_on conditions and retriable codes/headers are added to the route's; x-envoy-max-retries replaces
 * num_retries when any condition is set. Unknown tokens are ignored. Returns `config` itself when no such
 * header is present, and null when there is neither a policy nor a retry header. Callers must strip these
 * headers from untrusted (external) requests first, as Envoy honours them only from internal clients.
 */
export function mergeRetryHeaders(config: RetryPolicyConfig | null, headers: HeaderRecord): RetryPolicyConfig | null {
  const on = headerString(headers, 'x-envoy-retry-on');
  const grpcOn = headerString(headers, 'x-envoy-retry-grpc-on');
  const maxRetries = headerString(headers, 'x-envoy-max-retries');
  const codes = headerString(headers, 'x-envoy-retriable-status-codes');
  const names = headerString(headers, 'x-envoy-retriable-header-names');
  if (on === undefined && grpcOn === undefined && maxRetries === undefined && codes === undefined && names === undefined) {
    return config;
  }
  const base = config ?? DEFAULT_RETRY_POLICY;
  const retryOn = new Set<RetryOn>(base.retryOn);
  if (on !== undefined) for (const t of tokens(on)) if (t in HTTP_TOKENS) retryOn.add(t as RetryOn);
  if (grpcOn !== undefined) for (const t of tokens(grpcOn)) if (t in GRPC_TOKENS) retryOn.add(t as RetryOn);
  if (retryOn.size === 0) return config; // x-envoy-max-retries alone does not enable retries

  let numRetries = base.numRetries;
  if (maxRetries !== undefined && /^\s*\d+\s*$/.test(maxRetries)) numRetries = Number(maxRetries);

  let retriableStatusCodes = base.retriableStatusCodes;
  if (codes !== undefined) {
    const set = new Set(retriableStatusCodes);
    for (const t of tokens(codes)) {
      const n = Number(t);
      if (Number.isInteger(n) && n >= 100 && n <= 599) set.add(n);
    }
    retriableStatusCodes = set;
  }

  let retriableHeaders = base.retriableHeaders;
  if (names !== undefined) {
    const extra: HeaderMatcherConfig[] = tokens(names).map((name) => ({
      name,
      kind: 'present',
      value: '',
      regex: null,
      ignoreCase: false,
      presentMatch: true,
      rangeStart: 0,
      rangeEnd: 0,
      invertMatch: false,
      treatMissingAsEmpty: false,
    }));
    retriableHeaders = [...retriableHeaders, ...extra];
  }

  return Object.freeze({ ...base, retryOn, numRetries, retriableStatusCodes, retriableHeaders });
}

/**
 * One-call form for the router: merge request headers (if any), compile (cached per config) and decide.
 * When the request carries retry headers the merge allocates on every call; a caller that decides more than
 * once per request should call `mergeRetryHeaders` once and pass the result without `requestHeaders`.
 */
export function decideRetry(
  config: RetryPolicyConfig,
  outcome: RetryOutcome,
  attemptNumber: number,
  requestHeaders?: HeaderRecord,
): RetryDecision {
  const effective = requestHeaders === undefined ? config : mergeRetryHeaders(config, requestHeaders);
  if (effective === null) return 'no';
  return RetryPolicy.of(effective).shouldRetry(outcome, attemptNumber);
}

/** Back-off for retry number `retry` under `config` (see the file header). */
export function retryBackoffMs(config: RetryPolicyConfig, retry: number, random: () => number): number {
  return backoff(config.backOffBaseMs, config.backOffMaxMs, retry, random);
}
