// Tests for retry_policy translation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryOn, RETRY_ON, translateRetryPolicy } from './retry-policy';
import { assertConfigError } from './config.fixture';

describe('retry_policy', () => {
  test('defaults', () => {
    const p = translateRetryPolicy({}, 'rp');
    assert.equal(p.retryOn.size, 0);
    assert.equal(p.numRetries, 1);
    assert.equal(p.backOffBaseMs, 25);
    assert.equal(p.backOffMaxMs, 250);
    assert.equal(p.retryOnDifferentHost, false);
    assert.equal(p.hostSelectionRetryMaxAttempts, 1);
    assert.equal(p.perTryTimeoutMs, 0);
  });
  test('every documented retry_on token parses; spaces are trimmed', () => {
    assert.equal(parseRetryOn(RETRY_ON.join(' , '), 'x').size, RETRY_ON.length);
  });
  test('all fields', () => {
    const p = translateRetryPolicy(
      {
        retry_on: 'retriable-status-codes,retriable-headers',
        num_retries: { value: 3 },
        per_try_timeout: '0.5s',
        per_try_idle_timeout: '0.1s',
        retriable_status_codes: [503, 429],
        retriable_headers: [{ name: 'X-Retry', exact_match: 'yes' }],
        retry_back_off: { base_interval: '0.1s' },
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
        host_selection_retry_max_attempts: '5',
      },
      'rp',
    );
    assert.deepEqual([...p.retriableStatusCodes], [503, 429]);
    assert.equal(p.retriableHeaders[0].name, 'x-retry');
    assert.deepEqual([p.numRetries, p.perTryTimeoutMs, p.perTryIdleTimeoutMs, p.backOffBaseMs, p.backOffMaxMs], [3, 500, 100, 100, 1000]);
    assert.equal(p.retryOnDifferentHost, true);
    assert.equal(p.hostSelectionRetryMaxAttempts, 5);
  });
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['unknown token', { retry_on: '5xx,5xxx' }, ['rp.retry_on', '5xxx is not a valid retry_on']],
    ['max below base', { retry_back_off: { base_interval: '1s', max_interval: '0.5s' } }, ['rp.retry_back_off.max_interval']],
    ['base missing', { retry_back_off: { max_interval: '1s' } }, ['rp.retry_back_off.base_interval', 'required']],
    ['zero base', { retry_back_off: { base_interval: '0s' } }, ['rp.retry_back_off.base_interval', 'greater than 0']],
    ['status code out of range', { retriable_status_codes: [700] }, ['rp.retriable_status_codes[0]']],
    ['other host predicate', { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.omit_canary_hosts' }] }, ['rp.retry_host_predicate[0]']],
    ['retry priority', { retry_priority: { name: 'envoy.retry_priorities.previous_priorities' } }, ['rp.retry_priority', 'not supported']],
    ['negative num_retries', { num_retries: -1 }, ['rp.num_retries']],
  ];
  for (const [name, v, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateRetryPolicy(v, 'rp'), ...frags));
});
