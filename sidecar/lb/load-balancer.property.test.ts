// Property tests for the load balancers: what every pick of every policy must satisfy, on random host sets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ClusterConfig, LbPolicy } from '../../src/config/types';
import { createLoadBalancer } from './create-load-balancer';
import { planPriorities } from './priority-set';
import { seededRandom } from './seeded-random.fixture';
import type { HostSet, LbHost, PickContext } from './types';

const POLICIES: LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];

function cluster(lbPolicy: LbPolicy, healthyPanicThreshold: number): ClusterConfig {
  return {
    name: 'backend',
    lbPolicy,
    leastRequest: { choiceCount: 2, activeRequestBias: 1 },
    ringHash: { minimumRingSize: 256, maximumRingSize: 4096 },
    maglev: { tableSize: 1021 },
    healthyPanicThreshold,
    loadAssignment: { clusterName: 'backend', localities: [], overprovisioningFactor: 140 },
  } as unknown as ClusterConfig;
}

interface HostSpec {
  readonly priority: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly active: number;
}

const hostSpecs = fc.array(
  fc.record({ priority: fc.integer({ min: 0, max: 2 }), weight: fc.integer({ min: 1, max: 5 }), healthy: fc.boolean(), active: fc.nat(5) }),
  { minLength: 1, maxLength: 12 },
);

function hostSet(specs: readonly HostSpec[]): HostSet {
  const hosts: LbHost[] = specs.map((s, i) => ({ key: `10.0.${s.priority}.${i}:80`, weight: s.weight, priority: s.priority, stats: { activeRequests: s.active } }));
  return { hosts, healthy: new Set(hosts.filter((_h, i) => specs[i].healthy).map((h) => h.key)) };
}

const hashes = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 20 });
const ctxOf = (hash: bigint | null): PickContext => ({ hash, exclude: null, maxExcludeAttempts: 1 });

test('property: with panic disabled a pick is a healthy host of the set, and null only when none is healthy', () => {
  fc.assert(
    fc.property(fc.constantFrom(...POLICIES), hostSpecs, hashes, fc.integer(), (policy, specs, hs, seed) => {
      const set = hostSet(specs);
      const lb = createLoadBalancer(cluster(policy, 0), seededRandom(seed));
      lb.update(set);
      for (const h of hs) {
        const picked = lb.picker.pick(ctxOf(h));
        if (set.healthy.size === 0) assert.equal(picked, null);
        else assert.ok(picked !== null && set.healthy.has(picked.key), `${policy} picked ${picked?.key ?? 'null'}`);
      }
    }),
  );
});

test('property: with the default panic threshold every pick is a host of the set, never null when the set is not empty', () => {
  fc.assert(
    fc.property(fc.constantFrom(...POLICIES), hostSpecs, hashes, fc.integer(), (policy, specs, hs, seed) => {
      const set = hostSet(specs);
      const lb = createLoadBalancer(cluster(policy, 50), seededRandom(seed));
      lb.update(set);
      const keys = new Set(set.hosts.map((h) => h.key));
      for (const h of hs) {
        const picked = lb.picker.pick(ctxOf(h));
        if (picked === null) {
          // Only a level without healthy hosts outside panic answers "no host".
          const plan = planPriorities(set, 140, 50);
          assert.ok(plan.levels.some((l) => l.load > 0 && l.targets.length === 0), `${policy}: null with targets everywhere`);
        } else assert.ok(keys.has(picked.key));
      }
    }),
  );
});

test('property: priority loads always sum to 100', () => {
  fc.assert(
    fc.property(hostSpecs, fc.integer({ min: 100, max: 200 }), fc.integer({ min: 0, max: 100 }), (specs, overprovisioning, panic) => {
      const plan = planPriorities(hostSet(specs), overprovisioning, panic);
      assert.equal(plan.levels.reduce((s, l) => s + l.load, 0), 100);
      for (const l of plan.levels) assert.ok(l.load >= 0 && l.health >= 0 && l.health <= 100);
    }),
  );
});

test('property: a hash policy sends the same hash to the same host, and a published picker does not change with updates', () => {
  fc.assert(
    fc.property(fc.constantFrom<LbPolicy>('RING_HASH', 'MAGLEV'), hostSpecs, hostSpecs, hashes, fc.integer(), (policy, specs, later, hs, seed) => {
      const lb = createLoadBalancer(cluster(policy, 0), seededRandom(seed));
      lb.update(hostSet(specs));
      const picker = lb.picker;
      const first = hs.map((h) => picker.pick(ctxOf(h))?.key ?? null);
      lb.update(hostSet(later));
      assert.deepEqual(hs.map((h) => picker.pick(ctxOf(h))?.key ?? null), first);
    }),
  );
});

test('property: weighted round robin gives each host exactly its weight in any window of Σ weights picks', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }), fc.integer(), fc.nat(30), (weights, seed, skip) => {
      const specs = weights.map((weight) => ({ priority: 0, weight, healthy: true, active: 0 }));
      const set = hostSet(specs);
      const lb = createLoadBalancer(cluster('ROUND_ROBIN', 50), seededRandom(seed));
      lb.update(set);
      for (let i = 0; i < skip; i++) lb.picker.pick(ctxOf(null));
      const total = weights.reduce((a, b) => a + b, 0);
      const got = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const k = lb.picker.pick(ctxOf(null))!.key;
        got.set(k, (got.get(k) ?? 0) + 1);
      }
      set.hosts.forEach((h, i) => assert.equal(got.get(h.key) ?? 0, weights[i], `${h.key} (weight ${weights[i]})`));
    }),
  );
});

test('property: round robin over two or more healthy hosts never returns the one excluded host', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.integer(), fc.nat(7), fc.integer({ min: 1, max: 20 }), (n, seed, which, picks) => {
      const set = hostSet(Array.from({ length: n }, () => ({ priority: 0, weight: 1, healthy: true, active: 0 })));
      const lb = createLoadBalancer(cluster('ROUND_ROBIN', 50), seededRandom(seed));
      lb.update(set);
      const excluded = set.hosts[which % n].key;
      for (let i = 0; i < picks; i++) {
        assert.notEqual(lb.picker.pick({ hash: null, exclude: new Set([excluded]), maxExcludeAttempts: 1 })?.key, excluded);
      }
    }),
  );
});
