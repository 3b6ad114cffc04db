// The route table: picks the virtual host for an authority and the first route that matches a request.
//
// Built once per RouteConfiguration; every matcher is compiled up front so a request costs string
// compares, not allocations. Virtual host selection follows Envoy's domain order: exact, then the
// longest suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest prefix wildcard
// (`foo.*`), then `*`. Domains are matched case-insensitively, first against the authority as sent
// (with its port) and then, if nothing but `*` would match, against the host without its port.

import type {
  QueryParameterMatcherConfig,
  RouteConfig,
  RouteConfiguration,
  VirtualHostConfig,
} from '../../src/config/types';
import { HeaderMatcher, StringMatcher, anchorRegex, type HeaderRecord } from '../../src/match/header-matcher';

/** What route matching reads from a request. */
export interface RouteMatchRequest {
  /** Path with query, as received. */
  readonly path: string;
  readonly method: string;
  readonly headers: HeaderRecord;
  readonly isGrpc: boolean;
  /** `:authority`, for header matchers on it; the `host` header otherwise. */
  readonly authority?: string;
  readonly scheme?: string;
}

const AUTHORITY_CACHE_MAX = 1024;

const enum PathKind {
  Prefix,
  Exact,
  SeparatedPrefix,
  Regex,
}

interface CompiledQueryMatcher {
  readonly name: string;
  readonly matcher: StringMatcher | null;
}

interface CompiledRoute {
  readonly route: RouteConfig;
  readonly pathKind: PathKind;
  /** Lower-cased when the match is case-insensitive. */
  readonly value: string;
  readonly caseSensitive: boolean;
  readonly regex: RegExp | null;
  readonly headers: readonly HeaderMatcher[];
  readonly query: readonly CompiledQueryMatcher[];
  readonly grpc: boolean;
  readonly fraction: number;
}

interface WildcardDomain {
  /** The domain without its '*'. */
  readonly part: string;
  readonly vh: VirtualHostConfig;
}

export class RouteTable {
  readonly config: RouteConfiguration;
  private readonly exact = new Map<string, VirtualHostConfig>();
  private readonly suffixes: WildcardDomain[] = [];
  private readonly prefixes: WildcardDomain[] = [];
  private star: VirtualHostConfig | null = null;
  private readonly cache = new Map<string, VirtualHostConfig | null>();
  private readonly compiled = new Map<VirtualHostConfig, readonly CompiledRoute[]>();

  constructor(config: RouteConfiguration) {
    this.config = config;
    for (const vh of config.virtualHosts) {
      this.compiled.set(vh, vh.routes.map(compileRoute));
      for (const raw of vh.domains) {
        const d = raw.toLowerCase();
        if (d === '*') {
          if (this.star === null) this.star = vh;
        } else if (d.startsWith('*')) {
          this.suffixes.push({ part: d.slice(1), vh });
        } else if (d.endsWith('*')) {
          this.prefixes.push({ part: d.slice(0, -1), vh });
        } else if (!this.exact.has(d)) {
          this.exact.set(d, vh);
        }
      }
    }
    // Longest wildcard first; Array.prototype.sort is stable, so config order breaks ties.
    this.suffixes.sort((a, b) => b.part.length - a.part.length);
    this.prefixes.sort((a, b) => b.part.length - a.part.length);
  }

  /** The virtual host for an authority (`Host` / `:authority`), or null when none matches. */
  selectVirtualHost(authority: string): VirtualHostConfig | null {
    const cached = this.cache.get(authority);
    if (cached !== undefined) return cached;
    const host = authority.toLowerCase();
    let vh = this.findNonStar(host);
    if (vh === null) {
      const bare = stripPort(host);
      if (bare !== host) vh = this.findNonStar(bare);
    }
    if (vh === null) vh = this.star;
    if (this.cache.size >= AUTHORITY_CACHE_MAX) {
      // Drop the oldest entry; authorities are client-controlled, so the cache must stay bounded.
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(authority, vh);
    return vh;
  }

  /**
   * The first route of `vh` whose match accepts the request, or null. `random` is drawn at most
   * once per call (Envoy uses one random value per request for every runtime_fraction).
   */
  matchRoute(vh: VirtualHostConfig, req: RouteMatchRequest, random: () => number): RouteConfig | null {
    let routes = this.compiled.get(vh);
    if (routes === undefined) {
      routes = vh.routes.map(compileRoute);
      this.compiled.set(vh, routes);
    }
    const path = req.path;
    const pathEnd = pathLength(path);
    let lowerPath: string | null = null;
    let barePath: string | null = null;
    let query: Map<string, string> | null = null;
    let draw = -1;

    for (let i = 0; i < routes.length; i++) {
      const r = routes[i];
      let p = path;
      if (!r.caseSensitive && r.pathKind !== PathKind.Regex) {
        if (lowerPath === null) lowerPath = path.toLowerCase();
        p = lowerPath;
      }
      switch (r.pathKind) {
        case PathKind.Prefix:
          if (!p.startsWith(r.value)) continue;
          break;
        case PathKind.Exact:
          if (pathEnd !== r.value.length || !p.startsWith(r.value)) continue;
          break;
        case PathKind.SeparatedPrefix:
          if (!p.startsWith(r.value)) continue;
          if (pathEnd !== r.value.length && p.charCodeAt(r.value.length) !== 0x2f) continue;
          break;
        case PathKind.Regex:
          if (barePath === null) barePath = pathEnd === path.length ? path : path.slice(0, pathEnd);
          if (!r.regex!.test(barePath)) continue;
          break;
      }
      if (r.grpc && !req.isGrpc) continue;
      if (r.fraction < 1) {
        if (draw < 0) draw = random();
        if (!(draw < r.fraction)) continue;
      }
      if (r.headers.length > 0 && !headersMatch(r.headers, req)) continue;
      if (r.query.length > 0) {
        if (query === null) query = parseQuery(path, pathEnd);
        if (!queryMatches(r.query, query)) continue;
      }
      return r.route;
    }
    return null;
  }

  /** Virtual host then route, in one call; null when either is missing. */
  route(authority: string, req: RouteMatchRequest, random: () => number): RouteConfig | null {
    const vh = this.selectVirtualHost(authority);
    return vh === null ? null : this.matchRoute(vh, req, random);
  }

  private findNonStar(host: string): VirtualHostConfig | null {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (let i = 0; i < this.suffixes.length; i++) {
      const s = this.suffixes[i];
      if (host.length > s.part.length && host.endsWith(s.part)) return s.vh;
    }
    for (let i = 0; i < this.prefixes.length; i++) {
      const s = this.prefixes[i];
      if (host.length > s.part.length && host.startsWith(s.part)) return s.vh;
    }
    return null;
  }
}

/** `host:port` → `host`; `[::1]:80` → `[::1]`; leaves bare IPv6 literals and port-less hosts alone. */
export function stripPort(host: string): string {
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    return close > 0 && close < host.length - 1 && host.charCodeAt(close + 1) === 0x3a ? host.slice(0, close + 1) : host;
  }
  const colon = host.lastIndexOf(':');
  if (colon < 0 || host.indexOf(':') !== colon) return host;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return host;
  }
  return host.slice(0, colon);
}

/** Length of the path without its query string or fragment. */
export function pathLength(path: string): number {
  const q = path.indexOf('?');
  const h = path.indexOf('#');
  if (q < 0) return h < 0 ? path.length : h;
  return h < 0 || q < h ? q : h;
}

function headersMatch(matchers: readonly HeaderMatcher[], req: RouteMatchRequest): boolean {
  for (let i = 0; i < matchers.length; i++) if (!matchers[i].match(req)) return false;
  return true;
}

/** First value of each query parameter, percent-decoded (Envoy keeps '+' as is). */
export function parseQuery(path: string, pathEnd: number): Map<string, string> {
  const out = new Map<string, string>();
  if (pathEnd >= path.length || path.charCodeAt(pathEnd) !== 0x3f /* ? */) return out;
  let end = path.indexOf('#', pathEnd);
  if (end < 0) end = path.length;
  let start = pathEnd + 1;
  while (start <= end) {
    let amp = path.indexOf('&', start);
    if (amp < 0 || amp > end) amp = end;
    if (amp > start) {
      const eq = path.indexOf('=', start);
      const hasValue = eq >= 0 && eq < amp;
      const name = decode(path.slice(start, hasValue ? eq : amp));
      if (!out.has(name)) out.set(name, hasValue ? decode(path.slice(eq + 1, amp)) : '');
    }
    start = amp + 1;
  }
  return out;
}

function decode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function queryMatches(matchers: readonly CompiledQueryMatcher[], query: Map<string, string>): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i];
    const v = query.get(m.name);
    if (v === undefined) return false;
    if (m.matcher !== null && !m.matcher.match(v)) return false;
  }
  return true;
}

function compileQuery(q: QueryParameterMatcherConfig): CompiledQueryMatcher {
  // present_match, or no string matcher at all: presence is enough.
  return { name: q.name, matcher: q.stringMatch && !q.presentMatch ? new StringMatcher(q.stringMatch) : null };
}

function compileRoute(route: RouteConfig): CompiledRoute {
  const m = route.match;
  const caseSensitive = m.caseSensitive;
  let pathKind: PathKind;
  let regex: RegExp | null = null;
  switch (m.path.kind) {
    case 'prefix':
      pathKind = PathKind.Prefix;
      break;
    case 'path':
      pathKind = PathKind.Exact;
      break;
    case 'path_separated_prefix':
      pathKind = PathKind.SeparatedPrefix;
      break;
    case 'safe_regex':
      pathKind = PathKind.Regex;
      regex = anchorRegex(m.path.regex, m.path.value);
      break;
  }
  return {
    route,
    pathKind,
    value: caseSensitive || pathKind === PathKind.Regex ? m.path.value : m.path.value.toLowerCase(),
    caseSensitive,
    regex,
    headers: m.headers.map((h) => new HeaderMatcher(h)),
    query: m.queryParameters.map(compileQuery),
    grpc: m.grpc,
    fraction: m.runtimeFraction,
  };
}
