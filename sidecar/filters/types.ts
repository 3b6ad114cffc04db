// The HTTP filter interface: how a filter sees a request and answers it, small enough for users.
//
// A filter is created once per filter chain from its `*FilterConfig` by a factory; per-request
// state lives in the `HttpFilterContext`, never in closures. Filters run in configured order;
// the router is always last and is not an `HttpFilter` (the connection manager owns it).

import type { HttpFilterConfig, RouteConfig } from '../../src/config/types';

/** Request headers as the filter sees them: lower-case names, pseudo-headers excluded. */
export interface FilterRequest {
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  /** Path with query string, as received. */
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface FilterDownstream {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Peer SPIFFE ID when the connection is mTLS, else null. */
  readonly peerPrincipal: string | null;
}

/** A response a filter makes itself (Envoy's local reply), with the response flag for metrics. */
export interface LocalReply {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Envoy response flag, e.g. 'RL' (rate limited), 'FI' (fault injected), 'UAEX' (denied). */
  readonly flag: string;
  /** gRPC status to answer with when the request is gRPC (trailers-only response). */
  readonly grpcStatus?: number;
}

export interface HttpFilterContext {
  readonly request: FilterRequest;
  readonly downstream: FilterDownstream;
  /** The matched route (null when no route matched: the router will answer 404). */
  readonly route: RouteConfig | null;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  random(): number;
}

/**
 * What a filter decides for a request: go on (optionally after a delay, in milliseconds) or
 * answer it now. Returning a promise is allowed but costs; prefer a plain value.
 */
export type FilterDecision =
  | { readonly action: 'continue'; readonly delayMs?: number }
  | { readonly action: 'reply'; readonly reply: LocalReply };

export const CONTINUE: FilterDecision = Object.freeze({ action: 'continue' });

export interface HttpFilter {
  readonly name: string;
  /** Called once per request after route selection, before the router. */
  decodeHeaders(ctx: HttpFilterContext): FilterDecision;
  /** Called when the request has finished (any outcome), for filters that track active work. */
  onDone?(ctx: HttpFilterContext): void;
}

export interface FilterFactoryDeps {
  now(): number;
  random(): number;
}

export type HttpFilterFactory = (config: HttpFilterConfig, deps: FilterFactoryDeps) => HttpFilter;
