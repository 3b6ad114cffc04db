import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureReason, isOk, percentile, recoveryTime, summarize, type RequestRecord } from './outcomes';

const ok = (at: number, latencyMs = 2): RequestRecord => ({ at, latencyMs, lagMs: 0, status: 200, flag: '', error: '' });
const bad = (at: number, status: number, flag = '', error = '', latencyMs = 3): RequestRecord => ({ at, latencyMs, lagMs: at === 40 ? 1.5 : 0, status, flag, error });

test('percentile: nearest rank over unsorted values; null for none; q outside 0–100 refused', () => {
  const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(v, 50), 5);
  assert.equal(percentile(v, 99), 10);
  assert.equal(percentile(v, 0), 1);
  assert.equal(percentile(v, 100), 10);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), null);
  assert.throws(() => percentile(v, 101), /q must be 0–100, got 101/);
  assert.throws(() => percentile(v, Number.NaN), /q must be 0–100/);
});

test('failureReason: status with its response flag, status alone, or the socket error', () => {
  assert.equal(failureReason(bad(0, 503, 'UF')), '503 UF');
  assert.equal(failureReason(bad(0, 500)), '500');
  assert.equal(failureReason(bad(0, 0, '', 'ECONNRESET')), 'ECONNRESET');
  assert.equal(failureReason(bad(0, 0)), 'no response');
});

test('isOk and failureReason for gRPC calls and opaque TCP exchanges', () => {
  const call = (status: number, grpcStatus: number, flag = ''): RequestRecord => ({ ...bad(0, status, flag), grpcStatus });
  assert.equal(isOk(call(200, 0)), true);
  assert.equal(isOk(call(0, 0)), true);
  // A 200 whose trailers say UNAVAILABLE is a failed call.
  assert.equal(isOk(call(200, 14)), false);
  assert.equal(failureReason(call(200, 14, 'UF')), 'grpc-status 14 (200) UF');
  assert.equal(failureReason(call(0, 4)), 'grpc-status 4');
  assert.equal(isOk({ ...bad(0, 0), echoed: true }), true);
  assert.equal(isOk(bad(0, 0, '', 'EMISMATCH')), false);
  assert.equal(failureReason(bad(0, 0, '', 'EMISMATCH')), 'EMISMATCH');
});

test('summarize: sent, ok, failures by reason; fault-window percentiles only over requests sent in it', () => {
  const records = [ok(0, 1), ok(10, 1), bad(20, 503, 'UF', '', 50), ok(30, 40), bad(40, 0, '', 'ECONNRESET', 60), ok(50, 1), bad(60, 503, 'UF', '', 2), ok(70, 1), ok(2000, 2)];
  const f = summarize(records, { startMs: 20, endMs: 40 });
  assert.equal(f.sent, 9);
  assert.equal(f.ok, 6);
  assert.equal(f.failed, 3);
  assert.deepEqual(f.failedBy, { '503 UF': 2, ECONNRESET: 1 });
  assert.equal(f.faultP50Ms, 50); // 40, 50, 60
  assert.equal(f.faultP99Ms, 60);
  assert.equal(f.p50Ms, 2); // 1 1 1 1 2 2 40 50 60
  assert.equal(f.maxSendLagMs, 1.5);
  assert.equal(f.recoveryMs, 100 - 20); // the last failure to end (sent at 40, 60 ms) ended at 100
});

test('summarize: a 4xx and a 3xx count as failed (only 2xx is ok); a window ending before it starts is refused', () => {
  const f = summarize([ok(0), bad(1, 404), bad(2, 302)], { startMs: 0, endMs: 5 });
  assert.equal(f.failed, 2);
  assert.deepEqual(f.failedBy, { '404': 1, '302': 1 });
  assert.throws(() => summarize([], { startMs: 10, endMs: 5 }), /endMs 5 is before startMs 10/);
});

test('recoveryTime: 0 without failures after the fault start; failures before it do not count; null if the run ends failing', () => {
  assert.equal(recoveryTime([ok(0), ok(1000)], 0), 0);
  assert.equal(recoveryTime([bad(0, 503), ok(1000), ok(5000)], 500), 0);
  assert.equal(recoveryTime([ok(0), bad(600, 503, '', '', 100), ok(700), ok(5000)], 500), 200);
  // A request sent within the last second still failed: not recovered.
  assert.equal(recoveryTime([ok(0), bad(600, 503), ok(4000), bad(4500, 503), ok(4600)], 500), null);
  // An empty run has nothing to recover from.
  assert.equal(recoveryTime([], 0), 0);
});

test('summarize: an empty run has null percentiles and nothing failed', () => {
  const f = summarize([], { startMs: 0, endMs: 0 });
  assert.deepEqual(f, { sent: 0, ok: 0, failed: 0, failedBy: {}, faultP50Ms: null, faultP99Ms: null, p50Ms: null, p99Ms: null, recoveryMs: 0, maxSendLagMs: 0 });
});
