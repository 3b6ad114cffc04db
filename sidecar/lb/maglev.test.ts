// Tests for Maglev: stickiness, minimal disruption, even and weighted tables, re-picks, prime table size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaglevChooser } from './maglev';
import { seededRandom } from './seeded-random.fixture';
import type { LbHost } from './types';
import { xxh64Into } from './xxhash64';

function hosts(weights: number[]): LbHost[] {
  return weights.map((weight, i) => ({ key: `10.0.0.${i + 1}:8080`, weight, priority: 0, stats: { activeRequests: 0 } }));
}

function assign(chooser: MaglevChooser, n: number, attempt = 0): string[] {
  const digest = new Uint32Array(2);
  const result: string[] = [];
  for (let k = 0; k < n; k++) {
    xxh64Into(`key-${k}`, 0, digest);
    result.push(chooser.choose(true, digest[0]!, digest[1]!, attempt)!.key);
  }
  return result;
}

/** Slots per host: hash (0, slot) maps to slot itself. */
function slots(chooser: MaglevChooser, size: number): Map<string, number> {
  const got = new Map<string, number>();
  for (let s = 0; s < size; s++) {
    const key = chooser.choose(true, 0, s, 0)!.key;
    got.set(key, (got.get(key) ?? 0) + 1);
  }
  return got;
}

test('the same hash always lands on the same host, across rebuilds', () => {
  const a = new MaglevChooser(hosts([1, 1, 1, 1, 1]), 65537, seededRandom(1));
  const b = new MaglevChooser(hosts([1, 1, 1, 1, 1]), 65537, seededRandom(2));
  assert.deepEqual(assign(a, 2000), assign(a, 2000));
  assert.deepEqual(assign(a, 2000), assign(b, 2000));
});

test('removing one of 5 hosts moves ≈ 1/5 of the keys', () => {
  const all = hosts([1, 1, 1, 1, 1]);
  const before = assign(new MaglevChooser(all, 65537, seededRandom(1)), 10_000);
  for (const removed of [0, 2, 4]) {
    const after = assign(new MaglevChooser(all.filter((_, i) => i !== removed), 65537, seededRandom(1)), 10_000);
    const moved = before.filter((k, i) => k !== after[i]).length;
    assert.ok(moved / before.length < 0.3, `removed ${removed}: ${moved} moved`);
    assert.ok(moved / before.length > 0.15, `removed ${removed}: ${moved} moved`);
  }
});

test('equal weights split the table within one slot', () => {
  for (const [n, size] of [[3, 65537], [7, 251], [10, 65537]] as const) {
    const got = slots(new MaglevChooser(hosts(new Array<number>(n).fill(1)), size, seededRandom(1)), size);
    const counts = [...got.values()];
    assert.equal(counts.length, n);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `n ${n} size ${size}: ${counts}`);
  }
});

test('weights change a host’s share of the table', () => {
  const cases = [
    { weights: [3, 1, 1, 1, 1], share: 3 / 7 },
    { weights: [1, 4], share: 1 / 5 },
    { weights: [2, 2, 1], share: 2 / 5 },
  ];
  for (const { weights, share } of cases) {
    const got = slots(new MaglevChooser(hosts(weights), 65537, seededRandom(1)), 65537).get('10.0.0.1:8080')! / 65537;
    assert.ok(Math.abs(got - share) < 0.005, `weights ${weights}: share ${got}, want ${share}`);
  }
});

test('a re-pick looks up a mutated hash; without a hash the choice is random', () => {
  const chooser = new MaglevChooser(hosts([1, 1, 1, 1]), 65537, seededRandom(3));
  const first = assign(chooser, 1000, 0);
  const second = assign(chooser, 1000, 1);
  const differ = first.filter((k, i) => k !== second[i]).length;
  assert.ok(differ > 600, `only ${differ} re-picks changed host`); // ≈ 3/4 expected
  assert.deepEqual(assign(chooser, 1000, 1), second);
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(chooser.choose(false, 0, 0, 0)!.key);
  assert.equal(seen.size, 4);
});

