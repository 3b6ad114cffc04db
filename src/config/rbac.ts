// envoy.filters.http.rbac (RBAC / RBACPerRoute) → RbacFilterConfig: policies of permissions and
// principals, the subset a mesh's authorization needs.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { NetworkRbacConfig, RbacFilterConfig, RbacPermission, RbacPolicyConfig, RbacPrincipal } from './types';
import { cidrRange, headerMatcher, stringMatcher } from './common';
import { Reader } from './reader';

export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const RBAC_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
export const RBAC_NAME = 'envoy.filters.http.rbac';

/** Exactly one key of a oneof object: returns it, or throws naming what is wrong. */
function oneKey(r: Reader, allowed: readonly string[], what: string): string {
  const keys = allowed.filter((k) => r.has(k));
  if (keys.length !== 1) {
    throw new ConfigError(r.path, keys.length === 0 ? `${what} needs one of ${allowed.join(', ')}` : `${what} sets ${keys.join(' and ')}; only one is allowed`);
  }
  return keys[0];
}

const PERMISSION_KEYS = ['any', 'header', 'url_path', 'destination_port', 'and_rules', 'or_rules', 'not_rule'] as const;
const PERMISSION_UNSUPPORTED = ['destination_ip', 'destination_port_range', 'metadata', 'requested_server_name', 'matcher', 'uri_template', 'sourced_metadata'];

function permission(v: unknown, path: string): RbacPermission {
  const r = new Reader(v, path);
  r.reject(...PERMISSION_UNSUPPORTED);
  const k = oneKey(r, PERMISSION_KEYS, 'a permission');
  let out: RbacPermission;
  switch (k) {
    case 'any':
      if (r.get('any') !== true) throw new ConfigError(r.at('any'), 'must be true');
      out = { kind: 'any' };
      break;
    case 'header':
      out = { kind: 'header', header: headerMatcher(r.get('header'), r.at('header')) };
      break;
    case 'url_path': {
      const u = r.obj('url_path')!;
      out = { kind: 'url_path', path: stringMatcher(u.get('path'), u.at('path')) };
      u.ignore('path');
      u.done();
      break;
    }
    case 'destination_port':
      out = { kind: 'destination_port', port: r.int('destination_port', 0, 0, 65535) };
      break;
    case 'and_rules':
    case 'or_rules': {
      const set = r.obj(k)!;
      const rules = set.list('rules', permission);
      set.done();
      out = { kind: k === 'and_rules' ? 'and' : 'or', rules };
      break;
    }
    default:
      out = { kind: 'not', rule: permission(r.get('not_rule'), r.at('not_rule')) };
  }
  r.ignore(k);
  r.done();
  return out;
}

const PRINCIPAL_KEYS = ['any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'and_ids', 'or_ids', 'not_id'] as const;

function principal(v: unknown, path: string): RbacPrincipal {
  const r = new Reader(v, path);
  r.reject('url_path', 'metadata', 'filter_state', 'custom', 'sourced_metadata');
  const k = oneKey(r, PRINCIPAL_KEYS, 'a principal');
  let out: RbacPrincipal;
  switch (k) {
    case 'any':
      if (r.get('any') !== true) throw new ConfigError(r.at('any'), 'must be true');
      out = { kind: 'any' };
      break;
    case 'authenticated': {
      const a = r.obj('authenticated')!;
      const pn = a.get('principal_name');
      out = { kind: 'authenticated', principalName: pn === undefined ? null : stringMatcher(pn, a.at('principal_name')) };
      a.ignore('principal_name');
      a.done();
      break;
    }
    case 'source_ip':
    case 'direct_remote_ip':
    case 'remote_ip':
      // Ferry sees the peer address of the connection; for a sidecar these are the same.
      out = { kind: 'source_ip', range: cidrRange(r.get(k), r.at(k)) };
      break;
    case 'header':
      out = { kind: 'header', header: headerMatcher(r.get('header'), r.at('header')) };
      break;
    case 'and_ids':
    case 'or_ids': {
      const set = r.obj(k)!;
      const ids = set.list('ids', principal);
      set.done();
      out = { kind: k === 'and_ids' ? 'and' : 'or', ids };
      break;
    }
    default:
      out = { kind: 'not', id: principal(r.get('not_id'), r.at('not_id')) };
  }
  r.ignore(k);
  r.done();
  return out;
}

function rules(v: unknown, path: string): { action: 'ALLOW' | 'DENY'; policies: RbacPolicyConfig[] } {
  const r = new Reader(v, path);
  const action = r.enumOf('action', ['ALLOW', 'DENY', 'LOG'], 'ALLOW', 'RBAC action');
  if (action === 'LOG') throw new UnsupportedConfigError(r.at('action'), 'LOG is not supported');
  const policies: RbacPolicyConfig[] = [];
  const raw = r.map('policies');
  for (const name of Object.keys(raw)) {
    const pr = new Reader(raw[name], `${r.at('policies')}.${name}`);
    const permissions = pr.list('permissions', permission);
    const principals = pr.list('principals', principal);
    pr.reject('condition', 'checked_condition', 'cel_config');
    pr.done();
    if (permissions.length === 0) throw new ConfigError(pr.at('permissions'), 'at least one permission is required');
    if (principals.length === 0) throw new ConfigError(pr.at('principals'), 'at least one principal is required');
    policies.push({ name, permissions, principals });
  }
  r.reject('audit_logging_options');
  r.done();
  return { action, policies };
}

export const NETWORK_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
export const NETWORK_RBAC_NAME = 'envoy.filters.network.rbac';

/** envoy.filters.network.rbac: the same rules, judged once per connection (no request fields). */
export function translateNetworkRbac(r: Reader): NetworkRbacConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const rulesV = r.get('rules');
  r.ignore('shadow_rules', 'shadow_rules_stat_prefix', 'enforcement_type');
  r.reject('matcher', 'shadow_matcher', 'delay_deny');
  r.done();
  const out = rulesV === undefined ? null : rules(rulesV, r.at('rules'));
  if (out) {
    // A connection has no HTTP request: header and path permissions could never be judged.
    const requestOnly = (p: RbacPermission): boolean =>
      p.kind === 'header' || p.kind === 'url_path' || ((p.kind === 'and' || p.kind === 'or') && p.rules.some(requestOnly)) || (p.kind === 'not' && requestOnly(p.rule));
    for (const pol of out.policies) {
      if (pol.permissions.some(requestOnly)) {
        throw new ConfigError(`${r.at('rules')}.policies.${pol.name}`, 'header and url_path permissions need the HTTP RBAC filter, not the network one');
      }
    }
  }
  return { statPrefix, rules: out };
}

/** The RBAC filter's typed_config (`per_route` for RBACPerRoute, which wraps it). */
export function translateRbac(r: Reader, name: string, perRoute = false): RbacFilterConfig {
  let src = r;
  if (perRoute) {
    const inner = r.obj('rbac');
    r.done();
    if (!inner) return { kind: 'rbac', name, rules: null, shadowRules: null };
    src = inner;
    src.ignore('@type');
  }
  const rulesV = src.get('rules');
  const shadowV = src.get('shadow_rules');
  src.ignore('rules', 'shadow_rules');
  src.ignore('shadow_rules_stat_prefix', 'rules_stat_prefix', 'track_per_rule_stats');
  src.reject('matcher', 'shadow_matcher');
  src.done();
  return {
    kind: 'rbac',
    name,
    rules: rulesV === undefined ? null : rules(rulesV, src.at('rules')),
    shadowRules: shadowV === undefined ? null : rules(shadowV, src.at('shadow_rules')),
  };
}
