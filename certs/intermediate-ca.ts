// The issuing (intermediate) CA: its key is generated here, its CSR signed by the root (1 year, clamped to the root).

import { systemClock, type Clock } from '../src/clock/clock';
import { FerryError } from '../src/errors';
import { CA_KEY_USAGE, CaKeyPair, checkTtl, loadCaKeyPair } from './root-ca';
import { PUBLIC_MODE, SECRET_MODE, readPemFile, writePemFile } from './pem-files';
import { TrustBundle } from './trust-bundle';
import { EC_SIGN_ALG, exportPrivateKeyPem, generateKeyPair, randomHex, toCertTime, x509, type EcKeyAlgorithm } from './x509';

/** An issuing CA ready to sign workload certificates, with what peers need to verify them. */
export interface IssuingCa extends CaKeyPair {
  /** Issuing CA then root, as served to peers that only hold the bundle. */
  readonly chainPem: string;
  readonly trustBundle: TrustBundle;
}

export interface IntermediateCaOptions {
  /** Lifetime; default 1 year, never past the root's expiry. */
  readonly ttlMs?: number;
  /** Issue time in ms; default now on `clock`. */
  readonly now?: number;
  /** Reads the issue time when `now` is not given (wall clock); default systemClock. */
  readonly clock?: Clock;
}

export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const TRUST_BUNDLE_FILE = 'root-cert.pem';
export const DEFAULT_INTERMEDIATE_TTL_MS = 365 * 24 * 3600 * 1000;

/** The root CA cannot sign: expired, not yet valid, or the request is not acceptable. */
export class CaSigningError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CA_SIGNING', message, options);
  }
}

/** The key identifier of a CA certificate's SubjectKeyIdentifier, for the children's AuthorityKeyIdentifier. */
export function subjectKeyId(cert: x509.X509Certificate): string {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new CaSigningError(`${cert.subject}: CA certificate has no subjectKeyIdentifier`);
  return ski.keyId;
}

/**
 * The root's side: signs an issuing-CA CSR (ECDSA P-256, valid signature) as a CA with pathLen 0.
 * The validity ends at the root's expiry at the latest. The root never sees the intermediate's key.
 */
export async function signIntermediateCsr(root: CaKeyPair, csrPem: string, options: IntermediateCaOptions = {}): Promise<string> {
  const ttlMs = options.ttlMs ?? DEFAULT_INTERMEDIATE_TTL_MS;
  checkTtl(ttlMs, 'intermediate CA');
  const now = options.now ?? (options.clock ?? systemClock).wallNow();
  const rootNotAfter = root.cert.notAfter.getTime();
  if (now >= rootNotAfter) throw new CaSigningError(`root ${root.cert.subject} expired at ${root.cert.notAfter.toISOString()}`);
  if (now < root.cert.notBefore.getTime()) throw new CaSigningError(`root ${root.cert.subject} is not valid yet`);
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CaSigningError('intermediate key must be ECDSA P-256');
  if (!(await csr.verify())) throw new CaSigningError('intermediate CSR signature does not verify');
  const cert = await x509.X509CertificateGenerator.create({
    subject: csr.subjectName,
    issuer: root.cert.subjectName,
    publicKey: csr.publicKey,
    signingKey: root.privateKey,
    signingAlgorithm: EC_SIGN_ALG,
    serialNumber: randomHex(16),
    notBefore: toCertTime(now),
    notAfter: toCertTime(Math.min(now + ttlMs, rootNotAfter)),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      new x509.AuthorityKeyIdentifierExtension(subjectKeyId(root.cert)),
    ],
  });
  return `${cert.toString('pem')}\n`;
}

/**
 * Creates an issuing CA: generates its key here, asks `root` to sign a CSR for it, and returns the
 * key with its chain and a trust bundle of the root (plus `extraRootPems`, e.g. during a rotation).
 */
export async function createIntermediateCa(
  root: CaKeyPair,
  options: IntermediateCaOptions & { extraRootPems?: readonly string[] } = {},
): Promise<IssuingCa> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `O=Ferry, CN=Ferry Issuing CA ${randomHex(4)}`,
    keys,
    signingAlgorithm: EC_SIGN_ALG,
  });
  const certPem = await signIntermediateCsr(root, csr.toString('pem'), options);
  const trustBundle = new TrustBundle([root.certPem, ...(options.extraRootPems ?? [])]);
  return {
    certPem,
    cert: new x509.X509Certificate(certPem),
    privateKey: keys.privateKey,
    chainPem: certPem + root.certPem,
    trustBundle,
  };
}

/** Writes ca-cert.pem, ca-key.pem (0600), cert-chain.pem and root-cert.pem (the trust bundle) into `dir`. */
export async function saveIntermediateCa(dir: string, ca: IssuingCa): Promise<string[]> {
  return [
    await writePemFile(dir, CA_KEY_FILE, await exportPrivateKeyPem(ca.privateKey), SECRET_MODE),
    await writePemFile(dir, CA_CERT_FILE, ca.certPem, PUBLIC_MODE),
    await writePemFile(dir, CERT_CHAIN_FILE, ca.chainPem, PUBLIC_MODE),
    await writePemFile(dir, TRUST_BUNDLE_FILE, ca.trustBundle.toPem(), PUBLIC_MODE),
  ];
}

/** Loads an issuing CA saved by saveIntermediateCa; the key must match and the chain must verify against the bundle at `now` (wall-clock ms). */
export async function loadIntermediateCa(dir: string, now: number = systemClock.wallNow()): Promise<IssuingCa> {
  const pair = await loadCaKeyPair(dir, CA_CERT_FILE, CA_KEY_FILE);
  const chainPem = await readPemFile(dir, CERT_CHAIN_FILE);
  const trustBundle = TrustBundle.fromPem(await readPemFile(dir, TRUST_BUNDLE_FILE));
  trustBundle.verifyChain([pair.certPem], now);
  return { ...pair, chainPem, trustBundle };
}
