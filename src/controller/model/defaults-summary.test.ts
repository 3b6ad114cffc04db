import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshDefaultsLines, retryDefaultsLines } from './defaults-summary';

test('the default retries in words: the conditions per method, the attempts, the breaker', () => {
  assert.deepEqual(retryDefaultsLines(), [
    '  retry on, every method: connect-failure,refused-stream (the request never reached the app)',
    '  retry on, GET, HEAD, OPTIONS, TRACE, PUT, DELETE only: also reset (the request may have reached the app; these methods are idempotent)',
    '  never replayed after it may have reached the app: POST, PATCH, CONNECT and every gRPC call; a body over 1 MiB',
    '  2 retries after a 25–250 ms jittered back-off, each on another host',
    '  retry circuit breaker: no concurrent limit (the retries are bounded per request, and outlier detection ejects a failing host)',
  ]);
});

test('the mesh defaults in words: the retries, then ejection, health checks and the timeout', () => {
  const lines = meshDefaultsLines();
  assert.deepEqual(lines.slice(0, retryDefaultsLines().length), retryDefaultsLines());
  assert.deepEqual(lines.slice(retryDefaultsLines().length), [
    '  outlier detection: eject a host after 5 consecutive 5xx or connect failures for 30 s × its ejections, at most 50 % of the hosts, swept every 10 s',
    '  active health check (HTTP and HTTP/2 ports): GET / every 5 s (also when idle: every 5 s), timeout 1 s, out after 2 failures (a 5xx, a reset or a timeout), back after 1',
    '  request timeout: 15 s, retries included',
    "  at the app (inbound): GET, HEAD, OPTIONS, TRACE, PUT, DELETE reset by the app before it answered are sent to it once more (its keep-alive close racing the sidecar's reuse)",
    '  pod shutdown (the sidecar\'s preStop): serve until no new inbound request for 1 s (callers have the endpoint update; at most 60 % of 5 s), then stop accepting, GOAWAY / connection: close, wait for requests in flight',
  ]);
});
