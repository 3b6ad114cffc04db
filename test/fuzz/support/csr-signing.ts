// A fixed test key that signs CertificationRequestInfos for the CSR fuzz target and its seeds.

import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { TAG, oid, tlv, toPem } from '../../../certs/der';

/** The caller the CA authenticated (from its token), the same for every input. */
export const CALLER = 'spiffe://cluster.local/ns/shop/sa/web';

/** A throwaway P-256 key, only for signing fuzz inputs. */
export const TEST_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEpBVFbuLbh3YSxtP
3pPnHnBso2Uo65XxEDjwtLqrcKihRANCAASg4zHKmMwK+ndV9FnpdSeom0QOFqcC
bEeJVSWLzyAkbU4VO9Q2OBM9aR4Rone4EjGW9MDNt3QD98toyw0gsHik
-----END PRIVATE KEY-----
`;
const testKey = createPrivateKey(TEST_KEY_PEM);

/** The test key's SubjectPublicKeyInfo (DER). */
export const TEST_SPKI = createPublicKey(testKey).export({ type: 'spki', format: 'der' });
const ECDSA_SHA256 = tlv(TAG.SEQUENCE, oid('1.2.840.10045.4.3.2'));

/** A CertificationRequestInfo (DER) signed with the test key, as PEM. */
export function signInfo(info: Buffer): string {
  const signature = sign('sha256', info, testKey);
  const der = tlv(TAG.SEQUENCE, info, ECDSA_SHA256, tlv(TAG.BIT_STRING, Buffer.from([0]), signature));
  return toPem(der, 'CERTIFICATE REQUEST');
}
