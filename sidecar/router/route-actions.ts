// What a matched route does to a request before the router: header edits, rewrites, redirects,
// the weighted cluster pick and the hash for consistent-hash balancers.

import type { HashPolicyConfig, RedirectConfig, RouteActionConfig, RouteConfig, RouteConfiguration, VirtualHostConfig } from '../../src/config/types';
import type { UpstreamCluster } from '../cluster/upstream-cluster';
import { applyRequestHeaderOps, applyResponseHeaderOps, type MutableHeaders } from './header-ops';
import { buildRedirectUrl, matchedPrefixOf, rewriteHost, rewritePath, type RedirectRequest } from './path-rewrite';
import { hashHeaderValue } from '../lb/xxhash64';

export function requestHeaderEdits(h: MutableHeaders, route: RouteConfig, vh: VirtualHostConfig | null, rc: RouteConfiguration | null): void {
  applyRequestHeaderOps(h, route, vh, rc);
}

export function responseHeaderEdits(h: MutableHeaders, route: RouteConfig, vh: VirtualHostConfig | null, rc: RouteConfiguration | null): void {
  applyResponseHeaderOps(h, route, vh, rc);
}

/** Path and authority the upstream sees. */
export function rewriteRequest(
  action: RouteActionConfig,
  route: RouteConfig,
  path: string,
  authority: string,
  cluster: UpstreamCluster,
): { path: string; authority: string } {
  let hostname: string | null = null;
  if (action.autoHostRewrite) {
    const la = cluster.config.loadAssignment;
    const first = la?.localities[0]?.endpoints[0];
    hostname = first ? first.hostname || first.address.host : null;
  }
  return { path: rewritePath(path, route, action), authority: rewriteHost(action, authority, hostname) };
}

export function redirectLocation(action: RedirectConfig, route: RouteConfig, req: RedirectRequest): string {
  return buildRedirectUrl(action, req, matchedPrefixOf(route));
}

export function pickWeightedCluster(action: RouteActionConfig, random: () => number): string | null {
  const w = action.weightedClusters;
  if (w === null || w.length === 0) return null;
  let r = Math.floor(random() * action.totalWeight);
  for (let i = 0; i < w.length; i++) {
    r -= w[i].weight;
    if (r < 0) return w[i].name;
  }
  return w[w.length - 1].name;
}

function cookieValue(h: MutableHeaders, name: string): string | null {
  const c = h.cookie;
  const s = Array.isArray(c) ? c.join('; ') : c;
  if (!s) return null;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function queryValue(path: string, name: string): string | null {
  const q = path.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(path.slice(q + 1)).get(name);
}

/** Envoy's hash policy: each policy that yields a value is folded in; a terminal one stops. */
export function requestHash(policies: readonly HashPolicyConfig[], h: MutableHeaders, path: string, sourceIp: string): bigint | null {
  let hash: bigint | null = null;
  for (const p of policies) {
    let v: string | null = null;
    switch (p.kind) {
      case 'header': {
        const x = h[p.name];
        v = x === undefined ? null : Array.isArray(x) ? x.join(',') : x;
        break;
      }
      case 'cookie':
        v = cookieValue(h, p.name);
        break;
      case 'query_parameter':
        v = queryValue(path, p.name);
        break;
      case 'source_ip':
        v = sourceIp || null;
        break;
    }
    if (v === null) continue;
    const x = hashHeaderValue(v);
    hash = hash === null ? x : (((hash << 1n) | (hash >> 63n)) & 0xffffffffffffffffn) ^ x;
    if (p.terminal) break;
  }
  return hash;
}
