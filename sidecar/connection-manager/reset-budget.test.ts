// Unit tests for the early-reset budget, driven by a fake clock: which reset sequences close a connection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESET_BUDGET, ResetBudget, type ResetBudgetConfig } from './reset-budget';

/** Runs resets at the given times (ms); returns the index of the first refused one, or -1. */
function firstRefused(config: ResetBudgetConfig, times: readonly number[]): number {
  const b = new ResetBudget(config, 0);
  for (let i = 0; i < times.length; i++) if (!b.onEarlyReset(times[i])) return i;
  return -1;
}

const at = (n: number, t: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => t(i));

test('early resets: when the budget runs out', () => {
  const small: ResetBudgetConfig = { burst: 10, refillPerSecond: 2 };
  const cases: { name: string; config: ResetBudgetConfig; times: number[]; refused: number }[] = [
    { name: 'a burst as large as the budget is allowed', config: small, times: at(10, () => 0), refused: -1 },
    { name: 'one more than the burst at once is refused', config: small, times: at(11, () => 0), refused: 10 },
    { name: 'the refill pays for one more after 500 ms', config: small, times: [...at(10, () => 0), 500], refused: -1 },
    { name: 'but not after 499 ms', config: small, times: [...at(10, () => 0), 499], refused: 10 },
    { name: 'a steady rate at the refill rate never runs out', config: small, times: at(1_000, (i) => i * 500), refused: -1 },
    { name: 'a steady rate above it runs out', config: small, times: at(1_000, (i) => i * 400), refused: 46 },
    { name: 'a long pause refills to the burst, not beyond', config: small, times: [...at(10, () => 0), ...at(11, () => 3_600_000)], refused: 20 },
    { name: 'a clock going backwards gives nothing back', config: small, times: [...at(10, () => 5_000), 1_000], refused: 10 },
    { name: 'defaults: 200 at once are allowed', config: DEFAULT_RESET_BUDGET, times: at(200, () => 0), refused: -1 },
    { name: 'defaults: the 201st at once is refused', config: DEFAULT_RESET_BUDGET, times: at(201, () => 0), refused: 200 },
    { name: 'defaults: 20 a second for an hour are allowed', config: DEFAULT_RESET_BUDGET, times: at(72_000, (i) => i * 50), refused: -1 },
    // A rapid-reset client: thousands of resets a second are cut off right after the burst.
    { name: 'defaults: 10,000 a second stop after 200', config: DEFAULT_RESET_BUDGET, times: at(10_000, (i) => i / 10), refused: 200 },
  ];
  for (const c of cases) assert.equal(firstRefused(c.config, c.times), c.refused, c.name);
});

test('the defaults stay inside the HTTP/2 library limiter (1,000 at once, 33 a second)', () => {
  // Whatever the timing, the budget is spent before the library's bucket would be: with the same
  // resets taken from both, ours is the smaller and refills the slower.
  const library = { burst: 1_000, refillPerSecond: 33 };
  assert.ok(DEFAULT_RESET_BUDGET.burst < library.burst);
  assert.ok(DEFAULT_RESET_BUDGET.refillPerSecond < library.refillPerSecond);
  for (const gapMs of [0, 1, 10, 30, 40, 100]) {
    const times = at(20_000, (i) => i * gapMs);
    const ours = firstRefused(DEFAULT_RESET_BUDGET, times);
    const theirs = firstRefused(library, times);
    if (theirs >= 0) assert.ok(ours >= 0 && ours < theirs, `gap ${gapMs} ms: ours ${ours}, library ${theirs}`);
  }
});

test('suspicious while recent resets are not paid back', () => {
  const b = new ResetBudget({ burst: 10, refillPerSecond: 2 }, 0);
  assert.equal(b.suspicious(0), false, 'a fresh connection');
  b.onEarlyReset(100);
  assert.equal(b.suspicious(100), true, 'right after a reset');
  assert.equal(b.suspicious(599), true, 'before the token is back');
  assert.equal(b.suspicious(600), false, 'once it is back');
  assert.equal(b.remaining(600), 10);
  for (let i = 0; i < 4; i++) b.onEarlyReset(1_000);
  assert.equal(b.remaining(1_000), 6);
  assert.equal(b.remaining(2_000), 8);
});
