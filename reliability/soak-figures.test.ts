import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestRecord } from './load/outcomes';
import { parseSoakDuration, SoakLoad, trendOf, trendProblems, type TrendBounds, type TrendSample } from './soak-figures';

const rec = (at: number, latencyMs: number, status = 200, flag = '', error = ''): RequestRecord => ({ at, latencyMs, lagMs: 0.5, status, flag, error });

test('SoakLoad: counts and failures by reason summed over segments, failure times offset by the segment start, percentiles over all', () => {
  const l = new SoakLoad();
  l.add([rec(0, 1), rec(10, 2), rec(20, 3, 503, 'UC')], 0);
  l.add([rec(5, 4), rec(15, 100, 0, '', 'ECONNRESET')], 59_000);
  assert.equal(l.sent, 5);
  assert.equal(l.ok, 3);
  assert.equal(l.failed, 2);
  assert.deepEqual(l.failedBy, { '503 UC': 1, ECONNRESET: 1 });
  assert.deepEqual(l.firstFailures, [{ atMs: 20, reason: '503 UC' }, { atMs: 59_015, reason: 'ECONNRESET' }]);
  assert.equal(l.percentile(50), 3);
  assert.equal(l.percentile(99), 100);
  assert.equal(new SoakLoad().percentile(50), null);
  assert.throws(() => l.percentile(101), /q must be 0–100/);
});

test('SoakLoad: grows past its first latency buffer without losing any', () => {
  const l = new SoakLoad();
  const records = Array.from({ length: 70_000 }, (_, i) => rec(i, i % 1000));
  l.add(records, 0);
  assert.equal(l.sent, 70_000);
  assert.equal(l.percentile(100), 999);
  assert.equal(l.percentile(0.001), 0);
});

const bounds: TrendBounds = { warmupMs: 100, windowMs: 100, maxRssGrowthPct: 5, maxFdGrowth: 5 };
const s = (atMs: number, rssMb: number | null, fds: number | null, pid = 7): TrendSample => ({ atMs, pid, rssMb, fds });

test('trendOf: baseline is the median of the window after the warm-up, end the median of the last window; warm-up samples do not count', () => {
  const t = trendOf('client/ferry-proxy', [s(0, 50, 10), s(50, 60, 12), s(100, 100, 20), s(150, 102, 22), s(190, 101, 21), s(310, 104, 22), s(350, 103, 23), s(400, 104, 22)], bounds);
  assert.equal(t.baselineRssMb, 101);
  assert.equal(t.endRssMb, 104);
  assert.equal(t.rssGrowthPct, 3);
  assert.equal(t.maxRssMb, 104);
  assert.equal(t.baselineFds, 21);
  assert.equal(t.endFds, 22);
  assert.deepEqual(t.pids, [7]);
  assert.deepEqual(t.rssByWindowMb, [55, 101, null, 103.5, 104], 'one median per window from the start, null where none was sampled');
  assert.deepEqual(trendProblems(t, bounds), []);
});

test('trendProblems: RSS growth at the bound, descriptors past it, a restart and missing windows are each named', () => {
  const grown = trendOf('c', [s(100, 100, 20), s(400, 105, 26)], bounds);
  assert.equal(grown.rssGrowthPct, 5);
  assert.deepEqual(trendProblems(grown, bounds), ['c: RSS grew 5 % (100 → 105 MiB), bound 5 %', 'c: descriptors grew 20 → 26, bound +5']);
  const restarted = trendOf('c', [s(100, 100, 20, 1), s(400, 100, 20, 2)], bounds);
  assert.deepEqual(trendProblems(restarted, bounds), ['c restarted during the soak (pids 1, 2)']);
  const short = trendOf('c', [s(0, 100, 20), s(150, null, null)], bounds);
  assert.match(trendProblems(short, bounds)[0], /no RSS samples in the baseline or end window/);
});

test('parseSoakDuration: h, m, s and sums; anything else refused with the flag', () => {
  assert.equal(parseSoakDuration('duration', '10m'), 600_000);
  assert.equal(parseSoakDuration('duration', '1h30m'), 5_400_000);
  assert.equal(parseSoakDuration('warmup', '90s'), 90_000);
  assert.throws(() => parseSoakDuration('duration', '10'), /flag --duration: "10" is not a duration/);
  assert.throws(() => parseSoakDuration('duration', '0s'), /must be at least 1s/);
});
