// The sidecar's workload identity as TLS sees it: the current certificate, key and trust bundle,
// and how TLS settings that name the identity (SDS `default` / `ROOTCA`) resolve against it.

import type * as tls from 'node:tls';
import type { DownstreamTlsConfig, UpstreamTlsConfig } from '../../src/config/types';

export interface WorkloadCertificate {
  readonly keyPem: string;
  /** Leaf first, then intermediates. */
  readonly certChainPem: string;
  readonly trustBundlePem: string;
  readonly spiffeId: string;
  readonly notAfter: Date;
}

/** Where the proxy gets its identity (the identity manager, or fixed files). */
export interface WorkloadIdentity {
  current(): WorkloadCertificate | null;
  /** Called after each rotation; returns an unsubscribe function. */
  onRotate(cb: () => void): () => void;
}

/** A fixed identity (tests, or certificates mounted as files and rotated by someone else). */
export class StaticIdentity implements WorkloadIdentity {
  private readonly listeners = new Set<() => void>();
  constructor(private cert: WorkloadCertificate | null) {}
  current(): WorkloadCertificate | null {
    return this.cert;
  }
  onRotate(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  /** Replaces the certificate and tells every TLS user. */
  set(cert: WorkloadCertificate): void {
    this.cert = cert;
    for (const cb of this.listeners) cb();
  }
}

/** The certificate, key and CA a TLS context needs, with the workload identity filled in. */
export interface TlsMaterial {
  readonly cert: Buffer | string | undefined;
  readonly key: Buffer | string | undefined;
  readonly ca: Buffer | string | undefined;
}

export class MissingIdentityError extends Error {
  readonly code = 'ERR_FERRY_NO_IDENTITY';
  constructor() {
    super('the workload certificate is not available yet');
  }
}

function material(
  t: { certChain: Buffer | null; privateKey: Buffer | null; ca: Buffer | null; workloadCertificate: boolean; workloadTrustBundle: boolean },
  id: WorkloadIdentity | null,
): TlsMaterial {
  const needs = t.workloadCertificate || t.workloadTrustBundle;
  const cur = needs ? (id?.current() ?? null) : null;
  if (needs && cur === null) throw new MissingIdentityError();
  return {
    cert: t.workloadCertificate ? cur!.certChainPem : (t.certChain ?? undefined),
    key: t.workloadCertificate ? cur!.keyPem : (t.privateKey ?? undefined),
    ca: t.workloadTrustBundle ? cur!.trustBundlePem : (t.ca ?? undefined),
  };
}

export function upstreamMaterial(t: UpstreamTlsConfig, id: WorkloadIdentity | null): TlsMaterial {
  return material(t, id);
}

/** Options for a TLS server context (a filter chain's DownstreamTlsContext). */
export function downstreamSecureOptions(t: DownstreamTlsConfig, id: WorkloadIdentity | null): tls.SecureContextOptions {
  const m = material(t, id);
  return { cert: m.cert, key: m.key, ca: m.ca, minVersion: t.minVersion ?? undefined, maxVersion: t.maxVersion ?? undefined };
}

export function usesIdentity(t: { workloadCertificate: boolean; workloadTrustBundle: boolean } | null): boolean {
  return t !== null && (t.workloadCertificate || t.workloadTrustBundle);
}

/** What the identity manager offers (sidecar/identity/), seen through this module's interface. */
export interface IdentityManagerLike {
  current(): { readonly key: string; readonly certChainPem: string; readonly trustBundlePem: string; readonly spiffeId: string; readonly notAfter: Date } | null;
  onRotate(cb: (identity: unknown) => void): () => void;
}

/** Adapts the identity manager to the data plane's WorkloadIdentity. */
export function identityOf(m: IdentityManagerLike): WorkloadIdentity {
  return {
    current() {
      const c = m.current();
      return c === null ? null : { keyPem: c.key, certChainPem: c.certChainPem, trustBundlePem: c.trustBundlePem, spiffeId: c.spiffeId, notAfter: c.notAfter };
    },
    onRotate(cb) {
      return m.onRotate(() => cb());
    },
  };
}
