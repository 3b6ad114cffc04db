// Tests for the bounds scenarios 7 and 8 check: when a blackholed replica should be ejected, how many 503s a burst may cost.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackholeEjectionMs } from './network-fault.scenario';
import { burstFailureBound } from './replica-fault.scenario';

test('blackholeEjectionMs: filling the dead connection then the connect timeout, capped by the route timeout', () => {
  // 200 req/s over 3 replicas: 100 streams fill in 1.5 s, + 5 s connect timeout, + 5 requests' spacing.
  assert.equal(blackholeEjectionMs(200, 3), 6575);
  // 1,000 req/s: 0.3 s + 5 s + 15 ms.
  assert.equal(blackholeEjectionMs(1000, 3), 5315);
  // 15 req/s: the streams would take 20 s to fill; the route timeout (15 s) comes first.
  assert.equal(blackholeEjectionMs(15, 3), 16_000);
});

test('burstFailureBound: consecutive_5xx per ejection plus 50 ms of the replica’s share', () => {
  assert.equal(burstFailureBound(5, 1, 200, 3), 9);
  assert.equal(burstFailureBound(5, 2, 200, 3), 14);
  assert.equal(burstFailureBound(5, 0, 1000, 3), 5 + 17, 'no ejection still allows one round of failures');
});
