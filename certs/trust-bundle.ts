// The trust bundle: the set of mesh roots a peer accepts, and verification of a certificate chain against any of them.

import { X509Certificate as NodeX509 } from 'node:crypto';
import { FerryError } from '../src/errors';
import { splitPemCertificates, x509 } from './x509';

/** Why a chain did not verify; stable, usable as a metric label. */
export type ChainProblem =
  | 'empty'
  | 'malformed'
  | 'not_yet_valid'
  | 'expired'
  | 'not_ca'
  | 'bad_signature'
  | 'path_too_long'
  | 'untrusted';

export class ChainVerificationError extends FerryError {
  readonly reason: ChainProblem;
  constructor(reason: ChainProblem, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CHAIN', `chain rejected (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** A certificate offered as a root is not one (not self-signed, not a CA, unparsable). */
export class TrustBundleError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_TRUST_BUNDLE', message, options);
  }
}

/** The root a chain ended at. */
export interface ChainVerification {
  readonly rootFingerprint256: string;
  readonly rootSubject: string;
  /** The root's expiry in ms: nothing below it is usable after this. */
  readonly rootNotAfter: number;
}

interface ParsedCert {
  readonly pem: string;
  readonly node: NodeX509;
  readonly notBefore: number;
  readonly notAfter: number;
  /** basicConstraints pathLenConstraint, if the certificate is a CA and sets one. */
  readonly pathLen: number | undefined;
}

function parseCert(pem: string): ParsedCert {
  const node = new NodeX509(pem);
  const bc = new x509.X509Certificate(pem).getExtension(x509.BasicConstraintsExtension);
  return {
    pem,
    node,
    notBefore: Date.parse(node.validFrom),
    notAfter: Date.parse(node.validTo),
    pathLen: bc?.ca ? bc.pathLength : undefined,
  };
}

function describe(c: ParsedCert): string {
  return c.node.subject ? c.node.subject.replace(/\n/g, ', ') : `(serial ${c.node.serialNumber})`;
}

function checkValidity(c: ParsedCert, now: number, what: string): void {
  if (now < c.notBefore) {
    throw new ChainVerificationError('not_yet_valid', `${what} ${describe(c)} is valid from ${c.node.validFrom}`);
  }
  if (now > c.notAfter) {
    throw new ChainVerificationError('expired', `${what} ${describe(c)} expired at ${c.node.validTo}`);
  }
}

/** `child` was issued and signed by `parent`. */
function signedBy(child: ParsedCert, parent: ParsedCert): boolean {
  return child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);
}

/**
 * A mutable set of root certificates (PEM concatenation on the wire). Holding several roots is what
 * makes a root rotation live: add the new root everywhere, switch the issuer, then remove the old one.
 */
export class TrustBundle {
  readonly #roots = new Map<string, ParsedCert>();
  #pem: string | undefined;

  constructor(rootPems: Iterable<string> = []) {
    for (const pem of rootPems) this.add(pem);
  }

  /** A bundle from a PEM file's contents (one or more CERTIFICATE blocks). */
  static fromPem(pem: string): TrustBundle {
    const blocks = splitPemCertificates(pem);
    if (blocks.length === 0) throw new TrustBundleError('trust bundle holds no PEM CERTIFICATE');
    return new TrustBundle(blocks);
  }

  /** Adds a self-signed CA certificate; returns false if it was already present. */
  add(rootPem: string): boolean {
    const blocks = splitPemCertificates(rootPem);
    if (blocks.length !== 1) throw new TrustBundleError(`a root must be exactly one PEM CERTIFICATE, got ${blocks.length}`);
    let root: ParsedCert;
    try {
      root = parseCert(blocks[0]);
    } catch (err) {
      throw new TrustBundleError('root certificate does not parse', { cause: err });
    }
    if (!root.node.ca) throw new TrustBundleError(`${describe(root)} is not a CA certificate`);
    if (!signedBy(root, root)) throw new TrustBundleError(`${describe(root)} is not self-signed`);
    const fp = root.node.fingerprint256;
    if (this.#roots.has(fp)) return false;
    this.#roots.set(fp, root);
    this.#pem = undefined;
    return true;
  }

  /** Removes a root given as PEM or SHA-256 fingerprint (Node's `AA:BB:…` form); false if absent. */
  remove(rootPemOrFingerprint: string): boolean {
    const fp = rootPemOrFingerprint.includes('-----BEGIN')
      ? new NodeX509(rootPemOrFingerprint).fingerprint256
      : rootPemOrFingerprint.toUpperCase();
    const removed = this.#roots.delete(fp);
    if (removed) this.#pem = undefined;
    return removed;
  }

  has(rootPemOrFingerprint: string): boolean {
    const fp = rootPemOrFingerprint.includes('-----BEGIN')
      ? new NodeX509(rootPemOrFingerprint).fingerprint256
      : rootPemOrFingerprint.toUpperCase();
    return this.#roots.has(fp);
  }

  get size(): number {
    return this.#roots.size;
  }

  /** SHA-256 fingerprints of the roots, in insertion order. */
  get fingerprints(): string[] {
    return [...this.#roots.keys()];
  }

  /** The roots as separate PEM strings, e.g. for node:tls `ca`. */
  get rootPems(): string[] {
    return [...this.#roots.values()].map((r) => r.pem);
  }

  /** All roots as one PEM document. */
  toPem(): string {
    this.#pem ??= this.rootPems.join('');
    return this.#pem;
  }

  /**
   * Verifies `chain` (leaf first, then intermediates; the root may be included or not) at time `now`
   * (ms): every certificate within its validity, every issuer a CA that signed the one below it within
   * its path-length limit, and the top certificate either a root of this bundle or signed by one.
   * Throws ChainVerificationError. Checks signatures and structure, not names or key usages.
   */
  verifyChain(chain: string | readonly string[], now: number): ChainVerification {
    const pems = typeof chain === 'string' ? splitPemCertificates(chain) : chain;
    if (pems.length === 0) throw new ChainVerificationError('empty', 'no certificate given');
    let certs: ParsedCert[];
    try {
      certs = pems.map(parseCert);
    } catch (err) {
      throw new ChainVerificationError('malformed', 'a certificate in the chain does not parse', { cause: err });
    }
    certs.forEach((c, i) => checkValidity(c, now, i === 0 ? 'certificate' : 'issuer'));
    for (let i = 1; i < certs.length; i++) {
      checkIssuer(certs[i - 1], certs[i], i - 1);
    }
    const top = certs[certs.length - 1];
    const self = this.#roots.get(top.node.fingerprint256);
    if (self) return { rootFingerprint256: top.node.fingerprint256, rootSubject: describe(self), rootNotAfter: self.notAfter };
    // Intermediates below the root: every certificate but the leaf.
    const intermediates = certs.length - 1;
    let sawExpiredRoot: ParsedCert | undefined;
    for (const [fp, root] of this.#roots) {
      if (!signedBy(top, root)) continue;
      if (now < root.notBefore || now > root.notAfter) {
        sawExpiredRoot = root;
        continue;
      }
      if (root.pathLen !== undefined && intermediates > root.pathLen) {
        throw new ChainVerificationError('path_too_long', `root ${describe(root)} allows ${root.pathLen} intermediates`);
      }
      return { rootFingerprint256: fp, rootSubject: describe(root), rootNotAfter: root.notAfter };
    }
    if (sawExpiredRoot) checkValidity(sawExpiredRoot, now, 'root');
    throw new ChainVerificationError('untrusted', `${describe(top)} is not signed by any of ${this.#roots.size} trusted roots`);
  }
}

function checkIssuer(child: ParsedCert, issuer: ParsedCert, casBelow: number): void {
  if (!issuer.node.ca) throw new ChainVerificationError('not_ca', `issuer ${describe(issuer)} is not a CA`);
  if (!signedBy(child, issuer)) {
    throw new ChainVerificationError('bad_signature', `${describe(child)} is not signed by ${describe(issuer)}`);
  }
  if (issuer.pathLen !== undefined && casBelow > issuer.pathLen) {
    throw new ChainVerificationError('path_too_long', `issuer ${describe(issuer)} allows ${issuer.pathLen} intermediates below it`);
  }
}
