// Tests for the benchmark plan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan, parseScenarioList, plannedLoadSeconds } from './plan';

test('full plan covers every (scenario, topology, proxy) once, direct first in each scenario', () => {
  const runs = buildPlan({ quick: false });
  const keys = runs.map((r) => `${r.scenario}/${r.topology}/${r.proxy}/${r.streams}`);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(runs.filter((r) => r.scenario === 'latency-1000rps').length, 7); // direct + 2 topologies × 3 proxies
  assert.equal(runs.filter((r) => r.scenario === 'max-rps').length, 7);
  assert.equal(runs.filter((r) => r.scenario === 'tcp-throughput').length, 4);
  assert.deepEqual(runs.filter((r) => r.scenario === 'rss-1000-services').map((r) => r.proxy), ['ferry', 'envoy', 'haproxy']);
  assert.deepEqual(runs.filter((r) => r.scenario === 'xds-convergence').map((r) => [r.topology, r.proxy, r.streams]), [['controller', 'ferry', 100], ['controller', 'ferry', 1000]]);
  assert.deepEqual(runs.filter((r) => r.scenario === 'csr-sign').map((r) => r.topology), ['controller']);
  assert.deepEqual(runs.filter((r) => r.scenario === 'webhook').map((r) => r.topology), ['webhook']);
  assert.deepEqual(runs.filter((r) => r.scenario === 'mesh-stats').map((r) => [r.topology, r.proxy, r.streams, r.changes, r.connections]), [['controller', 'ferry', 500, 20, 16]]);
  assert.equal(runs.length, 7 + 7 + 4 + 3 + 2 + 1 + 1 + 1);
  assert.equal(runs[0]!.proxy, 'direct');
  assert.equal(runs[0]!.topology, 'direct');
});

test('latency scenario is the published setup: 1000 qps, 16 connections, 1 KiB payload', () => {
  const r = buildPlan({ quick: false }).find((x) => x.scenario === 'latency-1000rps')!;
  assert.deepEqual([r.qps, r.connections, r.payloadBytes], [1000, 16, 1024]);
  assert.equal(buildPlan({ quick: false }).find((x) => x.scenario === 'max-rps')!.qps, 0);
});

test('quick mode stays near 3 minutes of load, full mode well under 20', () => {
  const quick = plannedLoadSeconds(buildPlan({ quick: true }));
  assert.ok(quick <= 180, `quick plan is ${quick}s`);
  assert.deepEqual(buildPlan({ quick: true }).filter((r) => r.scenario === 'xds-convergence').map((r) => r.streams), [100]);
  const full = plannedLoadSeconds(buildPlan({ quick: false }));
  assert.ok(full > 300 && full <= 15 * 60, `full plan is ${full}s`);
});

test('proxy filter keeps only the named proxies', () => {
  const runs = buildPlan({ quick: true, proxies: ['direct', 'envoy'] });
  assert.deepEqual([...new Set(runs.map((r) => r.proxy))], ['direct', 'envoy']);
});

test('scenario filter: each scenario runs alone; the control plane needs ferry among the proxies', () => {
  const xds = buildPlan({ quick: true, scenarios: ['xds-convergence'] });
  assert.deepEqual(xds.map((r) => `${r.scenario}/${r.streams}/${r.changes}`), ['xds-convergence/100/8']);
  assert.deepEqual(buildPlan({ quick: false, scenarios: ['webhook', 'csr-sign'] }).map((r) => r.scenario), ['csr-sign', 'webhook']);
  assert.deepEqual(buildPlan({ quick: true, scenarios: ['csr-sign'], proxies: ['envoy'] }), []);
  assert.deepEqual(buildPlan({ quick: false, scenarios: ['xds-convergence'] }).map((r) => [r.streams, r.changes]), [[100, 15], [1000, 5]]);
  assert.deepEqual(buildPlan({ quick: false, scenarios: ['xds-convergence'], xdsStreams: [1000, 300] }).map((r) => [r.streams, r.changes]), [[1000, 5], [300, 5]]);
  const pair = buildPlan({ quick: true, scenarios: ['tcp-throughput'] });
  assert.deepEqual(pair.map((r) => r.topology), ['direct', 'pair', 'pair', 'pair']);
});

test('parseScenarioList names the unknown scenarios', () => {
  assert.deepEqual(parseScenarioList('webhook, csr-sign'), { scenarios: ['webhook', 'csr-sign'] });
  assert.deepEqual(parseScenarioList('webhook,xds,pair'), { unknown: ['xds', 'pair'] });
});

test('a before/after plan runs the baseline build just before the Ferry under test, and only when asked', () => {
  const runs = buildPlan({ quick: true, proxies: ['direct', 'ferry-baseline', 'ferry'], scenarios: ['latency-1000rps', 'tcp-throughput'] });
  assert.deepEqual(runs.map((r) => `${r.scenario}/${r.topology}/${r.proxy}`), [
    'latency-1000rps/direct/direct',
    'latency-1000rps/single/ferry-baseline', 'latency-1000rps/single/ferry',
    'latency-1000rps/pair/ferry-baseline', 'latency-1000rps/pair/ferry',
    'tcp-throughput/direct/direct', 'tcp-throughput/pair/ferry-baseline', 'tcp-throughput/pair/ferry',
  ]);
  assert.equal(buildPlan({ quick: true }).some((r) => r.proxy === 'ferry-baseline'), false);
});
