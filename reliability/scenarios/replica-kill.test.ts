import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadFigures } from '../load/outcomes';
import { everyFailureA503WithFlag, inFlightBound } from './replica-kill.scenario';

const figures = (failedBy: Record<string, number>): LoadFigures => ({
  sent: 100,
  ok: 100 - Object.values(failedBy).reduce((a, b) => a + b, 0),
  failed: Object.values(failedBy).reduce((a, b) => a + b, 0),
  failedBy,
  faultP50Ms: null,
  faultP99Ms: null,
  p50Ms: null,
  p99Ms: null,
  recoveryMs: 0,
  maxSendLagMs: 0,
});

test('replica-sigkill-post passes only when every failure is a 503 with a response flag', () => {
  const cases: [Record<string, number>, boolean][] = [
    [{}, true],
    [{ '503 UC': 2 }, true],
    [{ '503 UC': 1, '503 UR': 1, '503 URX,UC': 1 }, true],
    [{ '503': 1 }, false], // no flag: the app's own 503, not the mesh's
    [{ '502 UPE': 1 }, false],
    [{ ECONNRESET: 1 }, false],
    [{ ETIMEDOUT: 1, '503 UC': 1 }, false],
  ];
  for (const [failedBy, want] of cases) assert.equal(everyFailureA503WithFlag(figures(failedBy)), want, JSON.stringify(failedBy));
});

test('the in-flight bound: the requests sent in 100 ms, at least 1', () => {
  assert.equal(inFlightBound(200), 20);
  assert.equal(inFlightBound(1000), 100);
  assert.equal(inFlightBound(5), 1);
  assert.equal(inFlightBound(15), 2);
});
