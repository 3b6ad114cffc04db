// Unit tests for the retry policy: each retry_on token, attempt counting, header merging and back-off bounds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderMatcherConfig, RetryOn, RetryPolicyConfig } from '../../src/config/types';
import {
  backoff,
  decideRetry,
  DEFAULT_RETRY_POLICY,
  mergeRetryHeaders,
  RetryPolicy,
  retryBackoffMs,
  type RetryOutcome,
} from './retry-policy';

function policy(retryOn: RetryOn[], over: Partial<RetryPolicyConfig> = {}): RetryPolicy {
  return new RetryPolicy({ ...DEFAULT_RETRY_POLICY, numRetries: 3, retryOn: new Set(retryOn), ...over });
}

const headerMatcher = (name: string, value: string): HeaderMatcherConfig => ({
  name,
  kind: 'exact',
  value,
  regex: null,
  ignoreCase: false,
  presentMatch: false,
  rangeStart: 0,
  rangeEnd: 0,
  invertMatch: false,
  treatMissingAsEmpty: false,
});

const R = {
  ok: { status: 200 },
  s409: { status: 409 },
  s429: { status: 429 },
  s500: { status: 500 },
  s502: { status: 502 },
  s503: { status: 503 },
  s504: { status: 504 },
  overloaded503: { status: 503, headers: { 'x-envoy-overloaded': 'true' } },
  ratelimited429: { status: 429, headers: { 'x-envoy-ratelimited': 'true' } },
  tagged200: { status: 200, headers: { 'x-retry-me': 'yes' } },
  reset: { reset: true },
  resetBefore: { reset: true, beforeRequestSent: true },
  connect: { connectFailure: true, reset: true },
  refused: { refusedStream: true, reset: true },
  timeout: { status: 504, reset: true, timeout: true },
  grpcUnavailable: { status: 200, headers: { 'grpc-status': '14' } },
  grpcCancelled: { status: 200, grpcStatus: 1 },
  grpcDeadline: { status: 200, headers: { 'grpc-status': '4' } },
  grpcInternal: { status: 200, headers: { 'grpc-status': '13' } },
  grpcExhausted: { status: 200, headers: { 'grpc-status': '8' } },
  grpcOk: { status: 200, headers: { 'grpc-status': '0' } },
} satisfies Record<string, RetryOutcome>;
type Name = keyof typeof R;
const ALL = Object.keys(R) as Name[];

test('each retry_on token retries exactly the outcomes Envoy documents', () => {
  const table: { on: RetryOn; extra?: Partial<RetryPolicyConfig>; retries: Name[] }[] = [
    { on: '5xx', retries: ['s500', 's502', 's503', 's504', 'reset', 'resetBefore', 'connect', 'refused', 'timeout'] },
    { on: 'gateway-error', retries: ['s502', 's503', 's504', 'reset', 'resetBefore', 'connect', 'refused', 'timeout'] },
    { on: 'reset', retries: ['reset', 'resetBefore', 'connect', 'refused', 'timeout'] },
    { on: 'reset-before-request', retries: ['resetBefore', 'connect'] },
    { on: 'connect-failure', retries: ['connect'] },
    { on: 'refused-stream', retries: ['refused'] },
    { on: 'retriable-4xx', retries: ['s409'] },
    { on: 'envoy-ratelimited', retries: ['ratelimited429'] },
    { on: 'retriable-status-codes', extra: { retriableStatusCodes: new Set([429, 503]) }, retries: ['s429', 's503', 'ratelimited429'] },
    { on: 'retriable-headers', extra: { retriableHeaders: [headerMatcher('x-retry-me', 'yes')] }, retries: ['tagged200'] },
    { on: 'http3-post-connect-failure', retries: [] },
    { on: 'cancelled', retries: ['grpcCancelled'] },
    { on: 'deadline-exceeded', retries: ['grpcDeadline'] },
    { on: 'internal', retries: ['grpcInternal'] },
    { on: 'resource-exhausted', retries: ['grpcExhausted'] },
    { on: 'unavailable', retries: ['grpcUnavailable'] },
  ];
  for (const row of table) {
    const p = policy([row.on], row.extra);
    for (const name of ALL) {
      const want = row.retries.includes(name) ? 'retry' : 'no';
      assert.equal(p.shouldRetry(R[name], 1), want, `${row.on} on ${name}`);
    }
  }
});

test('no retry_on means no retries', () => {
  const p = policy([]);
  for (const name of ALL) assert.equal(p.shouldRetry(R[name], 1), 'no', name);
});

test('num_retries bounds the retries: retry while attempt ≤ num_retries, then exhausted', () => {
  const cases = [
    { numRetries: 0, attempt: 1, want: 'exhausted' },
    { numRetries: 1, attempt: 1, want: 'retry' },
    { numRetries: 1, attempt: 2, want: 'exhausted' },
    { numRetries: 3, attempt: 3, want: 'retry' },
    { numRetries: 3, attempt: 4, want: 'exhausted' },
  ] as const;
  for (const c of cases) {
    const p = policy(['5xx'], { numRetries: c.numRetries });
    assert.equal(p.shouldRetry(R.s503, c.attempt), c.want, JSON.stringify(c));
    assert.equal(p.shouldRetry(R.ok, c.attempt), 'no');
  }
});

test('request headers add conditions, codes and header names, and override num_retries', () => {
  const route: RetryPolicyConfig = { ...DEFAULT_RETRY_POLICY, retryOn: new Set<RetryOn>(['connect-failure']), numRetries: 2 };
  assert.equal(mergeRetryHeaders(route, { 'user-agent': 'x' }), route);
  assert.equal(mergeRetryHeaders(null, {}), null);
  assert.equal(mergeRetryHeaders(null, { 'x-envoy-max-retries': '3' }), null, 'max-retries alone enables nothing');

  const merged = mergeRetryHeaders(route, {
    'x-envoy-retry-on': '5xx, retriable-status-codes,bogus,unavailable',
    'x-envoy-retry-grpc-on': 'cancelled,5xx',
    'x-envoy-max-retries': '4',
    'x-envoy-retriable-status-codes': '418,abc',
  })!;
  assert.deepEqual([...merged.retryOn].sort(), ['5xx', 'cancelled', 'connect-failure', 'retriable-status-codes']);
  assert.equal(merged.numRetries, 4);
  assert.deepEqual([...merged.retriableStatusCodes], [418]);
  const p = RetryPolicy.of(merged);
  assert.equal(p.shouldRetry({ status: 418 }, 4), 'retry');
  assert.equal(p.shouldRetry({ status: 418 }, 5), 'exhausted');
  assert.equal(p.shouldRetry(R.grpcCancelled, 1), 'retry');
  assert.equal(p.shouldRetry(R.grpcUnavailable, 1), 'no', 'grpc tokens only count from x-envoy-retry-grpc-on');

  const byName = mergeRetryHeaders(null, { 'x-envoy-retry-on': 'retriable-headers', 'x-envoy-retriable-header-names': 'X-Try-Again' })!;
  assert.equal(byName.numRetries, 1, 'Envoy default of one retry');
  assert.equal(decideRetry(byName, { status: 200, headers: { 'x-try-again': '1' } }, 1), 'retry');
  assert.equal(decideRetry(byName, { status: 200, headers: {} }, 1), 'no');

  // decideRetry merges on the fly.
  assert.equal(decideRetry(route, R.s500, 1, { 'x-envoy-retry-on': '5xx' }), 'retry');
  assert.equal(decideRetry(route, R.s500, 1, {}), 'no');
});

test('RetryPolicy.of caches the compiled policy per config object', () => {
  const cfg = { ...DEFAULT_RETRY_POLICY, retryOn: new Set<RetryOn>(['5xx']) };
  assert.equal(RetryPolicy.of(cfg), RetryPolicy.of(cfg));
});

test('back-off: floor(random × min((2^N − 1) × base, max))', () => {
  const cases = [
    { base: 25, max: 250, n: 1, lo: 0, hi: 24 },
    { base: 25, max: 250, n: 2, lo: 0, hi: 74 },
    { base: 25, max: 250, n: 3, lo: 0, hi: 174 },
    { base: 25, max: 250, n: 4, lo: 0, hi: 249 },
    { base: 25, max: 250, n: 60, lo: 0, hi: 249 },
    { base: 100, max: 150, n: 2, lo: 0, hi: 149 },
  ];
  for (const c of cases) {
    assert.equal(backoff(c.base, c.max, c.n, () => 0), c.lo, JSON.stringify(c));
    assert.equal(backoff(c.base, c.max, c.n, () => 0.999999999), c.hi, JSON.stringify(c));
    for (let i = 0; i < 200; i++) {
      const v = backoff(c.base, c.max, c.n, Math.random);
      assert.ok(Number.isInteger(v) && v >= c.lo && v <= c.hi, `${v} in ${JSON.stringify(c)}`);
    }
  }
  assert.equal(backoff(25, 250, 2, () => 0.5), 37);
  assert.equal(backoff(0, 0, 1, () => 0.5), 0);
  const p = policy(['5xx'], { backOffBaseMs: 10, backOffMaxMs: 1000 });
  assert.equal(p.backoffMs(3, () => 0.5), 35);
  assert.equal(retryBackoffMs(p.config, 3, () => 0.5), 35);
});
