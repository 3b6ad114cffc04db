import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshRetryDelayMs, freshRetryReason, type FailedAttempt } from './fresh-retry';

const a = (over: Partial<FailedAttempt>): FailedAttempt => ({ code: 'ECONNRESET', method: 'GET', reusedConnection: true, responseBytes: 0, ...over });

test('freshRetryReason: only attempts that provably were not processed', () => {
  const cases: [string, FailedAttempt, string | null][] = [
    ['connect refused, GET', a({ code: 'ECONNREFUSED', reusedConnection: false }), 'connect refused'],
    ['connect refused, POST (nothing was sent)', a({ code: 'ECONNREFUSED', method: 'POST', reusedConnection: false }), 'connect refused'],
    ['reused connection closed before any response byte, GET', a({}), 'reused connection closed'],
    ['the same, HEAD / PUT / DELETE', a({ method: 'HEAD' }), 'reused connection closed'],
    ['the same, POST (not idempotent)', a({ method: 'POST' }), null],
    ['reset on a fresh connection', a({ reusedConnection: false }), null],
    ['reset after response bytes', a({ responseBytes: 17 }), null],
    ['timeout', a({ code: 'ETIMEDOUT' }), null],
    ['other socket error', a({ code: 'EPIPE' }), null],
  ];
  for (const [name, attempt, want] of cases) assert.equal(freshRetryReason(attempt), want, name);
});

test('freshRetryDelayMs: a closed reused connection at once; a refused connect 25 ms doubling to 400 ms, jittered between half and all of it', () => {
  const at = (r: number) => (n: number): number => freshRetryDelayMs('connect refused', n, () => r);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map(at(0.999999)).map(Math.round), [25, 50, 100, 200, 400, 400, 400]);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map(at(0)), [12.5, 25, 50, 100, 200, 200, 200]);
  assert.equal(freshRetryDelayMs('reused connection closed', 3, () => 0.5), 0);
  assert.throws(() => freshRetryDelayMs('connect refused', 0, Math.random), /retry number must be ≥ 1, got 0/);
});
