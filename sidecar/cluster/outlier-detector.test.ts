// Unit tests for the outlier detector, driven by a fake clock and a scripted random source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutlierDetectionConfig } from '../../src/config/types';
import {
  OutlierDetector,
  OUTCOME_CONNECT_FAILURE,
  OUTCOME_RESET,
  OUTCOME_SUCCESS_LOCAL,
  OUTCOME_TIMEOUT,
  type OutlierEvent,
  type UpstreamOutcome,
} from './outlier-detector';

const DEFAULTS: OutlierDetectionConfig = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  enforcingSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  enforcingFailurePercentage: 0,
  failurePercentageThreshold: 85,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
  maxEjectionTimeJitterMs: 0,
  successfulActiveHealthCheckUnejectHost: true,
};

const http = (status: number): UpstreamOutcome => ({ kind: 'http', status });
const rnd = (v = 0) => () => v;

function detector(over: Partial<OutlierDetectionConfig> = {}, hosts = 10, random = rnd(0)) {
  const d = new OutlierDetector({ ...DEFAULTS, ...over }, random);
  for (let i = 0; i < hosts; i++) d.addHost(`h${i}`);
  return d;
}

function feed(d: OutlierDetector, key: string, outcomes: UpstreamOutcome[], now = 0): OutlierEvent[] {
  const all: OutlierEvent[] = [];
  for (const o of outcomes) all.push(...d.record(key, o, now));
  return all;
}

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

test('consecutive failures: which sequences eject (default config, 10 hosts)', () => {
  const cases: { name: string; seq: UpstreamOutcome[]; ejected: boolean; reason?: string }[] = [
    { name: '5 × 503', seq: times(5, http(503)), ejected: true, reason: 'consecutive_5xx' },
    { name: '4 × 503', seq: times(4, http(503)), ejected: false },
    { name: '4 × 500, 200, 4 × 500', seq: [...times(4, http(500)), http(200), ...times(4, http(500))], ejected: false },
    { name: '5 × connect failure (mapped to 503)', seq: times(5, OUTCOME_CONNECT_FAILURE), ejected: true, reason: 'consecutive_5xx' },
    { name: '5 × timeout (mapped to 504)', seq: times(5, OUTCOME_TIMEOUT), ejected: true, reason: 'consecutive_5xx' },
    { name: 'resets and 500s mix', seq: [OUTCOME_RESET, http(500), OUTCOME_RESET, http(501), OUTCOME_RESET], ejected: true },
    { name: 'local success does not reset the run', seq: [...times(3, http(503)), OUTCOME_SUCCESS_LOCAL, ...times(2, http(503))], ejected: true },
    { name: '4xx resets the run', seq: [...times(4, http(503)), http(404), http(503)], ejected: false },
  ];
  for (const c of cases) {
    const d = detector();
    const events = feed(d, 'h0', c.seq);
    assert.equal(d.isEjected('h0'), c.ejected, c.name);
    if (c.ejected) {
      assert.equal(events.length, 1, c.name);
      assert.equal(events[0].type, 'eject');
      if (c.reason) assert.equal(events[0].reason, c.reason, c.name);
    } else {
      assert.equal(events.length, 0, c.name);
    }
  }
});

test('record returns one shared frozen empty array when nothing happens', () => {
  const d = detector();
  const a = d.record('h0', http(200), 0);
  const b = d.record('h1', http(503), 0);
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
  assert.equal(d.record('unknown', http(503), 0).length, 0);
});

test('gateway failures: counted but not enforced by default; enforced at 100 %', () => {
  const seq = [http(502), http(503), http(504), http(502), http(503)];
  const d = detector({ consecutive5xx: 100 });
  assert.equal(feed(d, 'h0', seq).length, 0);
  assert.equal(d.stats.detected.consecutive_gateway_failure, 1);
  assert.equal(d.stats.enforced.consecutive_gateway_failure, 0);

  const e = detector({ consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 });
  const events = feed(e, 'h0', seq);
  assert.deepEqual(events.map((x) => x.reason), ['consecutive_gateway_failure']);

  // A non-gateway 5xx breaks a gateway run.
  const f = detector({ consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 });
  assert.equal(feed(f, 'h0', [...times(4, http(502)), http(500), http(502)]).length, 0);
});

test('split mode: local-origin failures have their own detector', () => {
  const d = detector({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3 });
  // HTTP 503s count towards 5xx only; connect failures towards local origin only.
  feed(d, 'h0', [OUTCOME_CONNECT_FAILURE, OUTCOME_CONNECT_FAILURE, http(503), http(503)]);
  assert.equal(d.isEjected('h0'), false);
  const ev = feed(d, 'h0', [OUTCOME_TIMEOUT]);
  assert.deepEqual(ev.map((x) => x.reason), ['consecutive_local_origin_failure']);

  const e = detector({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3 });
  feed(e, 'h1', [OUTCOME_RESET, OUTCOME_RESET, OUTCOME_SUCCESS_LOCAL, OUTCOME_RESET, OUTCOME_RESET]);
  assert.equal(e.isEjected('h1'), false, 'a local success resets the local-origin run');
  // Local failures do not count as 5xx in split mode.
  const f = detector({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 100 });
  feed(f, 'h2', times(10, OUTCOME_CONNECT_FAILURE));
  assert.equal(f.isEjected('h2'), false);
});

test('max_ejection_percent: (ejected + 1) / hosts must stay within the limit', () => {
  const cases: { hosts: number; percent: number; failing: number; always?: boolean; expected: number }[] = [
    { hosts: 10, percent: 10, failing: 3, expected: 1 },
    { hosts: 10, percent: 20, failing: 3, expected: 2 },
    { hosts: 5, percent: 10, failing: 2, expected: 0 }, // 1/5 = 20 % > 10 %
    { hosts: 5, percent: 10, failing: 2, always: true, expected: 1 },
    { hosts: 2, percent: 100, failing: 2, expected: 2 },
    { hosts: 4, percent: 0, failing: 1, expected: 0 },
  ];
  for (const c of cases) {
    const d = new OutlierDetector({ ...DEFAULTS, maxEjectionPercent: c.percent }, rnd(0), {
      alwaysEjectOneHost: c.always ?? false,
    });
    for (let i = 0; i < c.hosts; i++) d.addHost(`h${i}`);
    // 500, not 503: a 503 run also trips the (unenforced) gateway detector, which counts its own overflow.
    for (let i = 0; i < c.failing; i++) feed(d, `h${i}`, times(5, http(500)));
    assert.equal(d.stats.ejectionsActive, c.expected, JSON.stringify(c));
    assert.equal(d.stats.ejectionsOverflow, c.failing - c.expected, JSON.stringify(c));
  }
});

test('ejection time grows with each ejection and is capped at max_ejection_time', () => {
  const base = 30_000;
  const d = detector({ baseEjectionTimeMs: base, maxEjectionTimeMs: 90_000, intervalMs: 1_000 });
  const expected = [30_000, 60_000, 90_000, 90_000, 90_000];
  let now = 0;
  for (const want of expected) {
    const ev = feed(d, 'h0', times(5, http(503)), now);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].type === 'eject' && ev[0].durationMs, want);
    const ejectedAt = now;
    // Still out one sweep before the time is up.
    assert.equal(d.evaluate(ejectedAt + want - 1_000).length, 0);
    assert.equal(d.isEjected('h0'), true);
    const back = d.evaluate(ejectedAt + want);
    assert.deepEqual(back, [{ key: 'h0', type: 'uneject', reason: 'timeout' }]);
    now = ejectedAt + want; // fail again right away: no healthy sweep in between
  }
  assert.equal(d.hostStats('h0')!.ejectionCount, expected.length);
});

test('the ejection multiplier decays while the host stays healthy', () => {
  const d = detector({ baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, intervalMs: 10_000 });
  let now = 0;
  feed(d, 'h0', times(5, http(503)), now); // backoff 1
  d.evaluate((now = 30_000)); // back
  feed(d, 'h0', times(5, http(503)), now); // backoff 2 → 60 s
  d.evaluate((now = 90_000)); // back at 90 s
  // Three healthy sweeps, each ≥ interval after the un-ejection: 2 → 0 (floored).
  d.evaluate((now = 100_000));
  d.evaluate((now = 110_000));
  d.evaluate((now = 120_000));
  const ev = feed(d, 'h0', times(5, http(503)), now);
  assert.equal(ev[0].type === 'eject' && ev[0].durationMs, 30_000);
});

test('jitter is added to the ejection time, uniform in [0, max_ejection_time_jitter]', () => {
  const d = detector({ maxEjectionTimeJitterMs: 1_000 }, 10, rnd(0.9999));
  const ev = feed(d, 'h0', times(5, http(503)));
  assert.equal(ev[0].type === 'eject' && ev[0].durationMs, 31_000);
  d.evaluate(30_999);
  assert.equal(d.isEjected('h0'), true);
  d.evaluate(31_000);
  assert.equal(d.isEjected('h0'), false);
});

test('enforcing percentages draw from random', () => {
  const cases = [
    { enforcing: 40, r: 0.39, ejected: true },
    { enforcing: 40, r: 0.4, ejected: false },
    { enforcing: 100, r: 0.999, ejected: true },
    { enforcing: 0, r: 0, ejected: false },
  ];
  for (const c of cases) {
    const d = detector({ enforcingConsecutive5xx: c.enforcing }, 10, rnd(c.r));
    feed(d, 'h0', times(5, http(503)));
    assert.equal(d.isEjected('h0'), c.ejected, JSON.stringify(c));
    assert.equal(d.stats.detected.consecutive_5xx, 1);
  }
});

function fillInterval(d: OutlierDetector, successes: number[], total: number, now: number): void {
  successes.forEach((ok, i) => {
    for (let n = 0; n < total; n++) d.record(`h${i}`, http(n < ok ? 200 : 500), now);
  });
}

test('success rate: a host at 50 % among four at 100 % is ejected at the next sweep', () => {
  // mean 90, stdev 20, threshold 90 − 1.9 × 20 = 52.
  const d = detector({ consecutive5xx: 1000, maxEjectionPercent: 20 }, 5);
  d.evaluate(10_000); // start a clean interval
  fillInterval(d, [100, 100, 100, 100, 50], 100, 15_000);
  const ev = d.evaluate(20_000);
  assert.deepEqual(ev.map((e) => [e.key, e.reason]), [['h4', 'success_rate']]);
  assert.equal(d.successRateAverage(), 90);
  assert.equal(d.successRateEjectionThreshold(), 52);
  assert.equal(d.hostStats('h0')!.successRate, 100);
  assert.equal(d.hostStats('h4')!.successRate, 50);
  assert.equal(d.hostStats('h4')!.ejected, true);
});

test('success rate needs request volume and minimum hosts', () => {
  const cases = [
    { name: 'below request volume', hosts: 5, total: 99, min: 5 },
    { name: 'too few hosts', hosts: 4, total: 100, min: 5 },
  ];
  for (const c of cases) {
    const d = detector({ consecutive5xx: 1000, maxEjectionPercent: 100, successRateMinimumHosts: c.min }, c.hosts);
    d.evaluate(10_000);
    const rates = Array.from({ length: c.hosts }, (_, i) => (i === c.hosts - 1 ? Math.floor(c.total / 2) : c.total));
    fillInterval(d, rates, c.total, 15_000);
    assert.equal(d.evaluate(20_000).length, 0, c.name);
    assert.equal(d.successRateAverage(), -1, c.name);
  }
});

test('failure percentage: ejects hosts at or above the threshold when enforced', () => {
  const d = detector(
    { consecutive5xx: 1000, maxEjectionPercent: 100, enforcingSuccessRate: 0, enforcingFailurePercentage: 100 },
    5,
  );
  d.evaluate(10_000);
  fillInterval(d, [50, 50, 50, 7, 8], 50, 12_000); // h3: 86 % failures, h4: 84 %
  const ev = d.evaluate(20_000);
  assert.deepEqual(ev.map((e) => [e.key, e.reason]), [['h3', 'failure_percentage']]);
});

test('success-rate data of an interval is only judged at the sweep that closes it', () => {
  const d = detector({ consecutive5xx: 1000, maxEjectionPercent: 20 }, 5);
  fillInterval(d, [100, 100, 100, 100, 50], 100, 5_000);
  assert.equal(d.evaluate(10_000).length, 1);
  // The next interval has no traffic: nothing is judged, stats reset.
  assert.equal(d.evaluate(20_000).length, 0);
  assert.equal(d.hostStats('h0')!.successRate, null);
});

test('a passing active health check un-ejects, unless disabled', () => {
  const d = detector();
  feed(d, 'h0', times(5, http(503)), 0);
  assert.deepEqual(d.onActiveHealthCheckPass('h0', 1_000), [{ key: 'h0', type: 'uneject', reason: 'active_health_check' }]);
  assert.equal(d.isEjected('h0'), false);
  assert.equal(d.onActiveHealthCheckPass('h0', 1_000).length, 0);
  // Counters were cleared: four more failures do not eject.
  feed(d, 'h0', times(4, http(503)), 2_000);
  assert.equal(d.isEjected('h0'), false);

  const off = detector({ successfulActiveHealthCheckUnejectHost: false });
  feed(off, 'h0', times(5, http(503)), 0);
  assert.equal(off.onActiveHealthCheckPass('h0', 1_000).length, 0);
  assert.equal(off.isEjected('h0'), true);
});

test('removing an ejected host frees its share of max_ejection_percent', () => {
  const d = detector();
  feed(d, 'h0', times(5, http(503)));
  feed(d, 'h1', times(5, http(503)));
  assert.equal(d.isEjected('h1'), false);
  d.removeHost('h0');
  d.addHost('h0'); // back to 10 hosts
  feed(d, 'h2', times(5, http(503)));
  assert.equal(d.isEjected('h2'), true);
  assert.equal(d.stats.ejectionsActive, 1);
});

test('nextEvaluationAt follows the interval from the start time and each sweep', () => {
  const d = new OutlierDetector(DEFAULTS, rnd(0), { now: 5_000 });
  assert.equal(d.nextEvaluationAt(), 15_000);
  d.evaluate(15_020);
  assert.equal(d.nextEvaluationAt(), 25_020);
});
