// The fault injection filter: delays or aborts a sampled share of requests (Envoy's HTTPFault).
//
// Only requests matching every configured header matcher are considered. The delay is sampled
// first, then the abort, each with its own random draw. An abort answers with `http_status`, or,
// when `grpc_status` is set and the request is gRPC, with HTTP 200 and that grpc-status. When both
// fire, the abort is answered at once: a FilterDecision cannot carry "delay, then reply", so the
// delay is dropped (counted in `stats.delaysSkipped`). `max_active_faults` caps faulted requests in
// flight; a faulted request stops counting when `onDone` sees it. A route's typed_per_filter_config
// for this filter's name replaces the whole config.

import type { FaultFilterConfig } from '../../src/config/types';
import { ConfigError } from '../../src/errors';
import { HeaderMatcher, matchAllHeaders } from '../../src/match/header-matcher';
import {
  CONTINUE,
  type FilterDecision,
  type FilterFactoryDeps,
  type HttpFilter,
  type HttpFilterContext,
  type HttpFilterFactory,
} from './types';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export interface FaultStats {
  delaysInjected: number;
  abortsInjected: number;
  /** Both faults were sampled; the abort was answered without the delay. */
  delaysSkipped: number;
  /** Faults not injected because max_active_faults was reached. */
  faultsOverflow: number;
}

/** Everything derived from one FaultFilterConfig, built once. */
interface Compiled {
  readonly headers: readonly HeaderMatcher[];
  readonly delay: FilterDecision | null;
  readonly abortHttp: FilterDecision | null;
  readonly abortGrpc: FilterDecision | null;
}

const compiledConfigs = new WeakMap<FaultFilterConfig, Compiled>();

function compile(config: FaultFilterConfig): Compiled {
  let c = compiledConfigs.get(config);
  if (c !== undefined) return c;
  const abort = config.abort;
  c = {
    headers: config.headers.map((h) => new HeaderMatcher(h)),
    delay: config.delay ? Object.freeze({ action: 'continue', delayMs: config.delay.fixedDelayMs }) : null,
    abortHttp: abort
      ? Object.freeze({
          action: 'reply',
          reply: Object.freeze({ status: abort.httpStatus, body: 'fault filter abort', flag: 'FI' }),
        })
      : null,
    abortGrpc:
      abort && abort.grpcStatus !== null
        ? Object.freeze({
            action: 'reply',
            reply: Object.freeze({
              status: 200,
              body: '',
              flag: 'FI',
              grpcStatus: abort.grpcStatus,
              headers: Object.freeze({ 'grpc-status': String(abort.grpcStatus), 'grpc-message': 'fault filter abort' }),
            }),
          })
        : null,
  };
  compiledConfigs.set(config, c);
  return c;
}

export class FaultFilter implements HttpFilter {
  readonly name: string;
  readonly config: FaultFilterConfig;
  readonly stats: FaultStats = { delaysInjected: 0, abortsInjected: 0, delaysSkipped: 0, faultsOverflow: 0 };
  private activeFaults = 0;
  private readonly faulted = new WeakSet<HttpFilterContext>();

  constructor(config: FaultFilterConfig) {
    this.name = config.name;
    this.config = config;
    compile(config);
  }

  /** Faulted requests still in flight. */
  get active(): number {
    return this.activeFaults;
  }

  decodeHeaders(ctx: HttpFilterContext): FilterDecision {
    let config = this.config;
    const route = ctx.route;
    if (route !== null) {
      const override = route.perFilterConfig[this.name];
      if (override !== undefined && override.kind === 'fault') config = override;
    }
    if (config.delay === null && config.abort === null) return CONTINUE;
    const compiled = compile(config);
    if (compiled.headers.length > 0 && !matchAllHeaders(compiled.headers, ctx.request)) return CONTINUE;
    if (config.maxActiveFaults !== null && this.activeFaults >= config.maxActiveFaults) {
      this.stats.faultsOverflow++;
      return CONTINUE;
    }
    const delay = config.delay !== null && sample(config.delay.percentage, ctx);
    const abort = config.abort !== null && sample(config.abort.percentage, ctx);
    if (!delay && !abort) return CONTINUE;

    this.activeFaults++;
    this.faulted.add(ctx);
    if (abort) {
      if (delay) this.stats.delaysSkipped++;
      this.stats.abortsInjected++;
      return compiled.abortGrpc !== null && isGrpc(ctx) ? compiled.abortGrpc : compiled.abortHttp!;
    }
    this.stats.delaysInjected++;
    return compiled.delay!;
  }

  onDone(ctx: HttpFilterContext): void {
    if (this.faulted.delete(ctx)) this.activeFaults--;
  }
}

function sample(fraction: number, ctx: HttpFilterContext): boolean {
  if (fraction >= 1) return true;
  if (fraction <= 0) return false;
  return ctx.random() < fraction;
}

function isGrpc(ctx: HttpFilterContext): boolean {
  let ct = ctx.request.headers['content-type'];
  if (Array.isArray(ct)) ct = ct[0];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

export const createFaultFilter: HttpFilterFactory = (config, _deps: FilterFactoryDeps) => {
  if (config.kind !== 'fault') {
    throw new ConfigError(`http_filters.${config.name}`, `expected a fault config, got ${config.kind}`);
  }
  return new FaultFilter(config);
};
