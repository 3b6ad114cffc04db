// Quantiles from cumulative histogram buckets, the way PromQL's histogram_quantile computes them (pure).

/** One cumulative bucket: how many observations were <= `le` (the last one is le = +Inf). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The q-quantile (0..1) of a histogram given as cumulative buckets, as `histogram_quantile` answers:
 * buckets of equal `le` are summed, counts are forced monotonic, the rank is q × the +Inf count, and the
 * value is interpolated linearly inside the bucket holding the rank (from 0 for the first bucket). A rank
 * in the +Inf bucket answers the largest finite bound. NaN without an +Inf bucket, with fewer than two
 * buckets or with no observations; q < 0 is -Inf and q > 1 is +Inf.
 */
export function histogramQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...input].sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1].le !== Infinity) return NaN;
  // Coalesce equal bounds, then make the counts monotonic (a scrape can catch buckets mid-update).
  const les: number[] = [];
  const counts: number[] = [];
  for (const b of sorted) {
    if (les.length > 0 && les[les.length - 1] === b.le) counts[counts.length - 1] += b.count;
    else {
      les.push(b.le);
      counts.push(b.count);
    }
  }
  for (let i = 1; i < counts.length; i++) if (counts[i] < counts[i - 1]) counts[i] = counts[i - 1];
  if (les.length < 2) return NaN;
  const observations = counts[counts.length - 1];
  if (observations === 0) return NaN;
  let rank = q * observations;
  // The first finite bucket whose count reaches the rank; none of them: the +Inf bucket.
  let b = 0;
  while (b < les.length - 1 && counts[b] < rank) b++;
  if (b === les.length - 1) return les[les.length - 2];
  if (b === 0 && les[0] <= 0) return les[0];
  let start = 0;
  let count = counts[b];
  if (b > 0) {
    start = les[b - 1];
    count -= counts[b - 1];
    rank -= counts[b - 1];
  }
  return start + (les[b] - start) * (rank / count);
}
