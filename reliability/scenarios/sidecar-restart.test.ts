import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestRecord } from '../load/outcomes';
import { refusedSpan } from './sidecar-restart.scenario';

const rec = (at: number, latencyMs: number, over: Partial<RequestRecord> = {}): RequestRecord => ({ at, latencyMs, lagMs: 0, status: 200, flag: '', error: '', ...over });

test('refusedSpan: from the first request that met a refused connect to the end of the last one; null when none did', () => {
  assert.equal(refusedSpan([rec(0, 5), rec(10, 5, { retries: ['reused connection closed'] })]), null);
  const span = refusedSpan([
    rec(0, 5),
    rec(100, 900, { retries: ['connect refused', 'connect refused'] }), // retried until it was served at 1000
    rec(200, 50, { status: 0, error: 'ECONNREFUSED' }), // refused without a retry (the mode off)
    rec(300, 2000.4, { retries: ['connect refused'], status: 0, error: 'ETIMEDOUT' }),
    rec(400, 5),
  ]);
  assert.deepEqual(span, { fromMs: 100, toMs: 2300 });
});
