// Tests for the demo's report: injection by namespace, edges with identities, the refused call, retries and ejection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '../../observability/prom-text';
import { deniedLines, edgesOf, injectionLines, mtlsLines, rescueLines, rescues, type DemoInput, type DemoPod } from './report';

const pod = (ns: string, name: string, workload: string, sa: string, labels: Record<string, string>, meshed = true): DemoPod => ({
  namespace: ns, name, workload, labels, meshed, notMeshedBecause: meshed ? null : 'injection not enabled for this pod', serviceAccount: sa,
  namespaceLabels: ns === 'shop' ? { 'ferry.io/inject': 'enabled' } : {},
});

const req = (labels: Record<string, string>, value: number): Sample => ({ name: 'ferry_requests_total', labels, value });
const FE = 'spiffe://cluster.local/ns/shop/sa/frontend';
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const V1 = 'outbound|8080||catalog-v1.shop.svc.cluster.local';

const pods = [
  pod('shop', 'frontend-0', 'frontend', 'frontend', { app: 'frontend' }),
  pod('shop', 'catalog-v1-0', 'catalog-v1', 'catalog', { app: 'catalog', version: 'v1' }),
  pod('shop', 'catalog-v1-flaky-0', 'catalog-v1-flaky', 'catalog', { app: 'catalog', version: 'v1', flavour: 'flaky' }),
  pod('shop', 'cart-0', 'cart', 'cart', { app: 'cart' }),
  pod('legacy', 'ledger-0', 'ledger', 'default', { app: 'ledger' }, false),
];

const input: DemoInput = {
  mode: 'netns',
  trustDomain: 'cluster.local',
  pods,
  services: [
    { namespace: 'shop', name: 'catalog', selector: { app: 'catalog' } },
    { namespace: 'shop', name: 'catalog-v1', selector: { app: 'catalog', version: 'v1' } },
    { namespace: 'shop', name: 'empty', selector: {} },
  ],
  samples: new Map<string, Sample[]>([
    ['shop/frontend-0', [
      req({ reporter: 'source', destination_cluster: V1, response_code: '200' }, 98),
      req({ reporter: 'source', destination_cluster: V1, response_code: '503' }, 2),
      { name: 'ferry_upstream_rq_retry_total', labels: { destination_cluster: V1, outcome: 'attempted' }, value: 9 },
      { name: 'ferry_upstream_rq_retry_total', labels: { destination_cluster: V1, outcome: 'overflow' }, value: 4 },
      { name: 'ferry_upstream_ejections_total', labels: { destination_cluster: V1, reason: 'consecutive_5xx' }, value: 2 },
    ]],
    ['shop/catalog-v1-0', [
      req({ reporter: 'destination', source_principal: FE, connection_security_policy: 'mutual_tls', response_code: '200' }, 70),
      req({ reporter: 'destination', source_principal: CART, connection_security_policy: 'mutual_tls', response_code: '403', response_flags: 'RBAC' }, 1),
    ]],
    ['shop/catalog-v1-flaky-0', [
      req({ reporter: 'destination', source_principal: FE, connection_security_policy: 'mutual_tls', response_code: '200' }, 21),
      req({ reporter: 'destination', source_principal: FE, connection_security_policy: 'mutual_tls', response_code: '503' }, 9),
    ]],
    ['shop/cart-0', [
      { name: 'ferry_tcp_connections_opened_total', labels: { reporter: 'source', source_principal: CART }, value: 5 },
      req({ reporter: 'destination', source_principal: 'unknown', connection_security_policy: 'none', response_code: '200' }, 3),
      req({ reporter: 'destination', source_principal: FE, connection_security_policy: 'mutual_tls', response_code: '200' }, 0),
    ]],
  ]),
  denied: { from: 'shop/cart-0', to: 'shop/catalog', status: 403, body: 'RBAC: access denied\n' },
};

test('injection is shown per namespace, with the namespace label that decided it', () => {
  assert.deepEqual(injectionLines(pods), [
    '  · legacy: ledger-0 — not injected (namespace legacy has no ferry.io/inject label): injection not enabled for this pod',
    "  ✓ shop: frontend-0, catalog-v1-0, catalog-v1-flaky-0, cart-0 — injected by the webhook's injector (ferry-init capture + ferry-proxy sidecar)",
  ]);
  assert.match(injectionLines(pods, 'bind')[1]!, /\(ferry-proxy sidecar; bind mode runs no capture rules\)$/);
});

test('edges come from each destination sidecar: the caller by its SPIFFE ID, plaintext and refused calls kept apart', () => {
  const edges = edgesOf(input).map((e) => [e.source, e.destination, e.security, e.requests, e.denied]);
  assert.deepEqual(edges, [
    ['shop/cart', 'shop/catalog-v1', 'mutual_tls', 1, 1],
    ['shop/frontend', 'shop/catalog-v1', 'mutual_tls', 70, 0],
    ['shop/frontend', 'shop/catalog-v1-flaky', 'mutual_tls', 30, 0],
    ['unknown (plaintext)', 'shop/cart', 'none', 3, 0],
  ]);
  const lines = mtlsLines(input);
  assert.equal(lines.at(-1), '  1 of 4 edges were not mutual TLS');
  assert.ok(lines.includes('  ✗ unknown (plaintext) → shop/cart: none, 3 requests\n      unknown → spiffe://cluster.local/ns/shop/sa/cart'));
  assert.ok(lines.includes('  ✓ shop/cart → shop/catalog-v1: mutual_tls, 1 request, 1 refused by the AccessPolicy (403 RBAC)\n      spiffe://cluster.local/ns/shop/sa/cart → spiffe://cluster.local/ns/shop/sa/catalog'));
  const allMtls: DemoInput = { ...input, samples: new Map([...input.samples].filter(([k]) => k !== 'shop/cart-0')) };
  assert.equal(mtlsLines(allMtls).at(-1), '  every meshed edge was mutual TLS (3 edges)');
});

test('a flaky replica is set against what its callers saw, with their retries and ejections', () => {
  assert.deepEqual(rescues(input), [
    { pod: 'shop/catalog-v1-flaky-0', podRequests: 30, podFailures: 9, service: 'shop/catalog-v1', callerRequests: 100, callerFailures: 2, retries: 9, ejections: 2 },
  ]);
  assert.deepEqual(rescueLines(input), [
    '  ✓ shop/catalog-v1-flaky-0 answered 30.0 % of its 30 requests with 5xx; callers of shop/catalog-v1 saw 98.0 % success over 100 requests (9 retries, 2 outlier ejections)',
  ]);
  const healthy: DemoInput = { ...input, samples: new Map([...input.samples].filter(([k]) => k !== 'shop/catalog-v1-flaky-0')) };
  assert.deepEqual(rescueLines(healthy), ['  · no replica failed often enough to show retries and ejection']);
});

test('the refused call: 403 is what the AccessPolicy promises; anything else is a failure', () => {
  assert.match(deniedLines(input.denied, 'netns')[0]!, /^ {2}✓ shop\/cart-0 → shop\/catalog: 403 "RBAC: access denied" — the AccessPolicy allows only the frontend$/);
  assert.match(deniedLines(input.denied, 'bind')[0]!, /bind mode: every caller has the outbound proxy's identity/);
  assert.match(deniedLines({ ...input.denied!, status: 200, body: 'items' }, 'netns')[0]!, /✗ .*expected 403 from the AccessPolicy, got 200 items/);
  assert.deepEqual(deniedLines(null, 'netns'), ['  · no refused call was attempted']);
  assert.deepEqual(deniedLines(null, 'bind'), ['  · the AccessPolicy is shown in netns mode only (run as root)']);
});
