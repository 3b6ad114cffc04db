// The RBAC filter: allows or denies a request by the peer's SPIFFE ID, its address, and what it
// asks for (path, method, headers, port). A denied request gets 403 and the flag RBAC.

import type { CidrRange, RbacFilterConfig, RbacPermission, RbacPrincipal, RbacPolicyConfig } from '../../src/config/types';
import type { FilterDecision, HttpFilter, HttpFilterContext, HttpFilterFactory } from './types';
import { CONTINUE } from './types';
import { HeaderMatcher, StringMatcher, type MatchableRequest } from '../../src/match/header-matcher';
import { Cidr, parseIp } from '../../src/net/cidr';

type Compiled = (ctx: HttpFilterContext, req: MatchableRequest) => boolean;

function pathOnly(p: string): string {
  const q = p.indexOf('?');
  return q < 0 ? p : p.slice(0, q);
}

function compileCidr(r: CidrRange): (ip: string) => boolean {
  const cidr = Cidr.parse(r.address, r.prefixLen);
  return (ip) => {
    const a = parseIp(ip);
    return a !== null && cidr !== null && cidr.contains(a);
  };
}

function compilePermission(p: RbacPermission): Compiled {
  switch (p.kind) {
    case 'any':
      return () => true;
    case 'header': {
      const m = new HeaderMatcher(p.header);
      return (_c, req) => m.match(req);
    }
    case 'url_path': {
      const m = new StringMatcher(p.path);
      return (_c, req) => m.match(pathOnly(req.path));
    }
    case 'destination_port':
      return (c) => c.downstream.localPort === p.port;
    case 'and': {
      const all = p.rules.map(compilePermission);
      return (c, r) => all.every((f) => f(c, r));
    }
    case 'or': {
      const any = p.rules.map(compilePermission);
      return (c, r) => any.some((f) => f(c, r));
    }
    case 'not': {
      const inner = compilePermission(p.rule);
      return (c, r) => !inner(c, r);
    }
  }
}

function compilePrincipal(p: RbacPrincipal): Compiled {
  switch (p.kind) {
    case 'any':
      return () => true;
    case 'authenticated': {
      if (p.principalName === null) return (c) => c.downstream.peerPrincipal !== null;
      const m = new StringMatcher(p.principalName);
      return (c) => c.downstream.peerPrincipal !== null && m.match(c.downstream.peerPrincipal);
    }
    case 'source_ip': {
      const inRange = compileCidr(p.range);
      return (c) => inRange(c.downstream.remoteAddress);
    }
    case 'header': {
      const m = new HeaderMatcher(p.header);
      return (_c, req) => m.match(req);
    }
    case 'and': {
      const all = p.ids.map(compilePrincipal);
      return (c, r) => all.every((f) => f(c, r));
    }
    case 'or': {
      const any = p.ids.map(compilePrincipal);
      return (c, r) => any.some((f) => f(c, r));
    }
    case 'not': {
      const inner = compilePrincipal(p.id);
      return (c, r) => !inner(c, r);
    }
  }
}

export interface CompiledRules {
  readonly allow: boolean; // action ALLOW
  readonly policies: readonly { readonly name: string; readonly matches: Compiled }[];
}

export function compileRules(r: { action: 'ALLOW' | 'DENY'; policies: readonly RbacPolicyConfig[] }): CompiledRules {
  return {
    allow: r.action === 'ALLOW',
    policies: r.policies.map((p) => {
      const perms = p.permissions.map(compilePermission);
      const ids = p.principals.map(compilePrincipal);
      return { name: p.name, matches: (c, req) => perms.some((f) => f(c, req)) && ids.some((f) => f(c, req)) };
    }),
  };
}

/** True when the request may pass under these rules. */
export function permitted(rules: CompiledRules, ctx: HttpFilterContext, req: MatchableRequest): boolean {
  let matched = false;
  for (const p of rules.policies) {
    if (p.matches(ctx, req)) {
      matched = true;
      break;
    }
  }
  return rules.allow ? matched : !matched;
}

const DENIED: FilterDecision = Object.freeze({
  action: 'reply',
  reply: Object.freeze({ status: 403, body: 'RBAC: access denied', flag: 'RBAC', grpcStatus: 7 }),
});

export class RbacFilter implements HttpFilter {
  readonly name: string;
  private readonly rules: CompiledRules | null;
  private readonly shadow: CompiledRules | null;
  private readonly perRoute = new WeakMap<RbacFilterConfig, CompiledRules | null>();
  readonly stats = { allowed: 0, denied: 0, shadowDenied: 0 };

  constructor(config: RbacFilterConfig) {
    this.name = config.name;
    this.rules = config.rules ? compileRules(config.rules) : null;
    this.shadow = config.shadowRules ? compileRules(config.shadowRules) : null;
  }

  private rulesFor(ctx: HttpFilterContext): CompiledRules | null {
    const override = ctx.route?.perFilterConfig[this.name];
    if (override === undefined || override.kind !== 'rbac') return this.rules;
    let c = this.perRoute.get(override);
    if (c === undefined) {
      c = override.rules ? compileRules(override.rules) : null;
      this.perRoute.set(override, c);
    }
    return c;
  }

  decodeHeaders(ctx: HttpFilterContext): FilterDecision {
    const rules = this.rulesFor(ctx);
    const req: MatchableRequest = {
      method: ctx.request.method,
      path: ctx.request.path,
      headers: ctx.request.headers,
      authority: ctx.request.authority,
      scheme: ctx.request.scheme,
    };
    if (this.shadow !== null && !permitted(this.shadow, ctx, req)) this.stats.shadowDenied++;
    if (rules === null || permitted(rules, ctx, req)) {
      this.stats.allowed++;
      return CONTINUE;
    }
    this.stats.denied++;
    return DENIED;
  }
}

export const RBAC_FILTER_NAME = 'envoy.filters.http.rbac';
export const RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

export const createRbacFilter: HttpFilterFactory = (config) => {
  if (config.kind !== 'rbac') throw new Error(`rbac filter given a ${config.kind} config`);
  return new RbacFilter(config);
};
