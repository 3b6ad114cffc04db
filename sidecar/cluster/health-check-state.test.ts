// Unit tests for the active health check state machine: thresholds, first-check rule, intervals and jitter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HealthCheckConfig } from '../../src/config/types';
import { HealthCheckStateMachine, withJitter, type HealthCheckResult, type HealthTransition } from './health-check-state';

const CONFIG: HealthCheckConfig = {
  timeoutMs: 1000,
  intervalMs: 1000,
  intervalJitterMs: 0,
  intervalJitterPercent: 0,
  initialJitterMs: 0,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  noTrafficIntervalMs: 60_000,
  noTrafficHealthyIntervalMs: 30_000,
  unhealthyIntervalMs: 5000,
  unhealthyEdgeIntervalMs: 200,
  healthyEdgeIntervalMs: 300,
  reuseConnection: true,
  check: { kind: 'tcp', send: null, receive: [] },
};

function run(results: HealthCheckResult[], config = CONFIG) {
  const sm = new HealthCheckStateMachine(config);
  const s = sm.newHost();
  const transitions: HealthTransition[] = results.map((r) => sm.record(s, r));
  return { sm, s, transitions };
}

test('a new host is unhealthy and pending until its first check', () => {
  const sm = new HealthCheckStateMachine(CONFIG);
  const s = sm.newHost();
  assert.equal(s.healthy, false);
  assert.equal(s.pending, true);
});

test('transitions by result sequence', () => {
  const cases: { name: string; seq: HealthCheckResult[]; want: HealthTransition[]; healthy: boolean }[] = [
    { name: 'first pass is healthy at once', seq: ['pass'], want: ['became_healthy'], healthy: true },
    { name: 'first failure confirms unhealthy', seq: ['network_fail'], want: ['confirmed_unhealthy'], healthy: false },
    {
      name: 'network failures need unhealthy_threshold',
      seq: ['pass', 'network_fail', 'timeout', 'network_fail'],
      want: ['became_healthy', 'change_pending', 'change_pending', 'became_unhealthy'],
      healthy: false,
    },
    {
      name: 'a pass resets the failure run',
      seq: ['pass', 'timeout', 'timeout', 'pass', 'timeout', 'timeout'],
      want: ['became_healthy', 'change_pending', 'change_pending', 'unchanged', 'change_pending', 'change_pending'],
      healthy: true,
    },
    { name: 'an active failure is immediate', seq: ['pass', 'fail'], want: ['became_healthy', 'became_unhealthy'], healthy: false },
    {
      name: 'retriable failures count like network ones',
      seq: ['pass', 'retriable_fail', 'retriable_fail', 'retriable_fail'],
      want: ['became_healthy', 'change_pending', 'change_pending', 'became_unhealthy'],
      healthy: false,
    },
    {
      name: 'healthy_threshold passes to come back',
      seq: ['pass', 'fail', 'pass', 'pass', 'pass'],
      want: ['became_healthy', 'became_unhealthy', 'change_pending', 'became_healthy', 'unchanged'],
      healthy: true,
    },
    {
      name: 'a failure resets the pass run',
      seq: ['fail', 'pass', 'fail', 'pass'],
      want: ['confirmed_unhealthy', 'change_pending', 'unchanged', 'change_pending'],
      healthy: false,
    },
  ];
  for (const c of cases) {
    const { s, transitions } = run(c.seq);
    assert.deepEqual(transitions, c.want, c.name);
    assert.equal(s.healthy, c.healthy, c.name);
    assert.equal(s.pending, false);
  }
});

test('the timeout flag is set only while a timed-out host is unhealthy', () => {
  const { s } = run(['pass', 'timeout', 'timeout', 'timeout']);
  assert.equal(s.timedOut, true);
  const { s: s2 } = run(['pass', 'timeout']);
  assert.equal(s2.timedOut, false);
  const { s: s3 } = run(['pass', 'timeout', 'timeout', 'timeout', 'pass', 'pass']);
  assert.equal(s3.timedOut, false);
});

test('next interval by last result, pending change and traffic', () => {
  const cases: { seq: HealthCheckResult[]; traffic: boolean; want: number }[] = [
    { seq: ['pass'], traffic: true, want: 1000 }, // interval
    { seq: ['pass', 'timeout'], traffic: true, want: 200 }, // unhealthy_edge_interval
    { seq: ['pass', 'fail'], traffic: true, want: 5000 }, // unhealthy_interval
    { seq: ['network_fail'], traffic: true, want: 5000 },
    { seq: ['fail', 'pass'], traffic: true, want: 300 }, // healthy_edge_interval
    { seq: ['fail', 'pass', 'pass'], traffic: true, want: 1000 },
    { seq: ['pass'], traffic: false, want: 30_000 }, // no_traffic_healthy_interval
    { seq: ['fail', 'pass'], traffic: false, want: 60_000 }, // still on the way up
    { seq: ['fail'], traffic: false, want: 60_000 }, // no_traffic_interval
  ];
  for (const c of cases) {
    const { sm, s } = run(c.seq);
    assert.equal(sm.nextIntervalMs(s, () => 0.999, c.traffic), c.want, JSON.stringify(c));
  }
});

test('jitter: percent of the base plus a fixed amount, floored, at least 1 ms', () => {
  const cases = [
    { base: 1000, pct: 0, ms: 0, r: 0.5, want: 1000 },
    { base: 1000, pct: 10, ms: 0, r: 0.5, want: 1050 },
    { base: 1000, pct: 10, ms: 0, r: 0.99999, want: 1099 },
    { base: 1000, pct: 0, ms: 40, r: 0.5, want: 1020 },
    { base: 1000, pct: 10, ms: 40, r: 0.5, want: 1070 },
    { base: 0, pct: 0, ms: 0, r: 0.5, want: 1 },
  ];
  for (const c of cases) assert.equal(withJitter(c.base, c.pct, c.ms, () => c.r), c.want, JSON.stringify(c));

  const sm = new HealthCheckStateMachine({ ...CONFIG, intervalJitterPercent: 50, intervalJitterMs: 100 });
  const s = sm.newHost();
  sm.record(s, 'pass');
  for (let i = 0; i < 100; i++) {
    const v = sm.nextIntervalMs(s, Math.random);
    assert.ok(v >= 1000 && v < 1600, String(v));
  }
});

test('initial delay is uniform in [0, initial_jitter)', () => {
  assert.equal(new HealthCheckStateMachine(CONFIG).initialDelayMs(() => 0.7), 0);
  const sm = new HealthCheckStateMachine({ ...CONFIG, initialJitterMs: 500 });
  assert.equal(sm.initialDelayMs(() => 0.5), 250);
  assert.equal(sm.initialDelayMs(() => 0.9999), 499);
});
