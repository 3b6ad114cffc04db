// gRPC channel credentials from the workload identity: mTLS with the current certificate (following rotations), server checked by SPIFFE ID.

import * as grpc from '@grpc/grpc-js';
import { verifyServerSpiffeId } from './ca-client';
import type { WorkloadIdentity } from './identity-manager';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdListener = grpc.experimental.IdentityCertificateUpdateListener;

/** What the credentials read: an IdentityManager, or anything with the same two methods. */
export interface IdentitySource {
  current(): WorkloadIdentity | null;
  onRotate(cb: (identity: WorkloadIdentity) => void): () => void;
}

/** A grpc-js CertificateProvider for both the trust bundle and the key pair, updated on every rotation. */
class IdentityCertificateProvider implements grpc.experimental.CertificateProvider {
  readonly #ca = new Set<CaListener>();
  readonly #id = new Set<IdListener>();
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly source: IdentitySource) {}

  #caUpdate(i: WorkloadIdentity | null): grpc.experimental.CaCertificateUpdate | null {
    return i ? { caCertificate: Buffer.from(i.trustBundlePem) } : null;
  }

  #idUpdate(i: WorkloadIdentity | null): grpc.experimental.IdentityCertificateUpdate | null {
    return i ? { certificate: Buffer.from(i.certChainPem), privateKey: Buffer.from(i.key) } : null;
  }

  #watch(): void {
    if (this.#unsubscribe || this.#ca.size + this.#id.size === 0) return;
    this.#unsubscribe = this.source.onRotate((i) => {
      for (const l of this.#ca) l(this.#caUpdate(i));
      for (const l of this.#id) l(this.#idUpdate(i));
    });
  }

  #unwatch(): void {
    if (this.#ca.size + this.#id.size > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  addCaCertificateListener(l: CaListener): void {
    this.#ca.add(l);
    this.#watch();
    const cur = this.source.current();
    if (cur) process.nextTick(() => this.#ca.has(l) && l(this.#caUpdate(this.source.current())));
  }

  removeCaCertificateListener(l: CaListener): void {
    this.#ca.delete(l);
    this.#unwatch();
  }

  addIdentityCertificateListener(l: IdListener): void {
    this.#id.add(l);
    this.#watch();
    const cur = this.source.current();
    if (cur) process.nextTick(() => this.#id.has(l) && l(this.#idUpdate(this.source.current())));
  }

  removeIdentityCertificateListener(l: IdListener): void {
    this.#id.delete(l);
    this.#unwatch();
  }
}

/**
 * mTLS channel credentials for the ADS stream (or any gRPC call to a mesh peer): presents the
 * identity's current certificate, trusts its bundle, and accepts the server only if its certificate's
 * single URI SAN is `expectedServerSpiffeId` (the host name is not used). Every new connection uses
 * the certificate current at that moment, so a rotation needs no new channel; open connections keep
 * the session they negotiated. Connections wait until the identity has its first certificate.
 */
export function identityChannelCredentials(identity: IdentitySource, expectedServerSpiffeId: string): grpc.ChannelCredentials {
  const provider = new IdentityCertificateProvider(identity);
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: (_host, cert) => verifyServerSpiffeId(cert, expectedServerSpiffeId),
  });
}
