// `ferry demo` (what `make demo` runs) end to end in netns mode: the shop injected, every meshed edge
// mutual TLS with its SPIFFE IDs, the AccessPolicy refusing the cart, retries and ejection set against
// the flaky replica, and nothing left behind.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netnsSkipReason } from '../../sidecar/init/netns.fixture';
import { listByPrefix } from '../../src/os/netns';
import { runDemo, stateDir } from '../e2e-local/ferry-up-process';

test('ferry demo runs the shop as a mesh and shows injection, mTLS and what the metrics counted', { timeout: 150_000 }, async (t) => {
  const why = netnsSkipReason(['iptables', 'iptables-restore', 'setpriv']);
  if (why) {
    process.stdout.write(`ferry demo test skipped: ${why}\n`);
    t.skip(why);
    return;
  }
  const dir = stateDir(t);
  const { code, out } = await runDemo(t, dir, ['--seconds', '15', '--mode', 'netns']);
  assert.equal(code, 0, out);
  assert.match(out, /ferry demo: ready in [\d.]+ s — 8 pods, 7 meshed/);
  assert.match(out, /the frontend answered \d+ requests/);
  assert.match(out, /✓ shop: frontend-0, .*loadgen — injected by the webhook's injector/);
  assert.match(out, /· legacy: ledger-0 — not injected \(namespace legacy has no ferry\.io\/inject label\)/);
  assert.match(out, /✓ shop\/loadgen → shop\/frontend: mutual_tls, \d+ requests\n {6}spiffe:\/\/cluster\.local\/ns\/shop\/sa\/loadgen → spiffe:\/\/cluster\.local\/ns\/shop\/sa\/frontend/);
  assert.match(out, /✓ shop\/cart → shop\/store: mutual_tls, \d+ TCP connections?/);
  assert.match(out, /every meshed edge was mutual TLS \(\d+ edges\)/);
  assert.match(out, /✓ shop\/cart-0 \(identity spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart\) → shop\/catalog: 403 "RBAC: access denied"/);
  assert.match(out, /shop\/catalog-v1-flaky-0 answered [\d.]+ % of its \d+ requests with 5xx; callers of shop\/catalog-v1 saw [\d.]+ % success/);
  assert.doesNotMatch(out, / {2}✗ /);
  assert.match(out, /ferry demo: stopped; removed 8 pods, 8 network namespaces/);
  const n = /bridge ferry-up(\d+)/.exec(out)![1];
  assert.deepEqual(listByPrefix(`ferry-up-${n}-`).namespaces, []);
  assert.deepEqual(listByPrefix(`ferry-up${n}`).links, []);
});
