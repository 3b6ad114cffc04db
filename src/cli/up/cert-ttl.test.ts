// `ferry up --cert-ttl`: whole seconds between the floor and a year, refused with the flag's name otherwise.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certTtlFlag, MIN_CERT_TTL_SECONDS } from './up-command';

test('--cert-ttl: absent is the CA default; in range is taken; anything else is refused naming the flag', () => {
  assert.equal(certTtlFlag(undefined), null);
  assert.equal(certTtlFlag(MIN_CERT_TTL_SECONDS), MIN_CERT_TTL_SECONDS);
  assert.equal(certTtlFlag(60), 60);
  assert.equal(certTtlFlag(365 * 86_400), 365 * 86_400);
  for (const bad of [MIN_CERT_TTL_SECONDS - 1, 0, -60, 60.5, 365 * 86_400 + 1, Number.NaN, 'x', true]) {
    assert.throws(() => certTtlFlag(bad), /flag --cert-ttl: must be whole seconds from 30 to 31536000/, String(bad));
  }
});
