// Who is calling the CA: turns a bearer token into a workload identity (bootstrap token or Kubernetes TokenReview).

import { buildSpiffeId } from '../../../certs/spiffe';
import { systemClock, type Clock } from '../../clock/clock';
import { FerryError } from '../../errors';
import { CA_TOKEN_AUDIENCE } from '../../mesh/constants';
import { TokenError, isBootstrapToken, verifyBootstrapToken } from './bootstrap-token';

/** The identity a token proved. */
export interface AuthenticatedCaller {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** spiffe://<trust-domain>/ns/<ns>/sa/<sa>, in the controller's trust domain. */
  readonly spiffeId: string;
  /** Which authenticator accepted it: 'bootstrap' or 'kubernetes'. */
  readonly via: 'bootstrap' | 'kubernetes';
}

/** The authenticator could not decide (API server unreachable): maps to gRPC UNAVAILABLE, the caller retries. */
export class AuthenticatorUnavailableError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_AUTHN_UNAVAILABLE', message, options);
  }
}

/** Checks a token; throws TokenError (not authenticated) or AuthenticatorUnavailableError. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<AuthenticatedCaller>;
}

/** Reviews a non-bootstrap token (the Kubernetes TokenReview authenticator implements this). */
export interface TokenReviewer {
  review(token: string, audience: string): Promise<{ namespace: string; serviceAccount: string }>;
}

export interface CaAuthenticatorOptions {
  readonly trustDomain: string;
  /** HMAC keys for `ferry.v1.` bootstrap tokens (the first one mints; all verify). Empty: bootstrap tokens are refused. */
  readonly bootstrapKeys?: readonly Buffer[];
  /** Kubernetes TokenReview; null: only bootstrap tokens are accepted. */
  readonly reviewer?: TokenReviewer | null;
  readonly audience?: string;
  /** Token expiry is checked against its wall clock (default systemClock). */
  readonly clock?: Clock;
}

/** Bootstrap tokens (`ferry.v1.…`) are checked locally; anything else goes to the TokenReview, if configured. */
export class CaAuthenticator implements TokenAuthenticator {
  readonly #keys: readonly Buffer[];
  readonly #reviewer: TokenReviewer | null;
  readonly #audience: string;
  readonly #clock: Clock;
  readonly #trustDomain: string;

  constructor(opts: CaAuthenticatorOptions) {
    this.#keys = opts.bootstrapKeys ?? [];
    this.#reviewer = opts.reviewer ?? null;
    this.#audience = opts.audience ?? CA_TOKEN_AUDIENCE;
    this.#clock = opts.clock ?? systemClock;
    this.#trustDomain = opts.trustDomain;
    buildSpiffeId(opts.trustDomain, 'x', 'x'); // a bad trust domain fails at start, not per call
  }

  async authenticate(token: string): Promise<AuthenticatedCaller> {
    if (!token) throw new TokenError('malformed', 'no bearer token');
    if (isBootstrapToken(token)) {
      if (this.#keys.length === 0) throw new TokenError('unknown_key', 'this controller issues no bootstrap tokens');
      const c = verifyBootstrapToken(this.#keys, token, this.#clock.wallNow(), this.#audience);
      return this.#caller(c.ns, c.sa, 'bootstrap');
    }
    if (!this.#reviewer) throw new TokenError('malformed', 'not a ferry.v1 bootstrap token, and no Kubernetes TokenReview is configured');
    const r = await this.#reviewer.review(token, this.#audience);
    return this.#caller(r.namespace, r.serviceAccount, 'kubernetes');
  }

  #caller(namespace: string, serviceAccount: string, via: AuthenticatedCaller['via']): AuthenticatedCaller {
    let spiffeId: string;
    try {
      spiffeId = buildSpiffeId(this.#trustDomain, namespace, serviceAccount);
    } catch (err) {
      throw new TokenError('bad_identity', `${namespace}/${serviceAccount} is not a valid workload identity`, { cause: err });
    }
    return { namespace, serviceAccount, spiffeId, via };
  }
}

/** The bearer token from `authorization` call metadata values; '' if absent or not a Bearer token. */
export function bearerToken(values: readonly unknown[]): string {
  if (values.length !== 1 || typeof values[0] !== 'string') return '';
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(values[0]);
  return m ? m[1] : '';
}
