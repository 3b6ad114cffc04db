// A fake HttpFilterContext for filter unit tests: a settable clock and a scripted random source.

import type { HttpFilterConfig, RouteConfig } from '../../src/config/types';
import type { FilterRequest, HttpFilterContext } from './types';

export interface FakeContextOptions {
  path?: string;
  method?: string;
  headers?: FilterRequest['headers'];
  route?: RouteConfig | null;
  now?: number;
  /** Values handed out by random(), in order; running out fails the test. */
  randoms?: number[];
}

export interface FakeContext extends HttpFilterContext {
  clock: number;
  randoms: number[];
}

export function fakeContext(o: FakeContextOptions = {}): FakeContext {
  const ctx: FakeContext = {
    request: { method: o.method ?? 'GET', scheme: 'http', authority: 'svc', path: o.path ?? '/', headers: o.headers ?? {} },
    downstream: { remoteAddress: '10.0.0.1', remotePort: 40000, localAddress: '10.0.0.2', localPort: 80, peerPrincipal: null },
    route: o.route ?? null,
    clock: o.now ?? 0,
    randoms: o.randoms ? [...o.randoms] : [],
    now() {
      return ctx.clock;
    },
    random() {
      const v = ctx.randoms.shift();
      if (v === undefined) throw new Error('random() called more often than the test scripted');
      return v;
    },
  };
  return ctx;
}

/** A route carrying per-filter overrides, for tests. */
export function routeWith(perFilterConfig: Record<string, HttpFilterConfig>): RouteConfig {
  return {
    name: 'r',
    match: { path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParameters: [], grpc: false, runtimeFraction: 1 },
    action: { kind: 'direct_response', status: 200, body: null },
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    perFilterConfig,
  };
}
