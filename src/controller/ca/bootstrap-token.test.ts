// Bootstrap tokens: minting, and one refusal per way a token can be wrong (fake clock).

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { BOOTSTRAP_TOKEN_PREFIX, TokenError, mintBootstrapToken, tokenKeyId, verifyBootstrapToken, type TokenProblem } from './bootstrap-token';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const NOW = Date.UTC(2030, 0, 1);
const HOUR = 3600_000;
const who = { namespace: 'shop', serviceAccount: 'cart' };

/** A token with arbitrary claims, signed with `key` (to build tokens the minting API refuses to make). */
function craft(claims: Record<string, unknown> | string, key = KEY): string {
  const payload = Buffer.from(typeof claims === 'string' ? claims : JSON.stringify(claims)).toString('base64url');
  const signed = BOOTSTRAP_TOKEN_PREFIX + payload;
  return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
}

const good = { ns: 'shop', sa: 'cart', aud: 'ferry-ca', iat: NOW / 1000, exp: NOW / 1000 + 3600, kid: tokenKeyId(KEY) };

test('a minted token verifies and carries ns, sa, audience and expiry', () => {
  const t = mintBootstrapToken(KEY, who, NOW, HOUR);
  assert.match(t, /^ferry\.v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const c = verifyBootstrapToken([KEY], t, NOW + 1000);
  assert.deepEqual(c, { ...good });
  // A second key in the verifier's list (key rotation) does not matter.
  assert.equal(verifyBootstrapToken([OTHER_KEY, KEY], t, NOW).sa, 'cart');
});

const minted = mintBootstrapToken(KEY, who, NOW, HOUR);
const [, , payload, sig] = minted.split('.');
const tampered = `${BOOTSTRAP_TOKEN_PREFIX}${Buffer.from(JSON.stringify({ ...good, ns: 'admin' })).toString('base64url')}.${sig}`;

const cases: { name: string; token: string; now?: number; reason: TokenProblem }[] = [
  { name: 'forged: signed with another key', token: mintBootstrapToken(OTHER_KEY, who, NOW, HOUR), reason: 'bad_signature' },
  { name: 'tampered payload (namespace changed, signature kept)', token: tampered, reason: 'bad_signature' },
  { name: 'signature cut short', token: `${BOOTSTRAP_TOKEN_PREFIX}${payload}.${sig.slice(0, 10)}`, reason: 'bad_signature' },
  { name: 'wrong audience', token: craft({ ...good, aud: 'kubernetes' }), reason: 'wrong_audience' },
  { name: 'expired', token: minted, now: NOW + HOUR, reason: 'expired' },
  { name: 'issued in the future', token: craft({ ...good, iat: NOW / 1000 + 600, exp: NOW / 1000 + 7200 }), reason: 'not_yet_valid' },
  { name: 'kid names no key', token: craft({ ...good, kid: '0000000000000000' }), reason: 'unknown_key' },
  { name: 'bad namespace', token: craft({ ...good, ns: '../etc' }), reason: 'bad_identity' },
  { name: 'exp not an integer', token: craft({ ...good, exp: '9999999999' }), reason: 'malformed' },
  { name: 'not a ferry token', token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', reason: 'malformed' },
  { name: 'extra part', token: `${minted}.x`, reason: 'malformed' },
  { name: 'payload not base64url', token: `${BOOTSTRAP_TOKEN_PREFIX}a+b.${sig}`, reason: 'malformed' },
  { name: 'payload not JSON (correctly signed)', token: craft('nope'), reason: 'malformed' },
  { name: 'payload a JSON array', token: craft('[]'), reason: 'malformed' },
];

for (const c of cases) {
  test(`refused: ${c.name}`, () => {
    assert.throws(
      () => verifyBootstrapToken([KEY], c.token, c.now ?? NOW),
      (err: unknown) => err instanceof TokenError && err.reason === c.reason,
    );
  });
}

test('the expiry is exact: valid one second before, refused at it', () => {
  assert.equal(verifyBootstrapToken([KEY], minted, NOW + HOUR - 1000).ns, 'shop');
  assert.throws(() => verifyBootstrapToken([KEY], minted, NOW + HOUR), /expired/);
});

test('minting refuses short keys and names that are not SPIFFE path segments', () => {
  assert.throws(() => mintBootstrapToken(Buffer.alloc(16), who, NOW, HOUR), /at least 32 bytes/);
  assert.throws(() => mintBootstrapToken(KEY, { namespace: 'a/b', serviceAccount: 'x' }, NOW, HOUR), /path segment/);
  assert.throws(() => mintBootstrapToken(KEY, who, NOW, 10), /at least 1 s/);
});
