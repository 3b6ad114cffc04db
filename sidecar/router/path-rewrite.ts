// Path and host rewrites for the router, and the Location URL of a redirect route.
//
// prefix_rewrite swaps the route's matched prefix (or exact path) for the rewrite and keeps the rest
// of the path and the query. regex_rewrite replaces every match in the path without its query
// (anchor the pattern to replace once), with RE2-style `\1` capture references, then re-attaches
// the query. Redirects follow Envoy's RedirectAction: scheme, host, port and path are swapped
// independently; a host redirect without a port redirect drops the original port; a scheme redirect
// drops an explicit port that is the default for the original scheme (`:80` for http, `:443` for
// https), and no URL ever carries the default port of its own scheme.

import type { RedirectConfig, RouteActionConfig, RouteConfig } from '../../src/config/types';
import { pathLength, stripPort } from './route-table';

/** The part of the path a prefix_rewrite replaces: the route's prefix or exact path, else null. */
export function matchedPrefixOf(route: RouteConfig): string | null {
  const p = route.match.path;
  return p.kind === 'safe_regex' ? null : p.value;
}

/** Swaps the first `matchedLength` characters of `path` for `rewrite` (query kept). */
export function prefixRewrite(path: string, matchedLength: number, rewrite: string): string {
  return rewrite + path.slice(matchedLength);
}

interface CompiledSubstitution {
  readonly regex: RegExp;
  /** Literal pieces and capture group numbers, alternating: [lit, group, lit, group, …, lit]. */
  readonly parts: readonly (string | number)[];
  readonly groups: number;
}

const substitutions = new WeakMap<object, CompiledSubstitution>();

/** Applies a regex_rewrite to the path (without query); the query is re-attached unchanged. */
export function regexRewrite(path: string, rewrite: { readonly regex: RegExp; readonly substitution: string }): string {
  let compiled = substitutions.get(rewrite);
  if (compiled === undefined) {
    const flags = rewrite.regex.flags.includes('g') ? rewrite.regex.flags : rewrite.regex.flags + 'g';
    const regex = new RegExp(rewrite.regex.source, flags);
    const groups = new RegExp(`${rewrite.regex.source}|`, flags.replace(/[gy]/g, '')).exec('')!.length - 1;
    compiled = { regex, parts: parseSubstitution(rewrite.substitution), groups };
    substitutions.set(rewrite, compiled);
  }
  const end = pathLength(path);
  const bare = end === path.length ? path : path.slice(0, end);
  const parts = compiled.parts;
  const groups = compiled.groups;
  compiled.regex.lastIndex = 0;
  const replaced = bare.replace(compiled.regex, (...args: unknown[]) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (typeof part === 'string') out += part;
      else if (part <= groups) {
        const g = args[part];
        if (typeof g === 'string') out += g;
      }
    }
    return out;
  });
  return end === path.length ? replaced : replaced + path.slice(end);
}

/** Splits an RE2 substitution (`\0`–`\9` are groups, `\\` is a backslash) into pieces. */
export function parseSubstitution(sub: string): (string | number)[] {
  const parts: (string | number)[] = [];
  let lit = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i];
    if (c === '\\' && i + 1 < sub.length) {
      const n = sub.charCodeAt(i + 1);
      if (n >= 0x30 && n <= 0x39) {
        parts.push(lit, n - 0x30);
        lit = '';
        i++;
        continue;
      }
      if (sub[i + 1] === '\\') {
        lit += '\\';
        i++;
        continue;
      }
    }
    lit += c;
  }
  parts.push(lit);
  return parts;
}

/** The path the router sends upstream for a route action (prefix or regex rewrite, else unchanged). */
export function rewritePath(path: string, route: RouteConfig, action: RouteActionConfig): string {
  if (action.prefixRewrite !== null) {
    const prefix = matchedPrefixOf(route);
    if (prefix !== null) return prefixRewrite(path, prefix.length, action.prefixRewrite);
  }
  if (action.regexRewrite !== null) return regexRewrite(path, action.regexRewrite);
  return path;
}

/**
 * The authority to send upstream: host_rewrite_literal, else the chosen endpoint's hostname when
 * auto_host_rewrite is set and one is known, else the original authority.
 */
export function rewriteHost(action: RouteActionConfig, authority: string, upstreamHostname: string | null): string {
  if (action.hostRewriteLiteral !== null) return action.hostRewriteLiteral;
  if (action.autoHostRewrite && upstreamHostname) return upstreamHostname;
  return authority;
}

/** What a redirect needs from the request. */
export interface RedirectRequest {
  /** 'http' or 'https' (x-forwarded-proto as the connection manager settled it). */
  readonly scheme: string;
  readonly authority: string;
  /** Path with query. */
  readonly path: string;
}

function defaultPort(scheme: string): string | null {
  return scheme === 'http' ? '80' : scheme === 'https' ? '443' : null;
}

/** The port of `host:port` (brackets understood), or null. */
function portOf(host: string): string | null {
  const bare = stripPort(host);
  return bare.length === host.length ? null : host.slice(bare.length + 1);
}

/** The Location of a redirect route. `matchedPrefix` is the route's prefix/path (for prefix_rewrite). */
export function buildRedirectUrl(redirect: RedirectConfig, req: RedirectRequest, matchedPrefix: string | null): string {
  const origScheme = req.scheme.toLowerCase();
  const scheme = redirect.schemeRedirect !== null ? redirect.schemeRedirect.toLowerCase() : origScheme;

  let host = redirect.hostRedirect !== null ? redirect.hostRedirect : req.authority;
  if (redirect.portRedirect !== null) {
    host = `${stripPort(host)}:${redirect.portRedirect}`;
  } else if (redirect.hostRedirect === null && redirect.schemeRedirect !== null) {
    const port = portOf(host);
    if (port !== null && port === defaultPort(origScheme)) host = stripPort(host);
  }
  const port = portOf(host);
  if (port !== null && port === defaultPort(scheme)) host = stripPort(host);

  let path = req.path;
  if (redirect.pathRedirect !== null) {
    // A query in path_redirect replaces the request's and survives strip_query.
    if (redirect.pathRedirect.includes('?')) return `${scheme}://${host}${redirect.pathRedirect}`;
    const end = pathLength(path);
    path = redirect.pathRedirect + path.slice(end);
  } else if (redirect.prefixRewrite !== null && matchedPrefix !== null) {
    path = prefixRewrite(path, matchedPrefix.length, redirect.prefixRewrite);
  }
  if (redirect.stripQuery) {
    const q = path.indexOf('?');
    if (q >= 0) path = path.slice(0, q);
  }
  return `${scheme}://${host}${path}`;
}
