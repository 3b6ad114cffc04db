// Model → routes: HTTPRoute rules (or a default route) with the service's retries, timeouts and hash policy.

import { IDEMPOTENT_METHODS } from '../model/defaults';
import type { EffectiveTrafficPolicy, HttpRouteMatch, MeshHttpRoute, MeshService } from '../model/types';
import { dur, outboundClusterName, PASSTHROUGH_CLUSTER, PREVIOUS_HOSTS_TYPE, serviceDomains } from './envoy-names';

type Json = Record<string, unknown>;

/** Retry conditions gRPC clients understand (status codes); the rest are Envoy's. */
const GRPC_RETRY_ON = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

function pathMatch(m: HttpRouteMatch, grpc: boolean): Json {
  const p = m.path;
  if (!p) return { prefix: '/' };
  if (p.type === 'Exact') return { path: p.value };
  if (p.type === 'RegularExpression') return { safe_regex: { regex: p.value } };
  // Gateway API prefixes match whole path segments: /api matches /api and /api/x, not /apix.
  if (p.value === '/' || p.value.endsWith('/') || grpc) return { prefix: p.value };
  return { path_separated_prefix: p.value };
}

function routeMatch(m: HttpRouteMatch, grpc: boolean): Json {
  const out: Json = pathMatch(m, grpc);
  const headers = m.headers.map((h) => ({
    name: h.name.toLowerCase(),
    string_match: h.type === 'Exact' ? { exact: h.value } : { safe_regex: { regex: h.value } },
  }));
  if (m.method) headers.push({ name: ':method', string_match: { exact: m.method } });
  if (headers.length) out.headers = headers;
  if (m.queryParams.length) {
    out.query_parameters = m.queryParams.map((q) => ({
      name: q.name,
      string_match: q.type === 'Exact' ? { exact: q.value } : { safe_regex: { regex: q.value } },
    }));
  }
  return out;
}

const IDEMPOTENT = new Set(IDEMPOTENT_METHODS);

/** The `:method` matcher of a route's idempotent copy (safe_regex is a full match in Envoy). */
const IDEMPOTENT_METHOD_MATCH: Json = Object.freeze({ name: ':method', string_match: { safe_regex: { regex: IDEMPOTENT_METHODS.join('|') } } });

function retryPolicy(tp: EffectiveTrafficPolicy, perTryMs: number | null, grpc: boolean): Json | null {
  const r = tp.retries;
  const on = grpc ? r.retryOn.filter((c) => GRPC_RETRY_ON.has(c)) : r.retryOn;
  if (r.attempts === 0 || on.length === 0) return null;
  const out: Json = { retry_on: on.join(','), num_retries: r.attempts };
  const perTry = perTryMs ?? r.perTryTimeoutMs;
  if (perTry > 0 && !grpc) out.per_try_timeout = dur(perTry);
  if (!grpc) {
    out.retry_host_predicate = [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': PREVIOUS_HOSTS_TYPE } }];
    out.host_selection_retry_max_attempts = 3;
  }
  return out;
}

function hashPolicy(tp: EffectiveTrafficPolicy, grpc: boolean): Json[] | null {
  const h = tp.loadBalancer.hashOn;
  const type = tp.loadBalancer.type;
  if (!h || (type !== 'RingHash' && type !== 'Maglev')) return null;
  if (h.header) return [{ header: { header_name: h.header } }];
  if (grpc) return null; // gRPC hashes on headers only (and its channel id).
  if (h.cookie) return [{ cookie: { name: h.cookie } }];
  if (h.queryParameter) return [{ query_parameter: { name: h.queryParameter } }];
  return [{ connection_properties: { source_ip: true } }];
}

/** The action for one set of backends: a cluster, weighted clusters, or (no backends) nothing. */
function action(svc: MeshService, backends: MeshHttpRoute['backends'], timeoutMs: number, perTryMs: number | null, grpc: boolean): Json | null {
  let out: Json;
  if (backends.length === 0) return null;
  if (backends.length === 1) out = { cluster: outboundClusterName(backends[0].port, backends[0].hostname) };
  else {
    out = { weighted_clusters: { clusters: backends.map((b) => ({ name: outboundClusterName(b.port, b.hostname), weight: b.weight })) } };
  }
  const tp = svc.trafficPolicy;
  if (grpc) {
    if (timeoutMs > 0) out.max_stream_duration = { max_stream_duration: dur(timeoutMs) };
  } else {
    out.timeout = dur(timeoutMs);
  }
  const rp = retryPolicy(tp, perTryMs, grpc);
  if (rp) out.retry_policy = rp;
  const hp = hashPolicy(tp, grpc);
  if (hp) out.hash_policy = hp;
  return out;
}

/** `a` with `extra` added to its retry conditions. */
function withRetryOn(a: Json, extra: readonly string[]): Json {
  const rp = a.retry_policy as Json;
  const on = String(rp.retry_on).split(',');
  return { ...a, retry_policy: { ...rp, retry_on: [...on, ...extra.filter((c) => !on.includes(c))].join(',') } };
}

/**
 * Pushes one route, and for the conditions only idempotent methods retry (the default's `reset`)
 * first its idempotent copy: the same match plus `:method` among IDEMPOTENT_METHODS, the same action
 * with those conditions added. The copy matches a subset of its original's requests and sits right
 * before it, so every request still takes the action of the first rule it matched before: a rule
 * earlier in the list never loses a request to a later rule's copy. A rule that already matches one
 * method needs no copy; it gets the conditions itself when the method is idempotent, never otherwise.
 * gRPC calls are POSTs: proxyless clients get no copy.
 */
function pushRoute(out: Json[], name: string, match: Json, method: string | null, a: Json, tp: EffectiveTrafficPolicy, grpc: boolean): void {
  const extra = tp.retries.idempotentRetryOn;
  if (grpc || extra.length === 0 || !a.retry_policy) {
    out.push({ name, match, route: a });
  } else if (method !== null) {
    out.push({ name, match, route: IDEMPOTENT.has(method) ? withRetryOn(a, extra) : a });
  } else {
    const headers = [...((match.headers as Json[] | undefined) ?? []), IDEMPOTENT_METHOD_MATCH];
    out.push({ name, match: { ...match, headers }, route: withRetryOn(a, extra) });
    out.push({ name, match, route: a });
  }
}

/**
 * The routes of one service port, in precedence order; a service without HTTPRoutes gets one default
 * route. Each route with idempotent-only retry conditions comes after its idempotent copy (pushRoute).
 */
export function serviceRoutes(svc: MeshService, port: number, grpc: boolean): Json[] {
  const tp = svc.trafficPolicy;
  const attached = svc.routes.get(port);
  const out: Json[] = [];
  if (!attached || attached.length === 0) {
    const self = [{ service: svc, port, hostname: svc.hostname, weight: 1 }];
    const a = action(svc, self, tp.timeoutMs, null, grpc);
    // A service's own backend is always valid, so its default route always has an action.
    if (a) pushRoute(out, 'default', { prefix: '/' }, null, a, tp, grpc);
    return out;
  }
  for (const r of attached) {
    if (grpc && r.match.queryParams.length > 0) continue; // gRPC requests carry no query string
    const name = `${r.source}/rules/${r.rule}`;
    const a = action(svc, r.backends, r.requestTimeoutMs ?? tp.timeoutMs, r.backendRequestTimeoutMs, grpc);
    if (a) pushRoute(out, name, routeMatch(r.match, grpc), r.match.method ?? null, a, tp, grpc);
    // No valid backend: Gateway API answers 500. gRPC has no direct responses; the route is left out.
    else if (!grpc) out.push({ name, match: routeMatch(r.match, grpc), direct_response: { status: 500 } });
  }
  return out;
}

/**
 * The sidecar RouteConfiguration named `<port>`: one virtual host per service with an HTTP port
 * there, plus a `*` host to the passthrough cluster when passthrough is on.
 */
export function portRouteConfiguration(port: number, services: readonly MeshService[], proxyNamespace: string, passthrough: boolean): Json {
  const seen = new Set<string>();
  const virtualHosts: Json[] = [];
  for (const svc of services) {
    const domains = serviceDomains(svc, port, proxyNamespace).filter((d) => !seen.has(d));
    domains.forEach((d) => seen.add(d));
    if (domains.length === 0) continue;
    virtualHosts.push({ name: `${svc.hostname}:${port}`, domains, routes: serviceRoutes(svc, port, false) });
  }
  if (passthrough) {
    virtualHosts.push({ name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER, timeout: '0s' } }] });
  }
  return { name: String(port), virtual_hosts: virtualHosts, validate_clusters: false };
}

/**
 * Bind mode: the RouteConfiguration of one service port's own listener. The listener already names
 * the service, so its one virtual host takes any Host header.
 */
export function serviceRouteConfiguration(name: string, svc: MeshService, port: number): Json {
  return {
    name,
    virtual_hosts: [{ name: `${svc.hostname}:${port}`, domains: ['*'], routes: serviceRoutes(svc, port, false) }],
    validate_clusters: false,
  };
}
