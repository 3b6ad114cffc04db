// Writes the mTLS pair's certificate files: a Ferry root → issuing CA and one SPIFFE workload certificate per hop.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { issueWorkload, makeTestPki } from '../certs/test-pki.fixture';

/** The identities of the pair's two hops: A (outbound, the client side) and B (inbound, the server side). */
export const PAIR_IDENTITIES = {
  a: 'spiffe://cluster.local/ns/bench/sa/client',
  b: 'spiffe://cluster.local/ns/bench/sa/server',
} as const;

export interface HopCertFiles {
  /** Leaf then issuing CA, PEM. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Chain and key in one file (HAProxy's `crt`). */
  readonly combinedFile: string;
  readonly spiffeId: string;
}

export interface MeshCertFiles {
  /** The trust bundle (the Ferry root), PEM: every hop verifies its peer's chain against it. */
  readonly caFile: string;
  readonly a: HopCertFiles;
  readonly b: HopCertFiles;
}

/**
 * Creates a throw-away Ferry CA (ECDSA P-256, the same code the controller's CA runs) and signs a
 * workload certificate for each hop; every proxy under test gets these same files.
 */
export async function writeMeshCerts(dir: string): Promise<MeshCertFiles> {
  const pki = await makeTestPki();
  const caFile = path.join(dir, 'mesh-ca.pem');
  writeFileSync(caFile, pki.ca.trustBundle.toPem());
  const hop = async (name: 'a' | 'b'): Promise<HopCertFiles> => {
    const w = await issueWorkload(pki.issuer, PAIR_IDENTITIES[name]);
    const certFile = path.join(dir, `mesh-${name}-cert.pem`);
    const keyFile = path.join(dir, `mesh-${name}-key.pem`);
    const combinedFile = path.join(dir, `mesh-${name}-combined.pem`);
    writeFileSync(certFile, w.chainPem);
    writeFileSync(keyFile, w.keyPem, { mode: 0o600 });
    writeFileSync(combinedFile, w.chainPem + w.keyPem, { mode: 0o600 });
    return { certFile, keyFile, combinedFile, spiffeId: w.spiffeId };
  };
  return { caFile, a: await hop('a'), b: await hop('b') };
}
