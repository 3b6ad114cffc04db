// Workload CSRs: creates one with an in-process P-256 key, and checks one against the identity the caller authenticated.

import { FerryError } from '../src/errors';
import { parseSpiffeId } from './spiffe';
import { EC_SIGN_ALG, exportPrivateKeyPem, generateKeyPair, x509, type CryptoKeyPair, type EcKeyAlgorithm } from './x509';

/** Stable reasons a CSR is refused; also the `reason` label of ferry_ca_csr_rejected_total. */
export type CsrRejectReason =
  | 'malformed'
  | 'too_large'
  | 'bad_signature'
  | 'wrong_signature_algorithm'
  | 'wrong_key_type'
  | 'missing_identity'
  | 'identity_mismatch'
  | 'extra_sans'
  | 'ca_requested'
  | 'bad_ttl';

export const CSR_REJECT_REASONS: readonly CsrRejectReason[] = Object.freeze([
  'malformed',
  'too_large',
  'bad_signature',
  'wrong_signature_algorithm',
  'wrong_key_type',
  'missing_identity',
  'identity_mismatch',
  'extra_sans',
  'ca_requested',
  'bad_ttl',
]);

/** The CA refused a CSR; `reason` says why (maps to gRPC PermissionDenied / InvalidArgument upstream). */
export class CsrRejectedError extends FerryError {
  readonly reason: CsrRejectReason;
  constructor(reason: CsrRejectReason, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CSR_REJECTED', `csr rejected (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** A CSR and the key pair behind it; the key stays with the caller that generated it. */
export interface WorkloadCsr {
  readonly csrPem: string;
  readonly keys: CryptoKeyPair;
  /** PKCS#8 PEM of the private key, for node:tls in this same process. */
  readonly privateKeyPem: string;
}

/** What a validated CSR contributes to a certificate. */
export interface ValidatedCsr {
  readonly publicKey: x509.PublicKey;
  readonly spiffeId: string;
}

/** CSRs larger than this are refused before parsing (a workload CSR is well under 1 KiB). */
export const MAX_CSR_PEM_LENGTH = 16 * 1024;

const SAN_OID = '2.5.29.17';
const BASIC_CONSTRAINTS_OID = '2.5.29.19';

/** Generates a P-256 key here and a CSR carrying `spiffeId` as its only SAN (a URI), empty subject. */
export async function createWorkloadCsr(spiffeId: string): Promise<WorkloadCsr> {
  parseSpiffeId(spiffeId);
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_SIGN_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return { csrPem: `${csr.toString('pem')}\n`, keys, privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}

function parse(csrPem: string): x509.Pkcs10CertificateRequest {
  if (csrPem.length > MAX_CSR_PEM_LENGTH) {
    throw new CsrRejectedError('too_large', `CSR is ${csrPem.length} bytes, limit ${MAX_CSR_PEM_LENGTH}`);
  }
  if (!csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new CsrRejectedError('malformed', 'not a PEM "CERTIFICATE REQUEST"');
  }
  try {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    // Touch the lazily parsed parts so malformed content fails here, not later.
    void csr.publicKey.algorithm;
    void csr.extensions;
    return csr;
  } catch (err) {
    throw new CsrRejectedError('malformed', 'CSR does not parse as PKCS#10', { cause: err });
  }
}

function sanNames(ext: x509.Extension): x509.JsonGeneralNames {
  try {
    return new x509.SubjectAlternativeNameExtension(ext.rawData).names.toJSON();
  } catch (err) {
    // otherName, X.400 and EDI names do not parse; none of them is acceptable anyway.
    throw new CsrRejectedError('extra_sans', 'CSR carries a SAN type other than URI', { cause: err });
  }
}

/**
 * Checks a CSR from an authenticated workload: signature valid, ECDSA P-256 key signed with SHA-256,
 * exactly one SAN which is a URI equal to `expectedSpiffeId` (derived by the caller from the token),
 * no DNS/IP/email/other SANs, and no request for a CA certificate. Throws CsrRejectedError.
 * The subject and any other requested extensions are ignored: the issuer decides every extension.
 */
export async function validateCsr(csrPem: string, expectedSpiffeId: string): Promise<ValidatedCsr> {
  parseSpiffeId(expectedSpiffeId); // the caller's identity must itself be well-formed (SpiffeIdError)
  const csr = parse(csrPem);
  const keyAlg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (keyAlg.name !== 'ECDSA' || keyAlg.namedCurve !== 'P-256') {
    throw new CsrRejectedError('wrong_key_type', `key is ${keyAlg.name} ${keyAlg.namedCurve ?? ''}, want ECDSA P-256`.trim());
  }
  const sigAlg = csr.signatureAlgorithm as unknown as { name: string; hash?: { name: string } };
  if (sigAlg.name !== 'ECDSA' || sigAlg.hash?.name !== 'SHA-256') {
    throw new CsrRejectedError('wrong_signature_algorithm', `signed with ${sigAlg.name}/${sigAlg.hash?.name}, want ECDSA/SHA-256`);
  }
  let signatureOk = false;
  try {
    signatureOk = await csr.verify();
  } catch (err) {
    throw new CsrRejectedError('bad_signature', 'CSR signature could not be checked', { cause: err });
  }
  if (!signatureOk) throw new CsrRejectedError('bad_signature', 'CSR signature does not verify with its own key');

  const exts = csr.extensions;
  for (const ext of exts) {
    if (ext.type === BASIC_CONSTRAINTS_OID && new x509.BasicConstraintsExtension(ext.rawData).ca) {
      throw new CsrRejectedError('ca_requested', 'CSR asks for a CA certificate');
    }
  }
  const sanExts = exts.filter((e) => e.type === SAN_OID);
  if (sanExts.length === 0) throw new CsrRejectedError('missing_identity', 'CSR has no subjectAltName');
  if (sanExts.length > 1) throw new CsrRejectedError('extra_sans', 'CSR has more than one subjectAltName extension');
  const names = sanNames(sanExts[0]);
  const uris = names.filter((n) => n.type === 'url');
  if (uris.length === 0) throw new CsrRejectedError('missing_identity', 'CSR has no URI SAN');
  if (names.length !== 1) {
    const kinds = names.map((n) => n.type).join(',');
    throw new CsrRejectedError('extra_sans', `CSR must carry exactly one URI SAN, has [${kinds}]`);
  }
  if (uris[0].value !== expectedSpiffeId) {
    throw new CsrRejectedError(
      'identity_mismatch',
      `CSR asks for ${JSON.stringify(uris[0].value)}, caller is ${JSON.stringify(expectedSpiffeId)}`,
    );
  }
  return { publicKey: csr.publicKey, spiffeId: expectedSpiffeId };
}
