import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDefaultsLines } from './defaults-summary';

test('the default retries in words: the conditions per method, the attempts, the breaker', () => {
  assert.deepEqual(retryDefaultsLines(), [
    '  retry on, every method: connect-failure,refused-stream (the request never reached the app)',
    '  retry on, GET, HEAD, OPTIONS, TRACE, PUT, DELETE only: also reset (the request may have reached the app; these methods are idempotent)',
    '  never replayed after it may have reached the app: POST, PATCH, CONNECT and every gRPC call; a body over 1 MiB',
    '  2 retries after a 25–250 ms jittered back-off, each on another host',
    '  retry circuit breaker: a retry budget of 20 % of the requests in flight, at least 3',
  ]);
});
