// Tests for RunResult construction and the nearest-rank percentile.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from './plan';
import { emptyResult, failedResult, percentile } from './run-result';

test('the pair is recorded as mTLS, every other topology as plain text', () => {
  const plan = buildPlan({ quick: true });
  for (const spec of plan) assert.equal(emptyResult(spec).tls, spec.topology === 'pair' ? 'mtls' : 'none', `${spec.scenario}/${spec.topology}`);
});

test('results carry every field, null until measured; a failure keeps the reason', () => {
  const spec = buildPlan({ quick: true, scenarios: ['xds-convergence'] })[0]!;
  const r = emptyResult(spec, { p99_ms: 12 });
  assert.equal(r.streams, 100);
  assert.equal(r.p99_ms, 12);
  assert.equal(r.mb_per_proxy, null);
  const f = failedResult(spec, 'controller exited');
  assert.deepEqual([f.status, f.error, f.p99_ms], ['failed', 'controller exited', null]);
  assert.deepEqual(Object.keys(f).sort(), Object.keys(r).sort());
});

test('percentile: nearest rank over ascending samples', () => {
  const cases: [number[], number, number][] = [[[1, 2, 3, 4], 50, 2], [[1, 2, 3, 4], 99, 4], [[5], 99, 5], [[], 50, 0], [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9]];
  for (const [xs, p, want] of cases) assert.equal(percentile(xs, p), want, `p${p} of ${xs.join(',')}`);
});
