// Test support for certs/: builds a throw-away root → issuing CA → issuer and workload certificates.

import { createWorkloadCsr } from './csr';
import { IssuingCa, createIntermediateCa } from './intermediate-ca';
import { IssuedCertificate, WorkloadIssuer, WorkloadIssuerOptions } from './issuer';
import { CaKeyPair, createRootCa } from './root-ca';
import { systemClock } from '../src/clock/clock';
import { FakeClock } from '../src/clock/fake-clock.fixture';

export interface TestPki {
  readonly root: CaKeyPair;
  readonly ca: IssuingCa;
  readonly issuer: WorkloadIssuer;
}

/** A root and issuing CA created at `now` (default: real now), and an issuer whose clock stands still at `now` (unless `issuer.clock`). */
export async function makeTestPki(
  options: { now?: number; rootTtlMs?: number; caTtlMs?: number; issuer?: WorkloadIssuerOptions } = {},
): Promise<TestPki> {
  const now = options.now ?? systemClock.wallNow();
  const root = await createRootCa({ now, ttlMs: options.rootTtlMs });
  const ca = await createIntermediateCa(root, { now, ttlMs: options.caTtlMs });
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, now), ...options.issuer });
  return { root, ca, issuer };
}

/** A workload's key (generated here) and the certificate the issuer gave it. */
export interface TestWorkload extends IssuedCertificate {
  readonly keyPem: string;
  /** Leaf + issuing CA as one PEM, for node:tls `cert`. */
  readonly chainPem: string;
}

export async function issueWorkload(issuer: WorkloadIssuer, spiffeId: string, ttlMs?: number): Promise<TestWorkload> {
  const csr = await createWorkloadCsr(spiffeId);
  const issued = await issuer.sign(csr.csrPem, spiffeId, ttlMs);
  return { ...issued, keyPem: csr.privateKeyPem, chainPem: issued.certChainPem.join('') };
}
