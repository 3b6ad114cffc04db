// Tests for the rotation schedule (half-life with jitter).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRotationAt } from './rotation';

const H = 3600 * 1000;

test('nextRotationAt is half-life ± 10 % of the lifetime', () => {
  const nb = 1_700_000_000_000;
  const na = nb + 24 * H;
  const cases: Array<[number, number]> = [
    [0, nb + 0.4 * 24 * H],
    [0.5, nb + 12 * H],
    [0.75, nb + 0.55 * 24 * H],
    [0.999999, nb + 0.6 * 24 * H - 1],
  ];
  for (const [r, want] of cases) {
    const at = nextRotationAt(nb, na, () => r);
    assert.ok(Math.abs(at - want) <= 20, `random ${r}: got ${at - nb}, want ${want - nb}`);
  }
});

test('nextRotationAt stays inside the jitter window for any random value', () => {
  const nb = 0;
  const na = 1000 * H;
  let seed = 42;
  const lcg = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const at = nextRotationAt(nb, na, lcg);
    assert.ok(at >= 400 * H && at < 600 * H, `${at}`);
    seen.add(Math.floor(at / H));
  }
  assert.ok(seen.size > 50, 'jitter must spread renewals');
});

test('nextRotationAt honours a custom jitter and rejects bad input', () => {
  assert.equal(nextRotationAt(0, 100, () => 0, 0), 50);
  assert.equal(nextRotationAt(0, 100, () => 0, 0.25), 25);
  assert.throws(() => nextRotationAt(100, 100, () => 0), RangeError);
  assert.throws(() => nextRotationAt(100, 50, () => 0), RangeError);
  assert.throws(() => nextRotationAt(0, 100, () => 0, 0.5), RangeError);
});
