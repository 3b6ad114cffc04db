// Tests for grouping a run's failures by reason with their send times and latency.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSpans, failureSpans } from './failure-spans';
import type { RequestRecord } from './outcomes';

const rec = (at: number, status: number, latencyMs: number, flag = '', error = ''): RequestRecord => ({ at, status, latencyMs, lagMs: 0, flag, error });

test('failureSpans: by reason, biggest first, times from the origin; successes ignored', () => {
  const records = [rec(900, 200, 3), rec(1000, 504, 15_000, 'UT'), rec(1500, 504, 15_001, 'UT'), rec(2500, 0, 40, '', 'ECONNRESET'), rec(1200, 504, 14_999, 'UT'), rec(3000, 200, 5000)];
  const spans = failureSpans(records, 1000);
  assert.deepEqual(Object.keys(spans), ['504 UT', 'ECONNRESET']);
  assert.deepEqual(spans['504 UT'], { count: 3, firstSentMs: 0, lastSentMs: 500, p50Ms: 15_000 });
  assert.deepEqual(spans.ECONNRESET, { count: 1, firstSentMs: 1500, lastSentMs: 1500, p50Ms: 40 });
  assert.equal(describeSpans(spans), '504 UT: 3 sent 0.0–0.5 s, p50 15.0 s; ECONNRESET: 1 sent 1.5–1.5 s, p50 0.0 s');
});

test('failureSpans: no failure, nothing to describe', () => {
  assert.deepEqual(failureSpans([rec(0, 200, 1)], 0), {});
  assert.equal(describeSpans({}), 'none');
});
