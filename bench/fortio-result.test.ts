// Tests for the fortio JSON reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFortioResult } from './fortio-result';

function sample(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    RunType: 'HTTP',
    ActualQPS: 998.9,
    ActualDuration: 2_000_000_000,
    DurationHistogram: {
      Count: 1998,
      Percentiles: [
        { Percentile: 50, Value: 0.0005 },
        { Percentile: 90, Value: 0.0009 },
        { Percentile: 99, Value: 0.0015 },
        { Percentile: 99.9, Value: 0.002 },
      ],
    },
    RetCodes: { '200': 1990, '503': 5, '-1': 3 },
    ...overrides,
  };
}

test('HTTP result: percentiles in ms, non-200 codes counted as errors', () => {
  const s = parseFortioResult(sample());
  assert.equal(s.runType, 'HTTP');
  assert.equal(s.qpsActual, 998.9);
  assert.equal(s.durationS, 2);
  assert.equal(s.requests, 1998);
  assert.equal(s.errors, 8);
  assert.equal(s.p50Ms, 0.5);
  assert.equal(s.p90Ms, 0.9);
  assert.equal(s.p99Ms, 1.5);
  assert.equal(s.p999Ms, 2);
  assert.equal(s.bytesReceivedPerS, 0);
});

test('TCP result: OK is success and bytes received per second are derived', () => {
  const s = parseFortioResult(sample({ RunType: 'TCP', RetCodes: { OK: 100 }, BytesReceived: 4_000_000 }));
  assert.equal(s.errors, 0);
  assert.equal(s.requests, 100);
  assert.equal(s.bytesReceivedPerS, 2_000_000);
});

const bad: Array<[string, Record<string, unknown>, RegExp]> = [
  ['unknown run type', { RunType: 'GRPC' }, /RunType/],
  ['missing histogram', { DurationHistogram: undefined }, /DurationHistogram: must be an object/],
  ['no percentiles', { DurationHistogram: { Count: 0 } }, /Percentiles: missing/],
  ['missing p99.9', { DurationHistogram: { Percentiles: [{ Percentile: 50, Value: 0.1 }, { Percentile: 90, Value: 0.1 }, { Percentile: 99, Value: 0.1 }] } }, /no p99\.9/],
  ['non-numeric qps', { ActualQPS: 'fast' }, /ActualQPS: must be a finite number/],
  ['non-numeric code count', { RetCodes: { '200': 'x' } }, /RetCodes\.200/],
];
for (const [name, overrides, message] of bad) {
  test(`rejects ${name}`, () => {
    assert.throws(() => parseFortioResult(sample(overrides)), message);
  });
}

test('rejects a non-object', () => {
  assert.throws(() => parseFortioResult([]), /\(root\): must be an object/);
});
