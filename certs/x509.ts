// The one door to @peculiar/x509: loads reflect-metadata first, pins Node's WebCrypto, and holds the P-256 helpers.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** WebCrypto types under their usual names (the project compiles without the DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type EcKeyAlgorithm = webcrypto.EcKeyAlgorithm;

/** Node's WebCrypto, the only provider @peculiar/x509 uses here. */
export const nodeCrypto = webcrypto;
// The library is typed against the DOM `Crypto`, which this project does not load; Node's is the same API.
x509.cryptoProvider.set(nodeCrypto as never);

export { x509 };

/** ECDSA on P-256: the only key algorithm in Ferry's PKI. */
export const EC_KEY_ALG: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
/** ECDSA with SHA-256: the only signature algorithm in Ferry's PKI. */
export const EC_SIGN_ALG: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/**
 * Generates a P-256 key pair in this process. The private key is extractable only so that it can be
 * written as PEM for node:tls or a file by the same process; it is never sent anywhere.
 */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return nodeCrypto.subtle.generateKey(EC_KEY_ALG, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("PRIVATE KEY") of a private key, as node:tls and OpenSSL read it. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await nodeCrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Imports a PKCS#8 PEM P-256 private key for signing (extractable, so it can be saved again). */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return nodeCrypto.subtle.importKey('pkcs8', der, EC_KEY_ALG, true, ['sign']);
}

/** Splits a PEM bundle into its CERTIFICATE blocks, each normalised to end with a newline. */
export function splitPemCertificates(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => `${b.trim()}\n`);
}

/** A hex string of `bytes` random bytes from the CSPRNG. */
export function randomHex(bytes: number): string {
  return Buffer.from(nodeCrypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

/** Rounds a time in ms down to whole seconds, the precision of X.509 validity times. */
export function toCertTime(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
