// Property tests for the outlier detector: random outcome histories on a fake clock, checked against its contract.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { OutlierDetectionConfig } from '../../src/config/types';
import { seededRandom } from '../lb/seeded-random.fixture';
import { OUTCOME_CONNECT_FAILURE, OUTCOME_RESET, OUTCOME_SUCCESS_LOCAL, OUTCOME_TIMEOUT, OutlierDetector, type UpstreamOutcome } from './outlier-detector';

const config = fc.record({
  consecutive5xx: fc.integer({ min: 1, max: 5 }),
  consecutiveGatewayFailure: fc.integer({ min: 1, max: 5 }),
  consecutiveLocalOriginFailure: fc.integer({ min: 1, max: 5 }),
  intervalMs: fc.integer({ min: 100, max: 10_000 }),
  baseEjectionTimeMs: fc.integer({ min: 100, max: 30_000 }),
  maxEjectionTimeMs: fc.integer({ min: 100, max: 300_000 }),
  maxEjectionPercent: fc.integer({ min: 0, max: 100 }),
  enforcingConsecutive5xx: fc.constantFrom(0, 50, 100),
  enforcingConsecutiveGatewayFailure: fc.constantFrom(0, 100),
  enforcingConsecutiveLocalOriginFailure: fc.constantFrom(0, 100),
  enforcingSuccessRate: fc.constantFrom(0, 100),
  successRateMinimumHosts: fc.integer({ min: 1, max: 5 }),
  successRateRequestVolume: fc.integer({ min: 1, max: 20 }),
  successRateStdevFactor: fc.constantFrom(500, 1900),
  enforcingFailurePercentage: fc.constantFrom(0, 100),
  failurePercentageThreshold: fc.integer({ min: 0, max: 100 }),
  failurePercentageMinimumHosts: fc.integer({ min: 1, max: 5 }),
  failurePercentageRequestVolume: fc.integer({ min: 1, max: 20 }),
  splitExternalLocalOriginErrors: fc.boolean(),
  maxEjectionTimeJitterMs: fc.constantFrom(0, 1_000),
  successfulActiveHealthCheckUnejectHost: fc.boolean(),
}) as fc.Arbitrary<OutlierDetectionConfig>;

const outcome: fc.Arbitrary<UpstreamOutcome> = fc.oneof(
  fc.constantFrom(200, 404, 500, 502, 503, 504).map((status): UpstreamOutcome => ({ kind: 'http', status })),
  fc.constantFrom(OUTCOME_CONNECT_FAILURE, OUTCOME_TIMEOUT, OUTCOME_RESET, OUTCOME_SUCCESS_LOCAL),
);

/** One step: an outcome on a host after some time, or an active health check pass. */
const step = fc.record({ host: fc.nat(9), advanceMs: fc.nat(5_000), outcome, healthCheck: fc.boolean() });

test('property: ejections keep to their contract over any history of outcomes', () => {
  fc.assert(
    fc.property(config, fc.integer({ min: 1, max: 10 }), fc.array(step, { maxLength: 300 }), fc.integer(), (cfg, hostCount, steps, seed) => {
      const d = new OutlierDetector(cfg, seededRandom(seed));
      const hosts = Array.from({ length: hostCount }, (_v, i) => `h${i}`);
      for (const h of hosts) d.addHost(h);
      const ejectedAt = new Map<string, { at: number; durationMs: number }>();
      const base = cfg.baseEjectionTimeMs;
      const longest = Math.max(cfg.maxEjectionTimeMs, base) + cfg.maxEjectionTimeJitterMs;
      let now = 0;
      // `at`: when the events happened (a sweep's time, or the outcome's).
      const apply = (events: readonly { key: string; type: string; reason: string; durationMs?: number }[], at: number) => {
        for (const e of events) {
          if (e.type === 'eject') {
            assert.ok(!ejectedAt.has(e.key), `${e.key} ejected twice`);
            assert.ok(e.durationMs! >= Math.min(base, longest) && e.durationMs! <= longest, `ejection of ${e.durationMs} ms`);
            ejectedAt.set(e.key, { at, durationMs: e.durationMs! });
            // Ejection is allowed while (ejected + 1) / hosts ≤ max_ejection_percent.
            assert.ok((100 * ejectedAt.size) / hostCount <= cfg.maxEjectionPercent, `${ejectedAt.size}/${hostCount} ejected, max ${cfg.maxEjectionPercent}%`);
          } else {
            const was = ejectedAt.get(e.key);
            assert.ok(was, `${e.key} un-ejected while not ejected`);
            if (e.reason === 'timeout') assert.ok(at - was.at >= was.durationMs, `${e.key} back after ${at - was.at} of ${was.durationMs} ms`);
            ejectedAt.delete(e.key);
          }
        }
        for (const h of hosts) assert.equal(d.isEjected(h), ejectedAt.has(h), h);
        assert.equal(d.stats.ejectionsActive, ejectedAt.size);
      };
      for (const s of steps) {
        now += s.advanceMs;
        while (d.nextEvaluationAt() <= now) {
          const t = d.nextEvaluationAt();
          apply(d.evaluate(t), t);
        }
        const key = hosts[s.host % hostCount];
        apply(s.healthCheck ? d.onActiveHealthCheckPass(key, now) : d.record(key, s.outcome, now), now);
      }
      // With no more failures, every host is back by then: a sweep may still eject on the last
      // interval's outcomes, the ejection lasts at most `longest`, and the sweep after it lifts it.
      const end = now + cfg.intervalMs + longest + cfg.intervalMs;
      while (d.nextEvaluationAt() <= end) {
        now = d.nextEvaluationAt();
        apply(d.evaluate(now), now);
      }
      assert.equal(ejectedAt.size, 0, `still ejected: ${[...ejectedAt.keys()].join(', ')}`);
    }),
    { numRuns: 200 },
  );
});

test('property: a host that only succeeds is never ejected', () => {
  fc.assert(
    fc.property(config, fc.array(fc.nat(5_000), { maxLength: 200 }), fc.integer(), (c, gaps, seed) => {
      // A failure-percentage threshold of 0 ejects even a perfect host (failure % ≥ threshold, as in Envoy).
      const cfg = { ...c, failurePercentageThreshold: Math.max(1, c.failurePercentageThreshold) };
      const d = new OutlierDetector(cfg, seededRandom(seed));
      d.addHost('good');
      d.addHost('other');
      let now = 0;
      for (const gap of gaps) {
        now += gap;
        while (d.nextEvaluationAt() <= now) d.evaluate(d.nextEvaluationAt());
        d.record('good', { kind: 'http', status: 200 }, now);
        d.record('good', OUTCOME_SUCCESS_LOCAL, now);
        assert.equal(d.isEjected('good'), false);
      }
    }),
  );
});
