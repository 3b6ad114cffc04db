// Property tests for the retry policy: back-off bounds, attempt counting and header merging on random inputs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RetryOn, RetryPolicyConfig } from '../../src/config/types';
import { backoff, DEFAULT_RETRY_POLICY, mergeRetryHeaders, RetryPolicy, type RetryOutcome } from './retry-policy';

const RETRY_ON: RetryOn[] = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'cancelled', 'deadline-exceeded', 'internal',
  'resource-exhausted', 'unavailable',
];

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

const policyConfig: fc.Arbitrary<RetryPolicyConfig> = fc
  .record({
    retryOn: fc.subarray(RETRY_ON),
    numRetries: fc.nat(10),
    codes: fc.array(fc.integer({ min: 100, max: 599 }), { maxLength: 4 }),
  })
  .map(({ retryOn, numRetries, codes }) => ({ ...DEFAULT_RETRY_POLICY, retryOn: new Set(retryOn), numRetries, retriableStatusCodes: new Set(codes) }));

const outcome: fc.Arbitrary<RetryOutcome> = fc.oneof(
  fc.record({ status: fc.integer({ min: 100, max: 599 }), headers: fc.constantFrom({}, { 'x-envoy-ratelimited': 'true' }, { 'grpc-status': '14' }, { 'x-envoy-overloaded': 'true' }) }),
  fc.record({ reset: fc.constant(true), beforeRequestSent: fc.boolean() }),
  fc.record({ connectFailure: fc.constant(true) }),
  fc.record({ refusedStream: fc.constant(true) }),
  fc.record({ timeout: fc.constant(true) }),
);

test('property: back-off is a whole number of ms in [0, min((2^N − 1) × base, max)), growing with N', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: -3, max: 80 }), unit, (base, max, retry, r) => {
      const n = Math.min(Math.max(retry, 1), 52);
      const upper = Math.min((2 ** n - 1) * base, max);
      const ms = backoff(base, max, retry, () => r);
      assert.ok(Number.isInteger(ms) && ms >= 0, `${ms}`);
      assert.ok(upper === 0 ? ms === 0 : ms < upper, `${ms} ms for retry ${retry}, bound ${upper}`);
      // The same random draw never waits less for a later retry.
      assert.ok(backoff(base, max, retry + 1, () => r) >= ms);
    }),
  );
});

test('property: a retriable outcome is retried exactly num_retries times, then exhausted; others never', () => {
  fc.assert(
    fc.property(policyConfig, outcome, (config, o) => {
      const policy = new RetryPolicy(config);
      const retriable = policy.retriable(o);
      let retries = 0;
      for (let attempt = 1; attempt <= config.numRetries + 2; attempt++) {
        const d = policy.shouldRetry(o, attempt);
        if (!retriable) assert.equal(d, 'no');
        else if (attempt <= config.numRetries) assert.equal(d, 'retry');
        else assert.equal(d, 'exhausted');
        if (d === 'retry') retries++;
      }
      assert.equal(retries, retriable ? config.numRetries : 0);
    }),
  );
});

test('property: an overloaded upstream is never retried, and without retry_on nothing is', () => {
  fc.assert(
    fc.property(policyConfig, fc.integer({ min: 100, max: 599 }), (config, status) => {
      assert.equal(new RetryPolicy(config).retriable({ status, headers: { 'x-envoy-overloaded': 'true' } }), false);
      assert.equal(new RetryPolicy({ ...config, retryOn: new Set() }).retriable({ status, headers: {} }), false);
    }),
  );
});

test('property: retry headers add to the route policy, never take away', () => {
  const token = fc.constantFrom('5xx', 'reset', 'connect-failure', 'retriable-4xx', 'bogus', ' 5xx ', 'Gateway-Error');
  fc.assert(
    fc.property(policyConfig, fc.array(token, { maxLength: 4 }), fc.option(fc.nat(20)), (config, tokens, max) => {
      const headers: Record<string, string> = {};
      if (tokens.length > 0) headers['x-envoy-retry-on'] = tokens.join(',');
      if (max !== null) headers['x-envoy-max-retries'] = String(max);
      const merged = mergeRetryHeaders(config, headers);
      if (Object.keys(headers).length === 0) return assert.equal(merged, config);
      assert.ok(merged !== null);
      for (const t of config.retryOn) assert.ok(merged.retryOn.has(t), `lost ${t}`);
      for (const c of config.retriableStatusCodes) assert.ok(merged.retriableStatusCodes.has(c), `lost ${c}`);
      if (merged !== config && max !== null) assert.equal(merged.numRetries, max);
    }),
  );
});
