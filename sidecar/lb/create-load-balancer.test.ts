// Tests for createLoadBalancer: priorities and panic end to end, picker immutability, exclude, validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig, LbPolicy } from '../../src/config/types';
import { createLoadBalancer } from './create-load-balancer';
import { seededRandom } from './seeded-random.fixture';
import type { HostSet, LbHost, PickContext } from './types';
import { xxh64 } from './xxhash64';

function cluster(lbPolicy: LbPolicy, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  const base = {
    name: 'backend',
    lbPolicy,
    leastRequest: { choiceCount: 2, activeRequestBias: 1 },
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024 },
    maglev: { tableSize: 65537 },
    healthyPanicThreshold: 50,
    loadAssignment: { clusterName: 'backend', localities: [], overprovisioningFactor: 140 },
  };
  return { ...base, ...overrides } as unknown as ClusterConfig;
}

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

const NO_HASH: PickContext = { hash: null, exclude: null, maxExcludeAttempts: 1 };
const ctx = (hash: bigint | null, exclude: string[] = [], maxExcludeAttempts = 1): PickContext => ({
  hash,
  exclude: new Set(exclude),
  maxExcludeAttempts,
});

function tally(pick: () => LbHost | null, n: number): Map<string, number> {
  const got = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = pick()?.key ?? 'null';
    got.set(key, (got.get(key) ?? 0) + 1);
  }
  return got;
}

const POLICIES: LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'];

test('picks are null before the first update and for an empty host set', () => {
  for (const policy of POLICIES) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(1));
    assert.equal(lb.picker.pick(NO_HASH), null, policy);
    lb.update({ hosts: [], healthy: new Set() });
    assert.equal(lb.picker.pick(ctx(123n)), null, policy);
  }
});

test('every policy balances over the healthy hosts only while health is fine', () => {
  for (const policy of POLICIES) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(2));
    lb.update(hostSet([[10, 8]]));
    const random = seededRandom(3);
    const got = tally(() => lb.picker.pick(ctx(xxh64(`req-${random()}`))), 4000);
    assert.equal(got.size, 8, `${policy}: ${[...got.keys()]}`);
    for (const key of got.keys()) assert.ok(Number(key.split('.')[3]!.split(':')[0]) < 8, `${policy} picked unhealthy ${key}`);
  }
});

test('load spills from P0 to P1 as P0 health drops (50 % healthy → 70/30)', () => {
  for (const policy of ['ROUND_ROBIN', 'RANDOM', 'MAGLEV'] as LbPolicy[]) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(4));
    lb.update(hostSet([[10, 5], [10, 10]]));
    const random = seededRandom(5);
    const got = tally(() => lb.picker.pick(ctx(xxh64(`req-${random()}`))), 10_000);
    let p0 = 0;
    for (const [key, count] of got) {
      if (key.startsWith('10.0.0.')) {
        p0 += count;
        assert.ok(Number(key.split('.')[3]!.split(':')[0]) < 5, `${policy} picked unhealthy ${key}`);
      }
    }
    assert.ok(Math.abs(p0 / 10_000 - 0.7) < 0.02, `${policy}: P0 share ${p0 / 10_000}`);
  }
});

test('panic: 3 of 10 healthy uses all 10 hosts; threshold 0 keeps to the 3', () => {
  for (const [threshold, want] of [[50, 10], [0, 3]] as const) {
    for (const policy of POLICIES) {
      const lb = createLoadBalancer(cluster(policy, { healthyPanicThreshold: threshold }), seededRandom(6));
      lb.update(hostSet([[10, 3]]));
      const random = seededRandom(7);
      const got = tally(() => lb.picker.pick(ctx(xxh64(`req-${random()}`))), 3000);
      assert.equal(got.size, want, `${policy} threshold ${threshold}: ${[...got.keys()]}`);
    }
  }
});

test('panic disabled and nothing healthy: no host', () => {
  const lb = createLoadBalancer(cluster('ROUND_ROBIN', { healthyPanicThreshold: 0 }), seededRandom(1));
  lb.update(hostSet([[4, 0]]));
  assert.equal(lb.picker.pick(NO_HASH), null);
});

test('an update publishes a new picker and leaves the old one answering from its snapshot', () => {
  for (const policy of POLICIES) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(8));
    lb.update(hostSet([[3, 3]]));
    const old = lb.picker;
    const keys = [1n, 2n, 3n, 0xdeadbeefn, 2n ** 63n];
    const before = keys.map((k) => old.pick(ctx(k))?.key);
    lb.update({ hosts: [{ key: '192.168.1.1:80', weight: 1, priority: 0, stats: { activeRequests: 0 } }], healthy: new Set(['192.168.1.1:80']) });
    assert.notEqual(lb.picker, old);
    assert.equal(lb.picker.pick(NO_HASH)!.key, '192.168.1.1:80');
    const got = tally(() => old.pick(NO_HASH), 300);
    assert.deepEqual([...got.keys()].sort(), ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'], policy);
    if (policy === 'RING_HASH' || policy === 'MAGLEV') assert.deepEqual(keys.map((k) => old.pick(ctx(k))?.key), before, policy);
  }
});

test('hash policies: the same hash picks the same host, including the priority choice', () => {
  for (const policy of ['RING_HASH', 'MAGLEV'] as LbPolicy[]) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(9));
    lb.update(hostSet([[10, 5], [10, 10]]));
    for (let k = 0; k < 200; k++) {
      const hash = xxh64(`user-${k}`);
      const first = lb.picker.pick(ctx(hash))!.key;
      for (let i = 0; i < 3; i++) assert.equal(lb.picker.pick(ctx(hash))!.key, first, policy);
    }
  }
});

test('exclude: re-picks avoid excluded hosts up to maxExcludeAttempts, then accept', () => {
  // Round robin over three hosts: at most two re-picks are needed to leave {a, b}.
  const lb = createLoadBalancer(cluster('ROUND_ROBIN'), seededRandom(10));
  lb.update(hostSet([[3, 3]]));
  const excluded = ['10.0.0.0:80', '10.0.0.1:80'];
  for (let i = 0; i < 30; i++) assert.equal(lb.picker.pick(ctx(null, excluded, 2))!.key, '10.0.0.2:80');
  const without = tally(() => lb.picker.pick(ctx(null, excluded, 0)), 30);
  assert.equal(without.size, 3, 'with 0 attempts the exclusion is ignored');
  // Every host excluded: the pick still answers (with the last host chosen).
  const all = ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'];
  for (let i = 0; i < 10; i++) assert.ok(all.includes(lb.picker.pick(ctx(null, all, 3))!.key));
});

test('exclude with hash policies: the re-pick is deterministic and avoids the first host', () => {
  for (const policy of ['RING_HASH', 'MAGLEV'] as LbPolicy[]) {
    const lb = createLoadBalancer(cluster(policy), seededRandom(11));
    lb.update(hostSet([[5, 5]]));
    for (let k = 0; k < 100; k++) {
      const hash = xxh64(`session-${k}`);
      const first = lb.picker.pick(ctx(hash))!.key;
      const retry = lb.picker.pick(ctx(hash, [first], 3))!.key;
      assert.notEqual(retry, first, policy);
      assert.equal(lb.picker.pick(ctx(hash, [first], 3))!.key, retry, policy);
    }
  }
});

test('least request end to end prefers idle hosts', () => {
  const lb = createLoadBalancer(cluster('LEAST_REQUEST'), seededRandom(12));
  const set = hostSet([[4, 4]]);
  set.hosts.forEach((h, i) => (h.stats.activeRequests = i === 0 ? 0 : 20));
  lb.update(set);
  const got = tally(() => lb.picker.pick(NO_HASH), 8000).get('10.0.0.0:80')! / 8000;
  assert.ok(Math.abs(got - (1 - (3 / 4) ** 2)) < 0.03, `idle share ${got}`);
});

test('a missing load assignment means the default overprovisioning factor (140 %)', () => {
  const lb = createLoadBalancer(cluster('RANDOM', { loadAssignment: null }), seededRandom(13));
  lb.update(hostSet([[10, 5], [10, 10]]));
  const got = tally(() => lb.picker.pick(NO_HASH), 10_000);
  let p0 = 0;
  for (const [key, count] of got) if (key.startsWith('10.0.0.')) p0 += count;
  assert.ok(Math.abs(p0 / 10_000 - 0.7) < 0.02, `P0 share ${p0 / 10_000}`);
});
