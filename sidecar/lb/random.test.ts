// Tests for the random policy: uniform, weights ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomChooser } from './random';
import { seededRandom } from './seeded-random.fixture';
import type { LbHost } from './types';

test('random is roughly uniform and ignores weights', () => {
  const hosts: LbHost[] = [1, 10, 100, 1].map((weight, i) => ({ key: `h${i}`, weight, priority: 0, stats: { activeRequests: 0 } }));
  const chooser = new RandomChooser(hosts, seededRandom(3));
  const got = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const key = chooser.choose()!.key;
    got.set(key, (got.get(key) ?? 0) + 1);
  }
  for (const h of hosts) {
    const share = (got.get(h.key) ?? 0) / 20_000;
    assert.ok(Math.abs(share - 0.25) < 0.02, `${h.key}: ${share}`);
  }
});

test('random over no hosts → null', () => {
  assert.equal(new RandomChooser([], seededRandom(1)).choose(), null);
});
