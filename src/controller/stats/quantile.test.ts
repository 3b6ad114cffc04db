// histogram_quantile as Prometheus computes it, against hand-worked answers for one known histogram.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramQuantile, type Bucket } from './quantile';

// 50 observations: 10 ≤ 0.1, 20 in (0.1, 0.5], 10 in (0.5, 1], 10 above 1.
const H: Bucket[] = [
  { le: 0.1, count: 10 },
  { le: 0.5, count: 30 },
  { le: 1, count: 40 },
  { le: Infinity, count: 50 },
];

const cases: { name: string; q: number; buckets: Bucket[]; want: number }[] = [
  // rank 25 lands in (0.1, 0.5]: 0.1 + 0.4 × (25 − 10) / 20
  { name: 'p50 interpolates inside its bucket', q: 0.5, buckets: H, want: 0.4 },
  // rank 10 is exactly the first bucket's count: 0 + 0.1 × 10 / 10
  { name: 'p20 at the first bucket edge', q: 0.2, buckets: H, want: 0.1 },
  // rank 5 in the first bucket interpolates from 0
  { name: 'p10 inside the first bucket, from zero', q: 0.1, buckets: H, want: 0.05 },
  // rank 37.5 in (0.5, 1]: 0.5 + 0.5 × 7.5 / 10
  { name: 'p75', q: 0.75, buckets: H, want: 0.875 },
  // rank 47.5 > 40: the +Inf bucket answers the largest finite bound
  { name: 'p95 in the +Inf bucket is the last finite bound', q: 0.95, buckets: H, want: 1 },
  { name: 'p99 in the +Inf bucket', q: 0.99, buckets: H, want: 1 },
  { name: 'unsorted input is sorted', q: 0.5, buckets: [H[3], H[1], H[0], H[2]], want: 0.4 },
  // equal bounds are summed (two series of one histogram): doubles every count, same quantile
  { name: 'equal bounds coalesce', q: 0.5, buckets: [...H, ...H], want: 0.4 },
  // a count lower than the bucket before it is raised to it
  { name: 'non-monotonic counts are forced monotonic', q: 0.5, buckets: [{ le: 0.1, count: 10 }, { le: 0.5, count: 30 }, { le: 1, count: 25 }, { le: Infinity, count: 50 }], want: 0.4 },
  { name: 'q > 1 is +Inf', q: 1.5, buckets: H, want: Infinity },
  { name: 'q < 0 is -Inf', q: -0.1, buckets: H, want: -Infinity },
  { name: 'no +Inf bucket is NaN', q: 0.5, buckets: H.slice(0, 3), want: NaN },
  { name: 'no observations is NaN', q: 0.5, buckets: H.map((b) => ({ le: b.le, count: 0 })), want: NaN },
  { name: 'only the +Inf bucket is NaN', q: 0.5, buckets: [{ le: Infinity, count: 5 }], want: NaN },
  // a first bucket with a bound ≤ 0 answers that bound
  { name: 'a first bucket at or below zero answers its bound', q: 0.1, buckets: [{ le: 0, count: 10 }, { le: 1, count: 20 }, { le: Infinity, count: 20 }], want: 0 },
  // PromQL's 0/0: q = 0 with an empty first bucket
  { name: 'q = 0 with an empty first bucket is NaN', q: 0, buckets: [{ le: 0.1, count: 0 }, { le: 1, count: 5 }, { le: Infinity, count: 5 }], want: NaN },
];

for (const c of cases) {
  test(`histogramQuantile: ${c.name}`, () => {
    const got = histogramQuantile(c.q, c.buckets);
    if (Number.isNaN(c.want)) assert.ok(Number.isNaN(got), `got ${got}`);
    else if (!Number.isFinite(c.want)) assert.equal(got, c.want);
    else assert.ok(Math.abs(got - c.want) < 1e-12, `q=${c.q}: got ${got}, want ${c.want}`);
  });
}
