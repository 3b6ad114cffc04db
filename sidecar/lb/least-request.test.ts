// Tests for least request: power of N choices with equal weights, active-request bias with unequal weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeastRequestChooser } from './least-request';
import { seededRandom } from './seeded-random.fixture';
import type { LbHost } from './types';

function host(key: string, weight: number, activeRequests: number): LbHost {
  return { key, weight, priority: 0, stats: { activeRequests } };
}

function shares(chooser: LeastRequestChooser, picks: number): Map<string, number> {
  const got = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const key = chooser.choose()!.key;
    got.set(key, (got.get(key) ?? 0) + 1);
  }
  for (const [k, v] of got) got.set(k, v / picks);
  return got;
}

test('equal weights: the least-loaded of N sampled hosts wins', () => {
  // One idle host among three busy ones: it wins whenever it is sampled, i.e. 1 − (3/4)^N.
  const cases = [
    { choiceCount: 2, want: 1 - (3 / 4) ** 2 },
    { choiceCount: 3, want: 1 - (3 / 4) ** 3 },
    { choiceCount: 10, want: 1 - (3 / 4) ** 10 },
  ];
  for (const { choiceCount, want } of cases) {
    const hosts = [host('idle', 1, 0), host('a', 1, 5), host('b', 1, 7), host('c', 1, 9)];
    const chooser = new LeastRequestChooser(hosts, { choiceCount, activeRequestBias: 1 }, seededRandom(choiceCount));
    const got = shares(chooser, 20_000).get('idle') ?? 0;
    assert.ok(Math.abs(got - want) < 0.02, `choice_count ${choiceCount}: idle share ${got}, want ${want}`);
  }
});

test('equal weights: reads live active-request counts on every pick', () => {
  const a = host('a', 1, 0);
  const b = host('b', 1, 0);
  const chooser = new LeastRequestChooser([a, b], { choiceCount: 2, activeRequestBias: 1 }, seededRandom(9));
  b.stats.activeRequests = 50;
  const first = shares(chooser, 4000).get('a')!;
  assert.ok(first > 0.7, `a share ${first}`); // a wins unless both samples are b: 3/4
  a.stats.activeRequests = 100;
  const second = shares(chooser, 4000).get('a') ?? 0;
  assert.ok(second < 0.3, `a share after it got busy ${second}`);
});

test('unequal weights: effective weight = weight / (active + 1)^bias', () => {
  // heavy: weight 2 with 9 active; light: weight 1 idle.
  const cases = [
    { bias: 0, heavyShare: 2 / 3 }, // plain weighted round robin
    { bias: 1, heavyShare: 0.2 / 1.2 }, // 2/10 vs 1/1
    { bias: 0.5, heavyShare: 2 / Math.sqrt(10) / (2 / Math.sqrt(10) + 1) },
  ];
  for (const { bias, heavyShare } of cases) {
    const hosts = [host('heavy', 2, 9), host('light', 1, 0)];
    const chooser = new LeastRequestChooser(hosts, { choiceCount: 2, activeRequestBias: bias }, seededRandom(1));
    const got = shares(chooser, 12_000).get('heavy') ?? 0;
    assert.ok(Math.abs(got - heavyShare) < 0.01, `bias ${bias}: heavy share ${got}, want ${heavyShare}`);
  }
});

test('unequal weights: a host that gets busy is scheduled less often', () => {
  const a = host('a', 2, 0);
  const b = host('b', 1, 0);
  const chooser = new LeastRequestChooser([a, b], { choiceCount: 2, activeRequestBias: 1 }, seededRandom(1));
  assert.ok(Math.abs(shares(chooser, 3000).get('a')! - 2 / 3) < 0.01);
  a.stats.activeRequests = 19; // effective 0.1 vs 1
  shares(chooser, 100); // let a's stale deadline drain
  const got = shares(chooser, 3000).get('a') ?? 0;
  assert.ok(got < 0.15, `a share ${got}`);
});

test('no hosts → null; one host → it', () => {
  const options = { choiceCount: 2, activeRequestBias: 1 };
  assert.equal(new LeastRequestChooser([], options, seededRandom(1)).choose(), null);
  assert.equal(new LeastRequestChooser([host('x', 1, 3)], options, seededRandom(1)).choose()!.key, 'x');
});
