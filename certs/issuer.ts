// The workload certificate issuer: turns a validated CSR into a short-lived SPIFFE certificate signed by the issuing CA.

import { KeyObject, randomFillSync, sign as cryptoSign } from 'node:crypto';
import { systemClock, type Clock } from '../src/clock/clock';
import { FerryError } from '../src/errors';
import { CSR_REJECT_REASONS, CsrRejectReason, CsrRejectedError, validateCsrSync } from './csr';
import { TAG, children, fromPem, oid, raw, readWhole, time, tlv, toPem, unsignedInteger } from './der';
import { subjectKeyId } from './intermediate-ca';
import { TrustBundle } from './trust-bundle';
import { toCertTime, x509, type CryptoKey } from './x509';

export interface WorkloadIssuerOptions {
  /** Lifetime when the caller asks for none; default 24 h, or maxTtlMs if that is shorter. */
  readonly ttlMs?: number;
  /** Longest lifetime of any certificate (longer requests are shortened); default ttlMs, else 24 h. */
  readonly maxTtlMs?: number;
  /** How far notBefore is set back for peers with slow clocks; default 1 min. */
  readonly backdateMs?: number;
  /** Its wall clock gives the issue time; default systemClock. */
  readonly clock?: Clock;
}

/** The issuing CA this issuer signs with: certificate and key (the key never leaves this process). */
export interface IssuerSigningCa {
  readonly certPem: string;
  readonly privateKey: CryptoKey;
}

/** A signed workload certificate and what the workload needs to verify its peers. */
export interface IssuedCertificate {
  /** Leaf first, then the issuing CA. */
  readonly certChainPem: readonly string[];
  readonly trustBundlePem: string;
  readonly spiffeId: string;
  readonly serialNumber: string;
  /** Validity in ms since the epoch, whole seconds as encoded in the certificate. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** The issuer cannot sign at all right now (its own certificate expired or is not yet valid). */
export class IssuerUnavailableError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_ISSUER_UNAVAILABLE', message);
  }
}

/** Plain counters; the controller exports them as ferry_ca_* metrics. */
export interface IssuerCounters {
  issued: number;
  rejected: Record<CsrRejectReason, number>;
  /** Signing attempts that failed for the issuer's own reasons (expired issuer, crypto error). */
  failed: number;
}

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600 * 1000;
export const DEFAULT_MAX_WORKLOAD_TTL_MS = DEFAULT_WORKLOAD_TTL_MS;
export const DEFAULT_BACKDATE_MS = 60 * 1000;

const VERSION_V3 = tlv(0xa0, tlv(TAG.INTEGER, Buffer.from([2])));
const ECDSA_SHA256 = tlv(TAG.SEQUENCE, oid('1.2.840.10045.4.3.2'));
const EMPTY_NAME = tlv(TAG.SEQUENCE, Buffer.alloc(0));
const SAN_CRITICAL = Buffer.concat([oid('2.5.29.17'), tlv(TAG.BOOLEAN, Buffer.from([0xff]))]);
const ZERO_UNUSED_BITS = Buffer.from([0]);

/** The subject Name of a certificate, byte for byte, to be the issuer Name of what it signs. */
function subjectNameDer(certPem: string): Buffer {
  const der = fromPem(certPem, 'CERTIFICATE');
  if (!der) throw new FerryError('FERRY_ERR_ISSUER_CONFIG', 'issuer: CA certificate is not PEM');
  const tbs = children(children(readWhole(der))[0]);
  // tbsCertificate: [0] version, serialNumber, signature, issuer, validity, subject, …
  return raw(tbs[tbs[0].tag === 0xa0 ? 5 : 4]);
}

/**
 * Signs workload CSRs: URI SAN only (critical, empty subject), serverAuth + clientAuth, digitalSignature,
 * not a CA, random 128-bit serial, notBefore back-dated for clock skew, lifetime capped at maxTtlMs, and
 * notAfter clamped to the expiry of the issuing CA and of the root it chains to.
 * The trust bundle is live: adding or removing a root changes what the next response carries.
 */
/** Everything signing needs from the issuing CA, derived once per CA (the CA may be replaced live). */
interface SigningState {
  readonly ca: IssuerSigningCa;
  readonly caCert: x509.X509Certificate;
  readonly notBefore: number;
  /** The earlier of the issuing CA's and its root's notAfter: no leaf may outlive its chain. */
  readonly notAfter: number;
  readonly signingKey: KeyObject;
  readonly issuerName: Buffer;
  /** DER of basicConstraints, keyUsage, extKeyUsage, authorityKeyIdentifier: the same in every leaf. */
  readonly fixedExtensions: Buffer;
}

export class WorkloadIssuer {
  readonly counters: IssuerCounters;
  #s: SigningState;
  readonly #bundle: TrustBundle;
  readonly #ttlMs: number;
  readonly #maxTtlMs: number;
  readonly #backdateMs: number;
  readonly #clock: Clock;

  constructor(ca: IssuerSigningCa, bundle: TrustBundle, options: WorkloadIssuerOptions = {}) {
    this.#bundle = bundle;
    this.#maxTtlMs = options.maxTtlMs ?? options.ttlMs ?? DEFAULT_MAX_WORKLOAD_TTL_MS;
    this.#ttlMs = options.ttlMs ?? Math.min(DEFAULT_WORKLOAD_TTL_MS, this.#maxTtlMs);
    this.#backdateMs = options.backdateMs ?? DEFAULT_BACKDATE_MS;
    this.#clock = options.clock ?? systemClock;
    if (!(this.#ttlMs >= 1000) || !(this.#maxTtlMs >= this.#ttlMs) || !(this.#backdateMs >= 0)) {
      throw new FerryError('FERRY_ERR_ISSUER_CONFIG', 'issuer: need ttlMs >= 1000, maxTtlMs >= ttlMs, backdateMs >= 0');
    }
    this.#s = this.#signingState(ca);
    const rejected = Object.fromEntries(CSR_REJECT_REASONS.map((r) => [r, 0])) as Record<CsrRejectReason, number>;
    this.counters = { issued: 0, rejected, failed: 0 };
  }

  #signingState(ca: IssuerSigningCa): SigningState {
    const caCert = new x509.X509Certificate(ca.certPem);
    const bc = caCert.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) throw new FerryError('FERRY_ERR_ISSUER_CONFIG', `issuer: ${caCert.subject} is not a CA certificate`);
    // Refuse an issuer the bundle would not verify: every certificate would be useless.
    const { rootNotAfter } = this.#bundle.verifyChain([ca.certPem], this.#clock.wallNow());
    const signingKey = KeyObject.from(ca.privateKey);
    if (signingKey.asymmetricKeyType !== 'ec' || signingKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new FerryError('FERRY_ERR_ISSUER_CONFIG', 'issuer: the CA key must be ECDSA P-256');
    }
    return {
      ca,
      caCert,
      notBefore: caCert.notBefore.getTime(),
      notAfter: Math.min(caCert.notAfter.getTime(), rootNotAfter),
      signingKey,
      issuerName: subjectNameDer(ca.certPem),
      fixedExtensions: Buffer.concat(
        [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.AuthorityKeyIdentifierExtension(subjectKeyId(caCert)),
        ].map((e) => Buffer.from(e.rawData)),
      ),
    };
  }

  /**
   * Signs with `ca` from now on (a new issuing CA, e.g. under a new root during a root rotation),
   * checked as the constructor checks; on a bad CA it throws and the current one stays.
   */
  replaceSigningCa(ca: IssuerSigningCa): void {
    this.#s = this.#signingState(ca);
  }

  /** The issuing CA's certificate (PEM) this issuer signs with now. */
  get signingCaPem(): string {
    return this.#s.ca.certPem;
  }

  /** The issuing chain's expiry in ms (issuing CA or root, whichever ends first), for the issuer-expiry metric and renewal. */
  get issuerNotAfter(): number {
    return this.#s.notAfter;
  }

  /** The longest lifetime this issuer gives any certificate. */
  get maxTtlMs(): number {
    return this.#maxTtlMs;
  }

  get trustBundle(): TrustBundle {
    return this.#bundle;
  }

  /**
   * Validates `csrPem` against `expectedSpiffeId` (taken by the caller from the authenticated token)
   * and signs it. `requestedTtlMs` defaults to the configured TTL and is capped at maxTtlMs and at the
   * issuer's expiry. Throws CsrRejectedError (counted by reason) or IssuerUnavailableError.
   */
  async sign(csrPem: string, expectedSpiffeId: string, requestedTtlMs?: number): Promise<IssuedCertificate> {
    try {
      if (requestedTtlMs !== undefined && !(Number.isFinite(requestedTtlMs) && requestedTtlMs >= 1000)) {
        throw new CsrRejectedError('bad_ttl', `requested lifetime ${requestedTtlMs} ms is not at least one second`);
      }
      const now = this.#clock.wallNow();
      const st = this.#s;
      if (now >= st.notAfter) {
        throw new IssuerUnavailableError(`issuing CA (or its root) expired at ${new Date(st.notAfter).toISOString()}`);
      }
      if (now < st.notBefore) {
        throw new IssuerUnavailableError(`issuing CA is valid only from ${new Date(st.notBefore).toISOString()}`);
      }
      const { spki, spiffeId } = validateCsrSync(csrPem, expectedSpiffeId);
      const ttl = Math.min(requestedTtlMs ?? this.#ttlMs, this.#maxTtlMs);
      const notBefore = toCertTime(Math.max(now - this.#backdateMs, st.notBefore));
      const notAfter = toCertTime(Math.min(now + ttl, st.notAfter));
      const serial = unsignedInteger(randomFillSync(Buffer.alloc(16)));
      // Critical because the subject is empty (RFC 5280 §4.2.1.6); the one SAN is the URI.
      const san = tlv(TAG.SEQUENCE, SAN_CRITICAL, tlv(TAG.OCTET_STRING, tlv(TAG.SEQUENCE, tlv(0x86, Buffer.from(spiffeId, 'latin1')))));
      const tbs = tlv(
        TAG.SEQUENCE,
        VERSION_V3,
        serial,
        ECDSA_SHA256,
        st.issuerName,
        tlv(TAG.SEQUENCE, time(notBefore), time(notAfter)),
        EMPTY_NAME,
        spki,
        tlv(0xa3, tlv(TAG.SEQUENCE, st.fixedExtensions, san)),
      );
      const signature = cryptoSign('sha256', tbs, st.signingKey); // DER ECDSA-Sig-Value
      const leaf = tlv(TAG.SEQUENCE, tbs, ECDSA_SHA256, tlv(TAG.BIT_STRING, ZERO_UNUSED_BITS, signature));
      this.counters.issued++;
      return {
        certChainPem: [toPem(leaf, 'CERTIFICATE'), st.ca.certPem],
        trustBundlePem: this.#bundle.toPem(),
        spiffeId,
        serialNumber: serial.subarray(serial[2] === 0 ? 3 : 2).toString('hex'),
        notBefore: notBefore.getTime(),
        notAfter: notAfter.getTime(),
      };
    } catch (err) {
      if (err instanceof CsrRejectedError) this.counters.rejected[err.reason]++;
      else this.counters.failed++;
      throw err;
    }
  }
}
