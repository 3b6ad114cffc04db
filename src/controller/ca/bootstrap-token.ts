// Local-mesh bootstrap tokens: `ferry.v1.<payload>.<sig>`, HMAC-SHA256 over the prefix and payload, binding ns/sa, audience and expiry (pure).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { buildSpiffeId } from '../../../certs/spiffe';
import { FerryError } from '../../errors';
import { CA_TOKEN_AUDIENCE } from '../../mesh/constants';

export const BOOTSTRAP_TOKEN_PREFIX = 'ferry.v1.';
/** Shortest key accepted (bytes); the key file holds 32 random bytes. */
export const MIN_TOKEN_KEY_BYTES = 32;
/** Tokens are refused if issued further in the future than this (clock skew between hosts). */
export const MAX_ISSUED_AT_SKEW_MS = 60_000;
/** Tokens longer than this are refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;

/** What a bootstrap token says. Times are Unix seconds, as in a JWT. */
export interface BootstrapClaims {
  /** Namespace of the workload. */
  readonly ns: string;
  /** Service account of the workload. */
  readonly sa: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  /** Which key signed it: the first 8 bytes of SHA-256(key), hex. */
  readonly kid: string;
}

/** Why a token was not accepted; stable (logged, and the test matrix). */
export type TokenProblem = 'malformed' | 'bad_signature' | 'unknown_key' | 'wrong_audience' | 'expired' | 'not_yet_valid' | 'bad_identity' | 'not_authenticated';

/** The bearer token does not prove an identity (maps to gRPC UNAUTHENTICATED). */
export class TokenError extends FerryError {
  readonly reason: TokenProblem;
  constructor(reason: TokenProblem, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_TOKEN', `token rejected (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

const keyIds = new WeakMap<Buffer, string>();

export function tokenKeyId(key: Buffer): string {
  let id = keyIds.get(key);
  if (id === undefined) {
    id = createHash('sha256').update(key).digest().subarray(0, 8).toString('hex');
    keyIds.set(key, id);
  }
  return id;
}

function checkKey(key: Buffer): void {
  if (key.length < MIN_TOKEN_KEY_BYTES) throw new FerryError('FERRY_ERR_TOKEN_KEY', `token key must be at least ${MIN_TOKEN_KEY_BYTES} bytes, got ${key.length}`);
}

function mac(key: Buffer, signed: string): Buffer {
  return createHmac('sha256', key).update(signed, 'latin1').digest();
}

/** Mints a token for ns/sa valid from `now` (ms) for `ttlMs`. Validates the names as SPIFFE path segments. */
export function mintBootstrapToken(key: Buffer, who: { namespace: string; serviceAccount: string }, now: number, ttlMs: number): string {
  checkKey(key);
  buildSpiffeId('x', who.namespace, who.serviceAccount); // throws SpiffeIdError on a bad name
  if (!(ttlMs >= 1000)) throw new FerryError('FERRY_ERR_TOKEN_TTL', `token lifetime must be at least 1 s, got ${ttlMs} ms`);
  const claims: BootstrapClaims = {
    ns: who.namespace,
    sa: who.serviceAccount,
    aud: CA_TOKEN_AUDIENCE,
    iat: Math.floor(now / 1000),
    exp: Math.floor((now + ttlMs) / 1000),
    kid: tokenKeyId(key),
  };
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  const signed = BOOTSTRAP_TOKEN_PREFIX + payload;
  return `${signed}.${mac(key, signed).toString('base64url')}`;
}

export function isBootstrapToken(token: string): boolean {
  return token.startsWith(BOOTSTRAP_TOKEN_PREFIX);
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies a token against `keys` (any of them, chosen by kid) at `now` (ms) for `audience`.
 * The signature is checked before the payload is parsed. Throws TokenError.
 */
export function verifyBootstrapToken(keys: readonly Buffer[], token: string, now: number, audience: string = CA_TOKEN_AUDIENCE): BootstrapClaims {
  if (token.length > MAX_TOKEN_LENGTH || !isBootstrapToken(token)) throw new TokenError('malformed', 'not a ferry.v1 token');
  const rest = token.slice(BOOTSTRAP_TOKEN_PREFIX.length);
  const dot = rest.indexOf('.');
  if (dot <= 0 || rest.indexOf('.', dot + 1) !== -1) throw new TokenError('malformed', 'expected ferry.v1.<payload>.<signature>');
  const payload = rest.slice(0, dot);
  const sigText = rest.slice(dot + 1);
  if (!B64URL.test(payload) || !B64URL.test(sigText)) throw new TokenError('malformed', 'payload and signature must be base64url');
  const sig = Buffer.from(sigText, 'base64url');
  const signed = BOOTSTRAP_TOKEN_PREFIX + payload;
  let ok = false;
  for (const key of keys) {
    const want = mac(key, signed);
    // Compare against every key, in constant time per key, so timing says nothing about which matched.
    if (sig.length === want.length && timingSafeEqual(sig, want)) ok = true;
  }
  if (!ok) throw new TokenError('bad_signature', 'signature does not match any controller key');
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new TokenError('malformed', 'payload is not JSON', { cause: err });
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new TokenError('malformed', 'payload is not an object');
  const { ns, sa, aud, iat, exp, kid } = claims;
  if (typeof ns !== 'string' || typeof sa !== 'string' || typeof aud !== 'string' || typeof kid !== 'string') {
    throw new TokenError('malformed', 'ns, sa, aud and kid must be strings');
  }
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) throw new TokenError('malformed', 'iat and exp must be integers');
  if (!keys.some((k) => tokenKeyId(k) === kid)) throw new TokenError('unknown_key', `kid ${JSON.stringify(kid)} names no controller key`);
  if (aud !== audience) throw new TokenError('wrong_audience', `audience ${JSON.stringify(aud)}, expected ${JSON.stringify(audience)}`);
  if (now >= (exp as number) * 1000) throw new TokenError('expired', `expired at ${new Date((exp as number) * 1000).toISOString()}`);
  if ((iat as number) * 1000 > now + MAX_ISSUED_AT_SKEW_MS) throw new TokenError('not_yet_valid', `issued in the future (${new Date((iat as number) * 1000).toISOString()})`);
  try {
    buildSpiffeId('x', ns, sa);
  } catch (err) {
    throw new TokenError('bad_identity', `ns/sa ${JSON.stringify(`${ns}/${sa}`)} are not valid names`, { cause: err });
  }
  return { ns, sa, aud, iat: iat as number, exp: exp as number, kid };
}
