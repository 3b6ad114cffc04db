// Tests for the local rate limit filter and its token bucket, on a fake clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalRateLimitFilterConfig } from '../../src/config/types';
import { LocalRateLimitFilter, TokenBucket } from './local-ratelimit';
import { fakeContext, routeWith } from './filter-context.fixture';

function config(over: Partial<LocalRateLimitFilterConfig> = {}): LocalRateLimitFilterConfig {
  return {
    kind: 'local_ratelimit',
    name: 'envoy.filters.http.local_ratelimit',
    statPrefix: 'http_local_rate_limiter',
    tokenBucket: { maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 1000 },
    filterEnabled: 1,
    filterEnforced: 1,
    status: 429,
    responseHeadersToAdd: [],
    ...over,
  };
}

test('token bucket: starts full, refills per whole interval, never above max', () => {
  const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 1000 }, 0);
  // [time, expected tryConsume result]
  const steps: [number, boolean][] = [
    [0, true],
    [0, true],
    [0, true],
    [0, false], // burst of 3 spent
    [999, false], // not a whole interval yet
    [1000, true], // +2
    [1500, true],
    [1999, false],
    [2000, true], // +2 at the second tick (not at 2500)
    [10_000, true], // long idle: capped at 3
    [10_000, true],
    [10_000, true],
    [10_000, false],
  ];
  for (const [t, want] of steps) assert.equal(b.tryConsume(t), want, `t=${t}`);
  assert.equal(b.remaining(10_000), 0);
  assert.equal(b.remaining(5_000), 0, 'clock going backwards does not add tokens');
  assert.equal(b.remaining(6_000), 2, 'and refills from the new point');
});

test('filter: 429 after exhaustion, with flag, body and configured headers; refills with time', () => {
  const f = new LocalRateLimitFilter(
    config({ responseHeadersToAdd: [{ name: 'x-local-rate-limit', value: 'true', action: 'overwrite' }] }),
  );
  const ctx = fakeContext({ now: 100 });
  for (let i = 0; i < 3; i++) assert.equal(f.decodeHeaders(ctx).action, 'continue');
  const d = f.decodeHeaders(ctx);
  assert.equal(d.action, 'reply');
  if (d.action === 'reply') {
    assert.equal(d.reply.status, 429);
    assert.equal(d.reply.flag, 'RL');
    assert.equal(d.reply.body, 'local_rate_limited');
    assert.deepEqual(d.reply.headers, { 'x-local-rate-limit': 'true' });
  }
  ctx.clock = 1100;
  assert.equal(f.decodeHeaders(ctx).action, 'continue');
  assert.deepEqual(f.stats, { enabled: 5, ok: 4, rateLimited: 1, enforced: 1 });
});

test('filter_enabled and filter_enforced fractions sample with random', () => {
  const f = new LocalRateLimitFilter(
    config({ tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 }, filterEnabled: 0.5, filterEnforced: 0.2 }),
  );
  // not enabled: no token taken, no enforcement draw
  assert.equal(f.decodeHeaders(fakeContext({ randoms: [0.5] })).action, 'continue');
  // enabled: takes the only token
  assert.equal(f.decodeHeaders(fakeContext({ randoms: [0.49] })).action, 'continue');
  // enabled, empty, not enforced: passes but counted
  assert.equal(f.decodeHeaders(fakeContext({ randoms: [0.1, 0.2] })).action, 'continue');
  // enabled, empty, enforced
  assert.equal(f.decodeHeaders(fakeContext({ randoms: [0.1, 0.19] })).action, 'reply');
  assert.deepEqual(f.stats, { enabled: 3, ok: 1, rateLimited: 2, enforced: 1 });

  const off = new LocalRateLimitFilter(config({ filterEnabled: 0 }));
  for (let i = 0; i < 10; i++) assert.equal(off.decodeHeaders(fakeContext()).action, 'continue');
  const noBucket = new LocalRateLimitFilter(config({ tokenBucket: null }));
  for (let i = 0; i < 10; i++) assert.equal(noBucket.decodeHeaders(fakeContext()).action, 'continue');
});

test('per-route override has its own bucket, created once per route config', () => {
  const f = new LocalRateLimitFilter(config({ tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 } }));
  const override = config({ tokenBucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 }, status: 503 });
  const route = routeWith({ [f.name]: override });
  const other = routeWith({ other: config() });

  assert.equal(f.decodeHeaders(fakeContext({ route })).action, 'continue');
  assert.equal(f.decodeHeaders(fakeContext({ route })).action, 'continue');
  const limited = f.decodeHeaders(fakeContext({ route }));
  assert.equal(limited.action === 'reply' && limited.reply.status, 503);
  // the listener-level bucket is untouched by the route's traffic
  assert.equal(f.decodeHeaders(fakeContext({ route: other })).action, 'continue');
  assert.equal(f.decodeHeaders(fakeContext()).action, 'reply');
  // a second filter instance sees the same route bucket (it belongs to the route)
  const g = new LocalRateLimitFilter(config());
  assert.equal(g.decodeHeaders(fakeContext({ route: routeWith({ [g.name]: override }) })).action, 'reply');
});
