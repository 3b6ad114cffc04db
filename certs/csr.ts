// Workload CSRs: creates one with an in-process P-256 key, and checks one against the identity the caller authenticated.

import { verify } from 'node:crypto';
import { FerryError } from '../src/errors';
import { DerError, TAG, Tlv, children, content, fromPem, oid, raw, readWhole } from './der';
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
  /** The workload's SubjectPublicKeyInfo (DER), ECDSA P-256, as it appeared in the CSR. */
  readonly spki: Buffer;
  readonly spiffeId: string;
}

/** CSRs larger than this are refused before parsing (a workload CSR is well under 1 KiB). */
export const MAX_CSR_PEM_LENGTH = 16 * 1024;

const OID_EC_PUBLIC_KEY = oid('1.2.840.10045.2.1');
const OID_P256 = oid('1.2.840.10045.3.1.7');
const OID_ECDSA_SHA256 = oid('1.2.840.10045.4.3.2');
const OID_EXTENSION_REQUEST = oid('1.2.840.113549.1.9.14');
const OID_SAN = oid('2.5.29.17');
const OID_BASIC_CONSTRAINTS = oid('2.5.29.19');
/** GeneralName [6] uniformResourceIdentifier, primitive. */
const GN_URI = 0x86;

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

interface ParsedCsr {
  readonly info: Buffer;
  readonly spki: Buffer;
  readonly keyAlg: Buffer;
  readonly keyParams: Buffer | undefined;
  /** The signature AlgorithmIdentifier's parts (algorithm OID, parameters if any). */
  readonly sigAlgParts: Tlv[];
  readonly signature: Buffer;
  /** Every extension requested, from every extensionRequest attribute: [oid, value]. */
  readonly extensions: Array<{ oid: Buffer; value: Tlv }>;
}

/** Strict PKCS#10 parse (RFC 2986); any structural fault is `malformed`. */
function parse(csrPem: string): ParsedCsr {
  if (csrPem.length > MAX_CSR_PEM_LENGTH) {
    throw new CsrRejectedError('too_large', `CSR is ${csrPem.length} bytes, limit ${MAX_CSR_PEM_LENGTH}`);
  }
  const der = fromPem(csrPem, 'CERTIFICATE REQUEST');
  if (!der) throw new CsrRejectedError('malformed', 'not a PEM "CERTIFICATE REQUEST"');
  try {
    const [info, sigAlg, sig, ...more] = children(readWhole(der));
    if (!info || !sigAlg || !sig || more.length > 0) throw new DerError('CertificationRequest must have 3 parts');
    if (info.tag !== TAG.SEQUENCE || sigAlg.tag !== TAG.SEQUENCE || sig.tag !== TAG.BIT_STRING) throw new DerError('bad outer tags');
    const [version, subject, spki, attrs, ...rest] = children(info);
    if (!version || !subject || !spki || rest.length > 0) throw new DerError('CertificationRequestInfo must have 4 parts');
    if (version.tag !== TAG.INTEGER || !content(version).equals(Buffer.from([0]))) throw new DerError('version must be 0');
    if (subject.tag !== TAG.SEQUENCE || spki.tag !== TAG.SEQUENCE) throw new DerError('bad subject/spki tags');
    const [alg, key, ...spkiRest] = children(spki);
    if (!alg || !key || spkiRest.length > 0 || alg.tag !== TAG.SEQUENCE || key.tag !== TAG.BIT_STRING) throw new DerError('bad SubjectPublicKeyInfo');
    const [keyAlg, keyParams, ...algRest] = children(alg);
    if (!keyAlg || keyAlg.tag !== TAG.OID || algRest.length > 0) throw new DerError('bad key AlgorithmIdentifier');
    const sigBits = content(sig);
    if (sigBits.length < 2 || sigBits[0] !== 0) throw new DerError('signature BIT STRING has unused bits');
    const extensions: ParsedCsr['extensions'] = [];
    if (attrs) {
      if (attrs.tag !== 0xa0) throw new DerError('attributes must be [0]');
      for (const attr of children(attrs)) {
        const [type, values, ...attrRest] = children(attr);
        if (attr.tag !== TAG.SEQUENCE || !type || type.tag !== TAG.OID || !values || values.tag !== TAG.SET || attrRest.length > 0) {
          throw new DerError('bad Attribute');
        }
        if (!raw(type).equals(OID_EXTENSION_REQUEST)) continue;
        for (const exts of children(values)) {
          if (exts.tag !== TAG.SEQUENCE) throw new DerError('bad Extensions');
          for (const ext of children(exts)) extensions.push(parseExtension(ext));
        }
      }
    }
    return {
      info: raw(info),
      spki: raw(spki),
      keyAlg: raw(keyAlg),
      keyParams: keyParams && raw(keyParams),
      sigAlgParts: children(sigAlg),
      signature: sigBits.subarray(1),
      extensions,
    };
  } catch (err) {
    if (err instanceof CsrRejectedError) throw err;
    throw new CsrRejectedError('malformed', `CSR does not parse as DER PKCS#10: ${(err as Error).message}`, { cause: err });
  }
}

function parseExtension(ext: Tlv): { oid: Buffer; value: Tlv } {
  const parts = children(ext);
  if (ext.tag !== TAG.SEQUENCE || parts.length < 2 || parts.length > 3 || parts[0].tag !== TAG.OID) throw new DerError('bad Extension');
  if (parts.length === 3 && parts[1].tag !== TAG.BOOLEAN) throw new DerError('bad Extension.critical');
  const octets = parts[parts.length - 1];
  if (octets.tag !== TAG.OCTET_STRING) throw new DerError('bad Extension.extnValue');
  return { oid: raw(parts[0]), value: readWhole(content(octets)) };
}

function isCaRequest(value: Tlv): boolean {
  if (value.tag !== TAG.SEQUENCE) throw new DerError('bad BasicConstraints');
  const first = children(value)[0];
  return first !== undefined && first.tag === TAG.BOOLEAN && content(first).some((b) => b !== 0);
}

/**
 * Checks a CSR from an authenticated workload: ECDSA P-256 key, signed with ECDSA/SHA-256 by that key,
 * exactly one SAN which is a URI equal to `expectedSpiffeId` (derived by the caller from the token),
 * no DNS/IP/email/other SANs, and no request for a CA certificate. Throws CsrRejectedError.
 * The subject and any other requested extensions are ignored: the issuer decides every extension.
 */
export async function validateCsr(csrPem: string, expectedSpiffeId: string): Promise<ValidatedCsr> {
  return validateCsrSync(csrPem, expectedSpiffeId);
}

/** validateCsr without the promise (the checks are synchronous; OpenSSL verifies the signature). */
export function validateCsrSync(csrPem: string, expectedSpiffeId: string): ValidatedCsr {
  parseSpiffeId(expectedSpiffeId); // the caller's identity must itself be well-formed (SpiffeIdError)
  const csr = parse(csrPem);
  if (!csr.keyAlg.equals(OID_EC_PUBLIC_KEY) || !csr.keyParams?.equals(OID_P256)) {
    throw new CsrRejectedError('wrong_key_type', 'key must be ECDSA on P-256 (named curve)');
  }
  const sigAlgParts = csr.sigAlgParts;
  if (sigAlgParts.length !== 1 || !raw(sigAlgParts[0]).equals(OID_ECDSA_SHA256)) {
    throw new CsrRejectedError('wrong_signature_algorithm', 'CSR must be signed with ECDSA/SHA-256');
  }
  let signatureOk = false;
  try {
    signatureOk = verify('sha256', csr.info, { key: csr.spki, format: 'der', type: 'spki' }, csr.signature);
  } catch (err) {
    throw new CsrRejectedError('bad_signature', 'CSR signature could not be checked', { cause: err });
  }
  if (!signatureOk) throw new CsrRejectedError('bad_signature', 'CSR signature does not verify with its own key');

  let san: Tlv | undefined;
  try {
    for (const ext of csr.extensions) {
      if (ext.oid.equals(OID_BASIC_CONSTRAINTS) && isCaRequest(ext.value)) {
        throw new CsrRejectedError('ca_requested', 'CSR asks for a CA certificate');
      }
      if (ext.oid.equals(OID_SAN)) {
        if (san) throw new CsrRejectedError('extra_sans', 'CSR has more than one subjectAltName extension');
        san = ext.value;
      }
    }
    if (!san) throw new CsrRejectedError('missing_identity', 'CSR has no subjectAltName');
    if (san.tag !== TAG.SEQUENCE) throw new DerError('bad GeneralNames');
    const names = children(san);
    const uris = names.filter((n) => n.tag === GN_URI);
    if (uris.length === 0) throw new CsrRejectedError('missing_identity', 'CSR has no URI SAN');
    if (names.length !== 1) {
      const kinds = names.map((n) => `[${n.tag & 0x1f}]`).join(',');
      throw new CsrRejectedError('extra_sans', `CSR must carry exactly one URI SAN, has GeneralNames ${kinds}`);
    }
    const uri = content(uris[0]);
    if (uri.some((b) => b > 0x7e || b < 0x21)) throw new DerError('URI SAN is not printable ASCII');
    const asked = uri.toString('latin1');
    if (asked !== expectedSpiffeId) {
      throw new CsrRejectedError(
        'identity_mismatch',
        `CSR asks for ${JSON.stringify(asked)}, caller is ${JSON.stringify(expectedSpiffeId)}`,
      );
    }
  } catch (err) {
    if (err instanceof CsrRejectedError) throw err;
    throw new CsrRejectedError('malformed', `CSR extensions do not parse: ${(err as Error).message}`, { cause: err });
  }
  return { spki: Buffer.from(csr.spki), spiffeId: expectedSpiffeId };
}
