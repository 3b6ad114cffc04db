// Tests for the benchmark plan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, plannedLoadSeconds } from './plan';

test('full plan covers every (scenario, topology, proxy) once, direct first in each scenario', () => {
  const runs = buildPlan({ quick: false });
  const keys = runs.map((r) => `${r.scenario}/${r.topology}/${r.proxy}`);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(runs.filter((r) => r.scenario === 'latency-1000rps').length, 7); // direct + 2 topologies × 3 proxies
  assert.equal(runs.filter((r) => r.scenario === 'max-rps').length, 7);
  assert.equal(runs.filter((r) => r.scenario === 'tcp-throughput').length, 4);
  assert.deepEqual(runs.filter((r) => r.scenario === 'rss-1000-services').map((r) => r.proxy), ['ferry', 'envoy', 'haproxy']);
  assert.equal(runs[0]!.proxy, 'direct');
  assert.equal(runs[0]!.topology, 'direct');
});

test('latency scenario is the published setup: 1000 qps, 16 connections, 1 KiB payload', () => {
  const r = buildPlan({ quick: false }).find((x) => x.scenario === 'latency-1000rps')!;
  assert.deepEqual([r.qps, r.connections, r.payloadBytes], [1000, 16, 1024]);
  assert.equal(buildPlan({ quick: false }).find((x) => x.scenario === 'max-rps')!.qps, 0);
});

test('quick mode stays near 3 minutes of load, full mode well under 20', () => {
  assert.ok(plannedLoadSeconds(buildPlan({ quick: true })) <= 150);
  const full = plannedLoadSeconds(buildPlan({ quick: false }));
  assert.ok(full > 300 && full <= 15 * 60, `full plan is ${full}s`);
});

test('proxy filter keeps only the named proxies', () => {
  const runs = buildPlan({ quick: true, proxies: ['direct', 'envoy'] });
  assert.deepEqual([...new Set(runs.map((r) => r.proxy))], ['direct', 'envoy']);
});
