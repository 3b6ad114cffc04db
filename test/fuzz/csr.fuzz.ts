// Fuzz target: the CA's check of a workload CSR (PEM → strict DER PKCS#10 → key, signature, SAN checks).
//
// Input: a flags byte, then either (bit 0 clear) the CSR PEM text as a workload sends it, or (bit 0
// set) a CertificationRequestInfo in DER that the target signs with a fixed test key, so mutations
// get past the signature check into the extension and SAN checks. Expected: CsrRejectedError with
// one of the documented reasons. Asserted: an accepted CSR names exactly the caller's SPIFFE ID and
// carries a P-256 public key.

import { createPublicKey } from 'node:crypto';
import { CSR_REJECT_REASONS, CsrRejectedError, validateCsrSync } from '../../certs/csr';
import { CALLER, signInfo } from './support/csr-signing';
import { expectOnly, invariant } from './support/fuzz-support';

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const pem = (data[0] & 1) === 0 ? data.subarray(1).toString('latin1') : signInfo(data.subarray(1));
  const r = expectOnly(() => validateCsrSync(pem, CALLER), CsrRejectedError);
  if (r.error !== null) {
    const reason = (r.error as CsrRejectedError).reason;
    invariant(CSR_REJECT_REASONS.includes(reason), `undocumented reason ${reason}`);
    return;
  }
  invariant(r.value.spiffeId === CALLER, `accepted for ${r.value.spiffeId}`);
  const key = createPublicKey({ key: r.value.spki, format: 'der', type: 'spki' });
  invariant(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1', 'accepted a key that is not P-256');
}
