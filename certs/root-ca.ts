// The mesh root CA: a self-signed ECDSA P-256 certificate (10 years by default) and its key, on disk as PEM.

import { systemClock, type Clock } from '../src/clock/clock';
import { FerryError } from '../src/errors';
import { PUBLIC_MODE, SECRET_MODE, readPemFile, writePemFile } from './pem-files';
import {
  EC_KEY_ALG,
  EC_SIGN_ALG,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  nodeCrypto,
  randomHex,
  toCertTime,
  x509,
  type CryptoKey,
} from './x509';

/** A CA certificate together with the private key that signs with it (kept in this process). */
export interface CaKeyPair {
  readonly certPem: string;
  readonly cert: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

export interface RootCaOptions {
  /** Lifetime; default 10 years. */
  readonly ttlMs?: number;
  /** Issue time in ms; default now on `clock`. */
  readonly now?: number;
  /** Reads the issue time when `now` is not given (wall clock); default systemClock. */
  readonly clock?: Clock;
  /** Intermediates allowed below the root; default 1 (root → issuing CA → workload). */
  readonly pathLen?: number;
}

export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';
export const DEFAULT_ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

/** Key usage of every CA certificate in the mesh. */
export const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

export function checkTtl(ttlMs: number, what: string): void {
  if (!Number.isFinite(ttlMs) || ttlMs < 1000) {
    throw new FerryError('FERRY_ERR_CERTS_TTL', `${what}: lifetime must be at least one second, got ${ttlMs} ms`);
  }
}

/** Creates a new root CA with a fresh key generated here. Subject `O=Ferry, CN=Ferry Root CA <id>`. */
export async function createRootCa(options: RootCaOptions = {}): Promise<CaKeyPair> {
  const ttlMs = options.ttlMs ?? DEFAULT_ROOT_TTL_MS;
  checkTtl(ttlMs, 'root CA');
  const now = options.now ?? (options.clock ?? systemClock).wallNow();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=Ferry, CN=Ferry Root CA ${randomHex(4)}`,
    keys,
    serialNumber: randomHex(16),
    notBefore: toCertTime(now),
    notAfter: toCertTime(now + ttlMs),
    signingAlgorithm: EC_SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, options.pathLen ?? 1, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, cert, privateKey: keys.privateKey };
}

/** Writes root-cert.pem (0644) and root-key.pem (0600) into `dir`; returns the two paths. */
export async function saveRootCa(dir: string, root: CaKeyPair): Promise<{ certFile: string; keyFile: string }> {
  const keyFile = await writePemFile(dir, ROOT_KEY_FILE, await exportPrivateKeyPem(root.privateKey), SECRET_MODE);
  const certFile = await writePemFile(dir, ROOT_CERT_FILE, root.certPem, PUBLIC_MODE);
  return { certFile, keyFile };
}

/** Loads a root CA saved by saveRootCa and checks that the key belongs to the certificate. */
export async function loadRootCa(dir: string): Promise<CaKeyPair> {
  return loadCaKeyPair(dir, ROOT_CERT_FILE, ROOT_KEY_FILE);
}

/** Loads a CA certificate and key, refusing a key that does not match the certificate. */
export async function loadCaKeyPair(dir: string, certName: string, keyName: string): Promise<CaKeyPair> {
  const certPem = await readPemFile(dir, certName);
  const keyPem = await readPemFile(dir, keyName);
  let cert: x509.X509Certificate;
  let privateKey: CryptoKey;
  try {
    cert = new x509.X509Certificate(certPem);
    privateKey = await importPrivateKeyPem(keyPem);
  } catch (err) {
    throw new FerryError('FERRY_ERR_CERTS_FILE', `${dir}: ${certName}/${keyName} do not parse as an ECDSA P-256 certificate and PKCS#8 key`, { cause: err });
  }
  if (!(await keyMatchesCert(privateKey, cert))) {
    throw new FerryError('FERRY_ERR_CERTS_FILE', `${dir}: ${keyName} is not the key of ${certName}`);
  }
  return { certPem, cert, privateKey };
}

/** Signs a probe with `key` and verifies it with the certificate's public key. */
export async function keyMatchesCert(key: CryptoKey, cert: x509.X509Certificate): Promise<boolean> {
  const probe = new TextEncoder().encode('ferry key probe');
  const sig = await nodeCrypto.subtle.sign(EC_SIGN_ALG, key, probe);
  const pub = await cert.publicKey.export(EC_KEY_ALG, ['verify']);
  return nodeCrypto.subtle.verify(EC_SIGN_ALG, pub, sig, probe);
}
