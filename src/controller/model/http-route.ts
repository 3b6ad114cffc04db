// Validator for gateway.networking.k8s.io/v1 HTTPRoute attached to Services (GAMMA): matches, weighted backends, timeouts.

import { ConfigError, UnsupportedConfigError } from '../../errors';
import { Reader } from '../../config/reader';
import { inObject, objectId, optDurationField, readMeta } from './object-context';
import type { HttpBackendRef, HttpRouteMatch, HttpRouteObject, HttpRouteRule } from './types';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];

function isCoreService(r: Reader): boolean {
  const group = r.str('group', '');
  const kind = r.str('kind', 'Service');
  return (group === '' || group === 'core') && kind === 'Service';
}

function match(m: Reader): HttpRouteMatch {
  let path: HttpRouteMatch['path'] = null;
  const p = m.obj('path');
  if (p) {
    const type = p.enumOf('type', ['Exact', 'PathPrefix', 'RegularExpression'] as const, 'PathPrefix', 'path match type');
    const value = p.str('value', '/');
    if (type !== 'RegularExpression' && !value.startsWith('/')) throw new ConfigError(p.at('value'), 'must start with /');
    p.done();
    path = { type, value };
  }
  const pairs = (key: string, what: string) =>
    m.objList(key, (h) => {
      const type = h.enumOf('type', ['Exact', 'RegularExpression'] as const, 'Exact', `${what} match type`);
      const name = h.requiredStr('name');
      const value = h.str('value');
      h.done();
      return { type, name, value };
    });
  const headers = pairs('headers', 'header');
  const queryParams = pairs('queryParams', 'query parameter');
  const method = m.optStr('method');
  if (method !== null && !METHODS.includes(method)) throw new ConfigError(m.at('method'), `${method} is not a valid method`);
  m.done();
  return { path, headers, queryParams, method };
}

function backendRef(b: Reader, routeNs: string): HttpBackendRef {
  if (!isCoreService(b)) throw new UnsupportedConfigError(b.at('kind'), 'only Service backends are supported');
  const name = b.requiredStr('name');
  const namespace = b.str('namespace', routeNs) || routeNs;
  const port = b.optInt('port', 1, 65535);
  const weight = b.int('weight', 1, 0, 1_000_000);
  b.reject('filters');
  b.done();
  return { name, namespace, port, weight };
}

function rule(r: Reader, routeNs: string): HttpRouteRule {
  const matches = r.has('matches') ? r.objList('matches', match) : [];
  const backendRefs = r.objList('backendRefs', (b) => backendRef(b, routeNs));
  let requestTimeoutMs: number | null = null;
  let backendRequestTimeoutMs: number | null = null;
  const t = r.obj('timeouts');
  if (t) {
    requestTimeoutMs = optDurationField(t, 'request');
    backendRequestTimeoutMs = optDurationField(t, 'backendRequest');
    t.done();
    if (requestTimeoutMs && backendRequestTimeoutMs && backendRequestTimeoutMs > requestTimeoutMs) {
      throw new ConfigError(t.at('backendRequest'), 'must not be longer than timeouts.request');
    }
  }
  r.ignore('name');
  r.reject('filters', 'sessionPersistence', 'retry');
  r.done();
  const all = matches.length === 0 ? [{ path: { type: 'PathPrefix' as const, value: '/' }, headers: [], queryParams: [], method: null }] : matches;
  return { matches: all, backendRefs, requestTimeoutMs, backendRequestTimeoutMs };
}

export function parseHttpRoute(obj: Record<string, unknown>): HttpRouteObject {
  const meta = readMeta(obj, 'HTTPRoute', true);
  const id = objectId('HTTPRoute', meta.namespace, meta.name);
  return inObject(id, () => {
    const spec = new Reader(obj.spec ?? {}, 'spec');
    const parentRefs = spec.objList('parentRefs', (p) => {
      if (!isCoreService(p)) {
        throw new UnsupportedConfigError(p.at('kind'), 'only Service parents (GAMMA) are supported; Gateways are not');
      }
      const name = p.requiredStr('name');
      const namespace = p.str('namespace', meta.namespace) || meta.namespace;
      const port = p.optInt('port', 1, 65535);
      p.ignore('sectionName');
      p.done();
      return { name, namespace, port };
    });
    if (parentRefs.length === 0) throw new ConfigError(spec.at('parentRefs'), 'at least one Service parent is required');
    spec.ignore('hostnames');
    const rules = spec.objList('rules', (r) => rule(r, meta.namespace));
    spec.done();
    return { kind: 'HTTPRoute', name: meta.name, namespace: meta.namespace, createdMs: meta.createdMs, parentRefs, rules };
  });
}
