// Unit tests for the circuit breaker's resource manager.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CircuitBreakerThresholds } from '../../src/config/types';
import { ResourceManager, THRESHOLD_FOR, THRESHOLD_NAMES, type ResourceKind } from './circuit-breaker';

const T: CircuitBreakerThresholds = {
  maxConnections: 2,
  maxPendingRequests: 3,
  maxRequests: 4,
  maxRetries: 1,
  retryBudget: null,
};

test('each kind admits up to its threshold, then overflows; release reopens', () => {
  const cases: { kind: ResourceKind; max: number; threshold: string }[] = [
    { kind: 'connections', max: 2, threshold: 'max_connections' },
    { kind: 'pendingRequests', max: 3, threshold: 'max_pending_requests' },
    { kind: 'requests', max: 4, threshold: 'max_requests' },
    { kind: 'retries', max: 1, threshold: 'max_retries' },
  ];
  for (const c of cases) {
    const rm = new ResourceManager(T);
    for (let i = 0; i < c.max; i++) assert.equal(rm.tryAcquire(c.kind), true, `${c.kind} #${i}`);
    assert.equal(rm.canAcquire(c.kind), false);
    assert.equal(rm.tryAcquire(c.kind), false, `${c.kind} over`);
    assert.equal(rm.tryAcquire(c.kind), false);
    assert.equal(rm.overflows(c.kind), 2);
    assert.equal(THRESHOLD_FOR[c.kind], c.threshold);
    assert.equal(rm.active(c.kind), c.max);
    rm.release(c.kind);
    assert.equal(rm.tryAcquire(c.kind), true, `${c.kind} after release`);
    // Other kinds are independent.
    for (const other of ['connections', 'pendingRequests', 'requests', 'retries'] as const) {
      if (other !== c.kind) assert.equal(rm.active(other), 0);
    }
  }
});

test('release never goes below zero', () => {
  const rm = new ResourceManager(T);
  rm.release('requests');
  assert.equal(rm.requests, 0);
  assert.equal(rm.tryAcquire('requests'), true);
  assert.equal(rm.requests, 1);
});

test('retry budget replaces max_retries and follows active + pending requests', () => {
  const budget: CircuitBreakerThresholds = {
    ...T,
    maxRequests: 1000,
    maxPendingRequests: 1000,
    maxRetries: 0,
    retryBudget: { budgetPercent: 25, minRetryConcurrency: 2 },
  };
  const cases = [
    { requests: 0, pending: 0, max: 2 }, // min_retry_concurrency
    { requests: 8, pending: 0, max: 2 }, // 25 % of 8 = 2
    { requests: 10, pending: 6, max: 4 }, // 25 % of 16
    { requests: 15, pending: 0, max: 3 }, // floor(3.75)
    { requests: 100, pending: 0, max: 25 },
  ];
  for (const c of cases) {
    const rm = new ResourceManager(budget);
    for (let i = 0; i < c.requests; i++) rm.tryAcquire('requests');
    for (let i = 0; i < c.pending; i++) rm.tryAcquire('pendingRequests');
    assert.equal(rm.max('retries'), c.max, JSON.stringify(c));
    for (let i = 0; i < c.max; i++) assert.equal(rm.tryAcquire('retries'), true);
    assert.equal(rm.tryAcquire('retries'), false, JSON.stringify(c));
  }
});

test('snapshot reports remaining and open per threshold', () => {
  const rm = new ResourceManager(T);
  rm.tryAcquire('connections');
  rm.tryAcquire('connections');
  rm.tryAcquire('connections');
  const snap = rm.snapshot();
  assert.deepEqual(
    snap.map((s) => s.threshold),
    THRESHOLD_NAMES,
  );
  const cx = snap[0];
  assert.deepEqual(
    { active: cx.active, max: cx.max, remaining: cx.remaining, open: cx.open, overflows: cx.overflows },
    { active: 2, max: 2, remaining: 0, open: true, overflows: 1 },
  );
  assert.equal(snap[2].remaining, 4);
  assert.equal(snap[2].open, false);
});

test('acquire counts a unit past the threshold without an overflow; canAcquire stays false until enough are released', () => {
  const rm = new ResourceManager(T);
  for (let i = 0; i < 3; i++) rm.acquire('connections');
  assert.equal(rm.active('connections'), 3);
  assert.equal(rm.overflows('connections'), 0);
  assert.equal(rm.canAcquire('connections'), false);
  rm.release('connections');
  assert.equal(rm.canAcquire('connections'), false, '2 of max 2');
  rm.release('connections');
  assert.equal(rm.canAcquire('connections'), true);
  assert.equal(rm.tryAcquire('connections'), true);
  assert.equal(rm.snapshot()[0].open, true);
});
