// The local rate limit filter: a token bucket per filter (and per route override) answering 429s.
//
// Envoy's envoy.filters.http.local_ratelimit without timers: the bucket starts full and is refilled
// lazily, `tokens_per_fill` for every whole `fill_interval` elapsed since the last fill, when a
// request arrives. A request is checked only when `filter_enabled` samples true; when the bucket is
// empty it is answered locally only when `filter_enforced` samples true (otherwise it is just
// counted). A route's typed_per_filter_config for this filter's name replaces the whole config and
// brings its own bucket, created once per config object and shared by every filter instance.

import type { LocalRateLimitFilterConfig, TokenBucketConfig } from '../../src/config/types';
import { ConfigError } from '../../src/errors';
import {
  CONTINUE,
  type FilterDecision,
  type FilterFactoryDeps,
  type HttpFilter,
  type HttpFilterContext,
  type HttpFilterFactory,
} from './types';

export const LOCAL_RATELIMIT_FILTER_NAME = 'envoy.filters.http.local_ratelimit';
export const LOCAL_RATELIMIT_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

/** A token bucket driven by the caller's clock. */
export class TokenBucket {
  readonly config: TokenBucketConfig;
  private tokens: number;
  private lastFillMs: number;

  constructor(config: TokenBucketConfig, nowMs: number) {
    this.config = config;
    this.tokens = config.maxTokens;
    this.lastFillMs = nowMs;
  }

  /** Takes one token if there is one. */
  tryConsume(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Tokens left after refilling up to `nowMs`. */
  remaining(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  private refill(nowMs: number): void {
    const c = this.config;
    if (nowMs < this.lastFillMs) {
      // The clock went backwards: restart the interval from here rather than stall.
      this.lastFillMs = nowMs;
      return;
    }
    if (c.fillIntervalMs <= 0) return;
    const fills = Math.floor((nowMs - this.lastFillMs) / c.fillIntervalMs);
    if (fills <= 0) return;
    this.lastFillMs += fills * c.fillIntervalMs;
    this.tokens = Math.min(c.maxTokens, this.tokens + fills * c.tokensPerFill);
  }
}

/** Envoy's http_local_rate_limit counters for one filter instance. */
export interface LocalRateLimitStats {
  /** Requests for which the filter was enabled. */
  enabled: number;
  /** Requests that found a token. */
  ok: number;
  /** Requests that found none. */
  rateLimited: number;
  /** Rate-limited requests that were answered with the local reply. */
  enforced: number;
}

interface BucketState {
  bucket: TokenBucket | null;
  readonly rejection: FilterDecision;
}

/** Per-route state, keyed by the route's override config object. */
const routeStates = new WeakMap<LocalRateLimitFilterConfig, BucketState>();

function rejectionFor(config: LocalRateLimitFilterConfig): FilterDecision {
  let headers: Record<string, string> | undefined;
  if (config.responseHeadersToAdd.length > 0) {
    headers = {};
    for (const h of config.responseHeadersToAdd) {
      if (h.action === 'append' && headers[h.name] !== undefined) headers[h.name] += `,${h.value}`;
      else if (h.action !== 'add_if_absent' || headers[h.name] === undefined) headers[h.name] = h.value;
    }
    Object.freeze(headers);
  }
  return Object.freeze({
    action: 'reply',
    reply: Object.freeze({ status: config.status, body: 'local_rate_limited', flag: 'RL', headers }),
  });
}

export class LocalRateLimitFilter implements HttpFilter {
  readonly name: string;
  readonly config: LocalRateLimitFilterConfig;
  readonly stats: LocalRateLimitStats = { enabled: 0, ok: 0, rateLimited: 0, enforced: 0 };
  private readonly own: BucketState;

  constructor(config: LocalRateLimitFilterConfig) {
    this.name = config.name;
    this.config = config;
    this.own = { bucket: null, rejection: rejectionFor(config) };
  }

  decodeHeaders(ctx: HttpFilterContext): FilterDecision {
    let config = this.config;
    let state = this.own;
    const route = ctx.route;
    if (route !== null) {
      const override = route.perFilterConfig[this.name];
      if (override !== undefined && override.kind === 'local_ratelimit') {
        config = override;
        let s = routeStates.get(override);
        if (s === undefined) {
          s = { bucket: null, rejection: rejectionFor(override) };
          routeStates.set(override, s);
        }
        state = s;
      }
    }
    if (config.tokenBucket === null) return CONTINUE;
    if (!sample(config.filterEnabled, ctx)) return CONTINUE;
    this.stats.enabled++;
    const now = ctx.now();
    if (state.bucket === null) state.bucket = new TokenBucket(config.tokenBucket, now);
    if (state.bucket.tryConsume(now)) {
      this.stats.ok++;
      return CONTINUE;
    }
    this.stats.rateLimited++;
    if (!sample(config.filterEnforced, ctx)) return CONTINUE;
    this.stats.enforced++;
    return state.rejection;
  }
}

/** True with probability `fraction`; draws no random number for 0 or 1. */
function sample(fraction: number, ctx: HttpFilterContext): boolean {
  if (fraction >= 1) return true;
  if (fraction <= 0) return false;
  return ctx.random() < fraction;
}

export const createLocalRateLimitFilter: HttpFilterFactory = (config, _deps: FilterFactoryDeps) => {
  if (config.kind !== 'local_ratelimit') {
    throw new ConfigError(`http_filters.${config.name}`, `expected a local_ratelimit config, got ${config.kind}`);
  }
  return new LocalRateLimitFilter(config);
};
