// Route and virtual-host retry_policy → RetryPolicyConfig.

import { ConfigError, UnsupportedConfigError } from '../errors';
import type { RetryOn, RetryPolicyConfig } from './types';
import { duration, headerMatcher, positiveDuration } from './common';
import { Reader } from './reader';

export const RETRY_ON: readonly RetryOn[] = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
];

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** The comma-separated retry_on string; every token must be a known condition. */
export function parseRetryOn(s: string, path: string): Set<RetryOn> {
  const out = new Set<RetryOn>();
  for (const raw of s.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    if (!(RETRY_ON as readonly string[]).includes(token)) {
      throw new ConfigError(path, `${token} is not a valid retry_on condition`);
    }
    out.add(token as RetryOn);
  }
  return out;
}

export function translateRetryPolicy(v: unknown, path: string): RetryPolicyConfig {
  const r = new Reader(v, path);
  const retryOn = parseRetryOn(r.str('retry_on'), r.at('retry_on'));
  const numRetries = r.int('num_retries', 1, 0, 0xffffffff);
  const perTryTimeoutMs = duration(r, 'per_try_timeout', 0);
  const perTryIdleTimeoutMs = duration(r, 'per_try_idle_timeout', 0);
  const retriableStatusCodes = new Set(r.intList('retriable_status_codes', 100, 599));
  const retriableHeaders = r.list('retriable_headers', headerMatcher);
  let backOffBaseMs = 25;
  let backOffMaxMs = 250;
  const b = r.obj('retry_back_off');
  if (b) {
    backOffBaseMs = positiveDuration(b, 'base_interval');
    backOffMaxMs = b.has('max_interval') ? positiveDuration(b, 'max_interval') : backOffBaseMs * 10;
    b.done();
    if (backOffMaxMs < backOffBaseMs) {
      throw new ConfigError(b.at('max_interval'), 'must be greater than or equal to base_interval');
    }
  }
  let retryOnDifferentHost = false;
  r.objList('retry_host_predicate', (p) => {
    const name = p.str('name');
    const tc = p.obj('typed_config');
    const type = tc ? tc.str('@type') : '';
    tc?.done();
    p.done();
    if (type === PREVIOUS_HOSTS_TYPE || (type === '' && name === PREVIOUS_HOSTS)) {
      retryOnDifferentHost = true;
      return;
    }
    throw new UnsupportedConfigError(p.path, `retry host predicate ${type || name} is not supported`);
  });
  const hostSelectionRetryMaxAttempts = r.int('host_selection_retry_max_attempts', 1, 0);
  r.reject(
    'retry_priority',
    'rate_limited_retry_back_off',
    'retriable_request_headers',
    'retry_options_predicates',
  );
  r.done();
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs,
    perTryIdleTimeoutMs,
    retriableStatusCodes,
    retriableHeaders,
    backOffBaseMs,
    backOffMaxMs,
    retryOnDifferentHost,
    hostSelectionRetryMaxAttempts,
  };
}
