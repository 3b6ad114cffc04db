// `ferry demo` without network namespaces (what `make demo` runs without root): bind mode, said so, the
// AccessPolicy left out, every meshed edge mutual TLS, the stat table, and a clean stop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDemo, stateDir } from './ferry-up-process';

test('ferry demo --mode bind runs the shop on loopback and reports the mesh', { timeout: 120_000 }, async (t) => {
  const dir = stateDir(t);
  const { code, out } = await runDemo(t, dir, ['--seconds', '10', '--mode', 'bind']);
  assert.equal(code, 0, out);
  assert.match(out, /ferry demo: bind mode — no capture/);
  assert.match(out, /bind mode leaves the AccessPolicy out/);
  assert.match(out, /the frontend answered \d+ requests, (9\d|100)\.\d % with 200/);
  assert.match(out, /✓ shop: .* — injected by the webhook's injector \(ferry-proxy sidecar; bind mode runs no capture rules\)/);
  assert.match(out, /every meshed edge was mutual TLS \(\d+ edges\)/);
  assert.match(out, /NAMESPACE +NAME +MESHED +SUCCESS +RPS/);
  assert.match(out, / {2}shop +frontend +1\/1 +100\.00%/);
  assert.match(out, /ferry demo: stopped; removed 8 pods, 0 network namespaces/);
});
