// Tests for the fault injection filter: percentages with scripted random, header gate, max active.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FaultFilterConfig } from '../../src/config/types';
import { FaultFilter } from './fault';
import { fakeContext, routeWith } from './filter-context.fixture';

function config(over: Partial<FaultFilterConfig> = {}): FaultFilterConfig {
  return {
    kind: 'fault',
    name: 'envoy.filters.http.fault',
    delay: null,
    abort: null,
    maxActiveFaults: null,
    headers: [],
    ...over,
  };
}

test('delay and abort percentages', () => {
  const cfg = config({
    delay: { fixedDelayMs: 250, percentage: 0.3 },
    abort: { httpStatus: 503, grpcStatus: null, percentage: 0.1 },
  });
  // [random for delay, random for abort, expected]
  const cases: [number, number, string][] = [
    [0.5, 0.5, 'continue'],
    [0.29, 0.5, 'delay 250'],
    [0.3, 0.5, 'continue'],
    [0.5, 0.09, 'reply 503'],
    [0.1, 0.05, 'reply 503'], // both: abort answered at once
  ];
  const f = new FaultFilter(cfg);
  for (const [rd, ra, want] of cases) {
    const ctx = fakeContext({ randoms: [rd, ra] });
    const d = f.decodeHeaders(ctx);
    const got =
      d.action === 'reply' ? `reply ${d.reply.status}` : d.delayMs !== undefined ? `delay ${d.delayMs}` : 'continue';
    assert.equal(got, want, `${rd}/${ra}`);
    assert.equal(ctx.randoms.length, 0, 'two draws');
    if (d.action === 'reply') {
      assert.equal(d.reply.flag, 'FI');
      assert.equal(d.reply.body, 'fault filter abort');
    }
    f.onDone(ctx);
  }
  assert.deepEqual(f.stats, { delaysInjected: 1, abortsInjected: 2, delaysSkipped: 1, faultsOverflow: 0 });
  assert.equal(f.active, 0);
});

test('gRPC abort: 200 with grpc-status for gRPC requests, http status otherwise', () => {
  const f = new FaultFilter(config({ abort: { httpStatus: 503, grpcStatus: 14, percentage: 1 } }));
  const g = f.decodeHeaders(fakeContext({ headers: { 'content-type': 'application/grpc+proto' } }));
  assert.equal(g.action, 'reply');
  if (g.action === 'reply') {
    assert.equal(g.reply.status, 200);
    assert.equal(g.reply.grpcStatus, 14);
    assert.equal(g.reply.headers?.['grpc-status'], '14');
  }
  const h = f.decodeHeaders(fakeContext({ headers: { 'content-type': 'application/json' } }));
  assert.equal(h.action === 'reply' && h.reply.status, 503);
});

test('header matchers gate the fault', () => {
  const f = new FaultFilter(
    config({
      abort: { httpStatus: 500, grpcStatus: null, percentage: 1 },
      headers: [
        {
          name: 'x-chaos',
          kind: 'exact',
          value: 'on',
          regex: null,
          ignoreCase: false,
          presentMatch: true,
          rangeStart: 0,
          rangeEnd: 0,
          invertMatch: false,
          treatMissingAsEmpty: false,
        },
      ],
    }),
  );
  assert.equal(f.decodeHeaders(fakeContext({ headers: { 'x-chaos': 'on' } })).action, 'reply');
  assert.equal(f.decodeHeaders(fakeContext({ headers: { 'x-chaos': 'off' } })).action, 'continue');
  assert.equal(f.decodeHeaders(fakeContext()).action, 'continue');
});

test('max_active_faults caps faulted requests in flight; onDone releases them', () => {
  const f = new FaultFilter(config({ delay: { fixedDelayMs: 10, percentage: 1 }, maxActiveFaults: 2 }));
  const a = fakeContext();
  const b = fakeContext();
  const c = fakeContext();
  for (const ctx of [a, b]) {
    const d = f.decodeHeaders(ctx);
    assert.equal(d.action === 'continue' && d.delayMs, 10);
  }
  assert.equal(f.active, 2);
  const third = f.decodeHeaders(c);
  assert.equal(third.action === 'continue' && third.delayMs, undefined, 'overflow: not delayed');
  assert.equal(f.stats.faultsOverflow, 1);
  f.onDone(c); // never faulted: no change
  assert.equal(f.active, 2);
  f.onDone(a);
  f.onDone(a); // twice is harmless
  assert.equal(f.active, 1);
  const again = f.decodeHeaders(c);
  assert.equal(again.action === 'continue' && again.delayMs, 10);
});

test('per-route override replaces the config', () => {
  const f = new FaultFilter(config());
  const route = routeWith({ [f.name]: config({ abort: { httpStatus: 418, grpcStatus: null, percentage: 1 } }) });
  assert.equal(f.decodeHeaders(fakeContext()).action, 'continue');
  const d = f.decodeHeaders(fakeContext({ route }));
  assert.equal(d.action === 'reply' && d.reply.status, 418);
});
