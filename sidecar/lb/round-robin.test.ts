// Tests for weighted round robin: exact shares per cycle, rotation for equal weights, random start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinChooser } from './round-robin';
import { seededRandom } from './seeded-random.fixture';
import type { LbHost } from './types';

function hosts(weights: number[]): LbHost[] {
  return weights.map((weight, i) => ({ key: `10.0.0.${i}:80`, weight, priority: 0, stats: { activeRequests: 0 } }));
}

function counts(chooser: RoundRobinChooser, picks: number, n: number): number[] {
  const result = new Array<number>(n).fill(0);
  for (let i = 0; i < picks; i++) result[Number(chooser.choose()!.key.split('.')[3]!.split(':')[0])]!++;
  return result;
}

test('every window of one cycle (W = Σ weights) gives each host exactly its weight', () => {
  const cases = [[1, 2, 3], [5, 1], [1, 1, 8], [3, 3, 1], [2, 3, 5, 7, 11]];
  for (const weights of cases) {
    const total = weights.reduce((a, b) => a + b, 0);
    for (const seed of [1, 2, 3, 99]) {
      const chooser = new RoundRobinChooser(hosts(weights), seededRandom(seed));
      for (let window = 0; window < 5; window++) {
        assert.deepEqual(counts(chooser, total, weights.length), weights, `weights ${weights} seed ${seed} window ${window}`);
      }
      // A window that does not start at a cycle boundary is exact too.
      counts(chooser, 1, weights.length);
      assert.deepEqual(counts(chooser, total, weights.length), weights);
    }
  }
});

test('weights [1,2,3] over 10k picks stay within 1 % of 1/6, 2/6, 3/6', () => {
  const chooser = new RoundRobinChooser(hosts([1, 2, 3]), seededRandom(7));
  const got = counts(chooser, 10_000, 3);
  [1 / 6, 2 / 6, 3 / 6].forEach((share, i) => assert.ok(Math.abs(got[i]! / 10_000 - share) < 0.01, `host ${i}: ${got[i]}`));
});

test('equal weights rotate through the hosts in order', () => {
  const chooser = new RoundRobinChooser(hosts([2, 2, 2, 2]), seededRandom(11));
  const first = chooser.choose()!.key;
  const start = Number(first.split('.')[3]!.split(':')[0]);
  for (let i = 1; i < 12; i++) assert.equal(chooser.choose()!.key, `10.0.0.${(start + i) % 4}:80`);
});

test('the start position depends on the random source', () => {
  for (const weights of [[1, 1, 1, 1, 1, 1, 1, 1], [1, 2, 3, 4]]) {
    const starts = new Set<string>();
    for (let seed = 0; seed < 20; seed++) starts.add(new RoundRobinChooser(hosts(weights), seededRandom(seed)).choose()!.key);
    assert.ok(starts.size >= 3, `only ${starts.size} distinct start hosts for ${weights}`);
  }
});

test('no hosts → null; one host → always it', () => {
  assert.equal(new RoundRobinChooser([], seededRandom(1)).choose(), null);
  const one = new RoundRobinChooser(hosts([3]), seededRandom(1));
  for (let i = 0; i < 3; i++) assert.equal(one.choose()!.key, '10.0.0.0:80');
});
