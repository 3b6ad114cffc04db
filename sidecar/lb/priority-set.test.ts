// Tests for the priority plan: spill-over with overprovisioning, normalization, panic and total panic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planPriorities } from './priority-set';
import type { HostSet, LbHost } from './types';

/** levels[p] = [total, healthy] hosts at priority p. */
function hostSet(levels: [number, number][]): HostSet {
  const hosts: LbHost[] = [];
  const healthy = new Set<string>();
  levels.forEach(([total, good], priority) => {
    for (let i = 0; i < total; i++) {
      const key = `10.0.${priority}.${i}:80`;
      hosts.push({ key, weight: 1, priority, stats: { activeRequests: 0 } });
      if (i < good) healthy.add(key);
    }
  });
  return { hosts, healthy };
}

const cases: {
  name: string;
  levels: [number, number][];
  overprovisioning?: number;
  threshold?: number;
  health: number[];
  load: number[];
  panic: boolean[];
  totalPanic?: boolean;
}[] = [
  { name: 'all healthy: P0 takes everything', levels: [[10, 10], [10, 10]], health: [100, 100], load: [100, 0], panic: [false, false] },
  { name: '80 % healthy is still fully healthy', levels: [[10, 8], [10, 10]], health: [100, 100], load: [100, 0], panic: [false, false] },
  { name: '70 % healthy spills 2 %', levels: [[10, 7], [10, 10]], health: [98, 100], load: [98, 2], panic: [false, false] },
  { name: '50 % healthy spills 30 %', levels: [[10, 5], [10, 10]], health: [70, 100], load: [70, 30], panic: [false, false] },
  { name: 'P0 down: all to P1, no panic while P1 covers', levels: [[10, 0], [10, 10]], health: [0, 100], load: [0, 100], panic: [false, false] },
  { name: 'spill over three levels', levels: [[10, 3], [10, 2], [10, 10]], health: [42, 28, 100], load: [42, 28, 30], panic: [false, false, false] },
  { name: 'overprovisioning 100 %', levels: [[10, 8], [10, 10]], overprovisioning: 100, health: [80, 100], load: [80, 20], panic: [false, false] },
  {
    name: 'total health < 100 scales loads; only the weak level panics; remainder to P0',
    levels: [[20, 1], [20, 13]],
    health: [7, 91],
    load: [8, 92],
    panic: [true, false],
  },
  {
    name: 'every level in panic: load by host count',
    levels: [[4, 1], [8, 2]],
    health: [35, 35],
    load: [34, 66],
    panic: [true, true],
    totalPanic: true,
  },
  { name: 'one level, 3 of 10 healthy: panic', levels: [[10, 3]], health: [42], load: [100], panic: [true], totalPanic: true },
  { name: 'one level, 3 of 10 healthy, threshold 0: no panic', levels: [[10, 3]], threshold: 0, health: [42], load: [100], panic: [false] },
  { name: 'one level, 7 of 10 healthy: above threshold', levels: [[10, 7]], health: [98], load: [100], panic: [false] },
  { name: 'threshold 80: 7 of 10 healthy panics', levels: [[10, 7]], threshold: 80, health: [98], load: [100], panic: [true], totalPanic: true },
  { name: 'nothing healthy, threshold 0: P0 gets the load, no panic', levels: [[5, 0], [5, 0]], threshold: 0, health: [0, 0], load: [100, 0], panic: [false, false] },
  { name: 'nothing healthy: total panic by host count', levels: [[2, 0], [6, 0]], health: [0, 0], load: [25, 75], panic: [true, true], totalPanic: true },
  { name: 'empty priority 0 counts as an empty level', levels: [[0, 0], [4, 4]], health: [0, 100], load: [0, 100], panic: [false, false] },
  { name: 'no hosts at all', levels: [], health: [0], load: [100], panic: [true], totalPanic: true },
];

for (const c of cases) {
  test(`priority plan: ${c.name}`, () => {
    const plan = planPriorities(hostSet(c.levels), c.overprovisioning ?? 140, c.threshold ?? 50);
    assert.deepEqual(plan.levels.map((l) => l.health), c.health, 'health');
    assert.deepEqual(plan.levels.map((l) => l.load), c.load, 'load');
    assert.deepEqual(plan.levels.map((l) => l.panic), c.panic, 'panic');
    assert.equal(plan.totalPanic, c.totalPanic ?? false, 'totalPanic');
    assert.equal(plan.levels.reduce((sum, l) => sum + l.load, 0), 100);
    plan.levels.forEach((l, p) => {
      assert.equal(l.priority, p);
      assert.equal(l.targets.length, l.panic ? (c.levels[p]?.[0] ?? 0) : (c.levels[p]?.[1] ?? 0), `targets of P${p}`);
    });
  });
}

test('priority plan: targets are the healthy hosts themselves', () => {
  const set = hostSet([[4, 3]]);
  const plan = planPriorities(set, 140, 50);
  assert.deepEqual(plan.levels[0]!.targets.map((h) => h.key), ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80']);
});
