// Unit tests for the health check wire helpers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, matchesInOrder } from './health-check-codec';

test('gRPC health messages and TCP reply matching', () => {
  assert.deepEqual([...encodeHealthCheckRequest('')], [0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeHealthCheckRequest('ab')], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  assert.equal(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
  assert.equal(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 0])), 0);
  assert.equal(decodeHealthCheckResponse(Buffer.from([0, 0, 0, 0, 2, 0x08])), -1);
  assert.equal(decodeHealthCheckResponse(Buffer.from([1, 0, 0, 0, 2, 0x08, 1])), -1);
  assert.equal(matchesInOrder(Buffer.from('>PING<'), [Buffer.from('>'), Buffer.from('<')]), true);
  assert.equal(matchesInOrder(Buffer.from('<PING>'), [Buffer.from('>'), Buffer.from('<')]), false);
});
