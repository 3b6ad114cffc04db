// The controller's own serving certificate: issued in-process by the mesh CA, rotated at half-life, fed live into grpc-js TLS.

import { ServerCredentials, experimental } from '@grpc/grpc-js';
import { createWorkloadCsr } from '../../../certs/csr';
import type { IssuedCertificate, WorkloadIssuer } from '../../../certs/issuer';
import { nextRotationAt } from '../../../certs/rotation';
import { buildSpiffeId } from '../../../certs/spiffe';
import { systemClock, type Clock, type Timer } from '../../clock/clock';
import { Logger, rootLogger } from '../../observability/logger';
import { meshPortInterceptor } from './mesh-auth-interceptor';

/** The controller's ServiceAccount; its SPIFFE ID is what sidecars expect from port 15012. */
export { CONTROLLER_SERVICE_ACCOUNT } from '../../mesh/constants';
import { CONTROLLER_SERVICE_ACCOUNT } from '../../mesh/constants';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface ServingIdentityOptions {
  readonly issuer: WorkloadIssuer;
  readonly trustDomain: string;
  /** The namespace the controller runs in (default ferry-system). */
  readonly namespace: string;
  readonly serviceAccount?: string;
  /** Lifetime of each serving certificate; default the issuer's default (24 h). */
  readonly ttlMs?: number;
  /** Delay before retrying a failed renewal; default 30 s. */
  readonly retryMs?: number;
  readonly random?: () => number;
  readonly logger?: Logger;
  /** Wall-clock time (certificates are wall-clock) and the renewal timer; default systemClock. */
  readonly clock?: Clock;
}

/**
 * Holds the controller's key and certificate and renews them at 40–60 % of their life. It is a grpc-js
 * CertificateProvider for both the identity and the trust bundle, so a renewal (or a root added to
 * the bundle) reaches the TLS server without a restart; established connections keep their session.
 */
export class ServingIdentity implements experimental.CertificateProvider {
  readonly spiffeId: string;
  #current: { issued: IssuedCertificate; keyPem: string } | null = null;
  #timer: Timer | null = null;
  #stopped = false;
  readonly #caListeners = new Set<CaListener>();
  readonly #idListeners = new Set<IdentityListener>();
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(private readonly opts: ServingIdentityOptions) {
    this.spiffeId = buildSpiffeId(opts.trustDomain, opts.namespace, opts.serviceAccount ?? CONTROLLER_SERVICE_ACCOUNT);
    this.#log = opts.logger ?? rootLogger.child('serving-identity');
    this.#clock = opts.clock ?? systemClock;
  }

  /** Issues the first certificate; rejects if the issuer cannot sign (the controller must not start without one). */
  async start(): Promise<void> {
    await this.#renew();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * Re-issues the serving certificate now and hands the TLS server the issuer's current trust bundle:
   * after the CA directory changed (a root added or removed, a new issuing CA), so the controller's
   * own certificate and the client certificates it accepts follow at once. On failure the current one stays.
   */
  async refresh(): Promise<void> {
    if (this.#stopped) return;
    await this.#renew();
  }

  get current(): IssuedCertificate | null {
    return this.#current?.issued ?? null;
  }

  /** TLS for the mTLS port: this identity, client certificates requested (not required), per-method checks. */
  serverCredentials(): ServerCredentials {
    const tls = experimental.createCertificateProviderServerCredentials(this, this, false);
    return experimental.createServerCredentialsWithInterceptors(tls, [meshPortInterceptor(this.opts.trustDomain)]);
  }

  async #renew(): Promise<void> {
    const csr = await createWorkloadCsr(this.spiffeId);
    const issued = await this.opts.issuer.sign(csr.csrPem, this.spiffeId, this.opts.ttlMs);
    if (this.#stopped) return;
    this.#current = { issued, keyPem: csr.privateKeyPem };
    this.#log.info('serving certificate issued', { spiffeId: this.spiffeId, serial: issued.serialNumber, notAfter: new Date(issued.notAfter).toISOString() });
    for (const l of this.#idListeners) l(this.#identityUpdate());
    for (const l of this.#caListeners) l(this.#caUpdate());
    const at = nextRotationAt(issued.notBefore, issued.notAfter, this.opts.random ?? Math.random);
    this.#schedule(Math.max(0, at - this.#clock.wallNow()));
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#renew().catch((err: unknown) => {
        this.#log.error('serving certificate renewal failed; keeping the current one', { err });
        const left = (this.#current?.issued.notAfter ?? 0) - this.#clock.wallNow();
        this.#schedule(Math.min(this.opts.retryMs ?? 30_000, Math.max(1000, left / 4)));
      });
    }, ms);
    this.#timer.unref();
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const c = this.#current;
    return c ? { certificate: Buffer.from(c.issued.certChainPem.join('')), privateKey: Buffer.from(c.keyPem) } : null;
  }

  #caUpdate(): experimental.CaCertificateUpdate | null {
    const c = this.#current;
    return c ? { caCertificate: Buffer.from(this.opts.issuer.trustBundle.toPem()) } : null;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Asynchronously, as grpc-js's own providers do: its credentials register their watcher after this returns.
    process.nextTick(() => this.#caListeners.has(listener) && listener(this.#caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#idListeners.add(listener);
    process.nextTick(() => this.#idListeners.has(listener) && listener(this.#identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#idListeners.delete(listener);
  }
}
