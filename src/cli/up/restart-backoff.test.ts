import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_RESET_AFTER_MS, nextRestart } from './restart-backoff';

test('restart back-off: 1 s doubling to 30 s while the container keeps exiting soon', () => {
  let step = 0;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = nextRestart(step, 5_000);
    delays.push(r.delayMs);
    step = r.step;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('restart back-off: a container that ran 10 minutes starts over at 1 s; just under keeps doubling', () => {
  assert.deepEqual(nextRestart(4, BACKOFF_RESET_AFTER_MS), { delayMs: 1000, step: 1 });
  assert.deepEqual(nextRestart(4, BACKOFF_RESET_AFTER_MS - 1), { delayMs: 16_000, step: 5 });
});
