// Table tests for a service's routes: the default retries' idempotent copies, where they go and where not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDEMPOTENT_METHODS } from '../model/defaults';
import type { MeshModel } from '../model/types';
import { modelFrom } from './mesh-models.fixture';
import { serviceRoutes } from './routes';

type Json = Record<string, any>;

const NS = 'r';
const svc = (name: string, clusterIP: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { clusterIP, ports: [{ name: 'http', port: 80 }] } });
const policy = (name: string, spec: Json) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name, namespace: NS }, spec: { targetRef: { name }, ...spec } });
const httpRoute = (parent: string, rules: Json[]) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: parent, namespace: NS },
  spec: { parentRefs: [{ kind: 'Service', name: parent }], rules },
});
const METHOD_MATCH = { name: ':method', string_match: { safe_regex: { regex: IDEMPOTENT_METHODS.join('|') } } };
const WEB = 'outbound|80||web.r.svc.cluster.local';
const V2 = 'outbound|80||web-v2.r.svc.cluster.local';

function routesOf(model: MeshModel, name: string, grpc = false): Json[] {
  const s = model.serviceIndex.get(`${NS}/${name}`);
  assert.ok(s, `${name} is in the model`);
  return serviceRoutes(s, 80, grpc);
}

const brief = (r: Json): string => {
  const m = r.match as Json;
  const headers = ((m.headers ?? []) as Json[]).map((h) => (h.name === ':method' && h.string_match.safe_regex ? 'idempotent' : `${h.name}=${h.string_match.exact}`));
  const path = m.prefix ?? m.path ?? m.path_separated_prefix;
  const to = r.direct_response ? `direct ${r.direct_response.status}` : (r.route.cluster ?? 'split');
  return `${path}${headers.length ? ` [${headers.join(' ')}]` : ''} → ${to}${r.route?.retry_policy ? ` (${r.route.retry_policy.retry_on})` : ''}`;
};

test('the default route: first its idempotent copy (reset added), then the route unchanged', () => {
  const routes = routesOf(modelFrom([svc('web', '10.96.9.1')]), 'web');
  assert.deepEqual(routes.map(brief), [
    `/ [idempotent] → ${WEB} (connect-failure,refused-stream,reset)`,
    `/ → ${WEB} (connect-failure,refused-stream)`,
  ]);
  assert.deepEqual(routes[0].match.headers, [METHOD_MATCH]);
  assert.equal(routes[0].name, routes[1].name, 'both are the same rule in stats and logs');
  const { retry_policy: a, ...restA } = routes[0].route;
  const { retry_policy: b, ...restB } = routes[1].route;
  assert.deepEqual(restA, restB, 'the same action');
  assert.deepEqual({ ...a, retry_on: '' }, { ...b, retry_on: '' }, 'the same retry policy but for its conditions');
});

test('HTTPRoute rules: each copy right before its rule; a rule on one method gets reset only if that method is idempotent; no copy without an action', () => {
  const model = modelFrom([
    svc('web', '10.96.9.1'),
    svc('web-v2', '10.96.9.2'),
    httpRoute('web', [
      { matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [{ name: 'web-v2', port: 80 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'POST' }], backendRefs: [{ name: 'web', port: 80 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'PUT' }], backendRefs: [{ name: 'web', port: 80 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/gone' } }], backendRefs: [{ name: 'nowhere', port: 80 }] },
      { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] },
    ]),
  ]);
  // In Gateway API precedence (longest path, then a method, then the most headers), each copy right before its rule.
  assert.deepEqual(routesOf(model, 'web').map(brief), [
    '/gone → direct 500',
    `/api [:method=POST] → ${WEB} (connect-failure,refused-stream)`,
    `/api [:method=PUT] → ${WEB} (connect-failure,refused-stream,reset)`,
    `/api [x-canary=true idempotent] → ${V2} (connect-failure,refused-stream,reset)`,
    `/api [x-canary=true] → ${V2} (connect-failure,refused-stream)`,
    `/ [idempotent] → ${WEB} (connect-failure,refused-stream,reset)`,
    `/ → ${WEB} (connect-failure,refused-stream)`,
  ]);
});

test('no copies: a policy with its own retryOn, no retries at all, proxyless gRPC (calls are POSTs)', () => {
  const cases: [string, Json[], boolean, string[]][] = [
    ['own retryOn, even with reset in it', [policy('web', { retries: { retryOn: ['5xx', 'reset'] } })], false, [`/ → ${WEB} (5xx,reset)`]],
    ['attempts 0', [policy('web', { retries: { attempts: 0 } })], false, [`/ → ${WEB}`]],
    ['proxyless gRPC', [], true, [`/ → ${WEB}`]],
  ];
  for (const [name, extra, grpc, want] of cases) {
    assert.deepEqual(routesOf(modelFrom([svc('web', '10.96.9.1'), ...extra]), 'web', grpc).map(brief), want, name);
  }
  // A policy that sets retries but not retryOn keeps the default conditions, the copy too.
  const attempts = routesOf(modelFrom([svc('web', '10.96.9.1'), policy('web', { retries: { attempts: 4 } })]), 'web');
  assert.deepEqual(attempts.map((r) => r.route.retry_policy.num_retries), [4, 4]);
  assert.deepEqual(attempts.map(brief), [`/ [idempotent] → ${WEB} (connect-failure,refused-stream,reset)`, `/ → ${WEB} (connect-failure,refused-stream)`]);
});
