// The sidecar's workload identity: key made here, CSR + token to the controller's CA, renewal at half-life with jitter, back-off when the CA is down.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { createWorkloadCsr } from '../../certs/csr';
import { nextRotationAt } from '../../certs/rotation';
import { parseSpiffeId } from '../../certs/spiffe';
import { TrustBundle } from '../../certs/trust-bundle';
import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import { FerryError } from '../../src/errors';
import { Logger, rootLogger } from '../../src/observability/logger';
import { CaRequestError, requestCertificate, type CaRequest } from './ca-client';
import { identityMetrics, type IdentityMetrics } from '../../src/observability/identity-metrics';

/** What the data plane needs to speak mTLS as this workload. */
export interface WorkloadIdentity {
  /** PKCS#8 PEM; generated in this process, never sent anywhere. */
  readonly key: string;
  /** Leaf then issuing CA, one PEM document (node:tls `cert`). */
  readonly certChainPem: string;
  /** The roots to verify peers with (node:tls `ca`). */
  readonly trustBundlePem: string;
  readonly spiffeId: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint (Node's `AA:BB:…` form) of the bundle root the chain verified against. */
  readonly rootFingerprint: string;
}

/** Where the bearer token comes from: a file re-read before every request (projected tokens rotate), or a literal. */
export type TokenSource = { readonly file: string } | { readonly value: string };

export interface IdentityManagerOptions {
  /** host:port of the controller's CA (port 15012). */
  readonly caAddress: string;
  /** This workload's identity, spiffe://<td>/ns/<ns>/sa/<sa>; the CA signs it only if the token proves it. */
  readonly spiffeId: string;
  /** The controller's identity; the CA connection is refused if the server is anyone else. */
  readonly controllerSpiffeId: string;
  /** Roots (PEM) to verify the controller with until the CA sends a bundle. */
  readonly rootCertPem: string;
  readonly token: TokenSource;
  /** Requested certificate lifetime; default 0 (the CA's default, 24 h). */
  readonly ttlSeconds?: number;
  /** Back-off between failed attempts: first delay and cap, ms (default 1 s and 30 s), jittered. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Per-request deadline (default 10 s). */
  readonly requestTimeoutMs?: number;
  readonly random?: () => number;
  /** Wall-clock time (certificates are wall-clock) and the renewal timer; default systemClock. */
  readonly clock?: Clock;
  readonly metrics?: Registry;
  readonly logger?: Logger;
}

/** The identity manager was stopped before it obtained a certificate. */
export class IdentityStoppedError extends FerryError {
  constructor() {
    super('FERRY_ERR_IDENTITY_STOPPED', 'identity manager stopped before a certificate was issued');
  }
}

/**
 * Delay before retry number `attempt` (1-based): exponential from `initialMs`, capped, jittered to
 * 50–100 %, and never more than a quarter of `remainingMs` (what is left of the certificate in use,
 * but at least `initialMs`), so a CA that comes back is found with several attempts to spare (pure).
 */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number, remainingMs = Infinity): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const jittered = Math.floor(base / 2 + random() * (base / 2));
  return Math.min(jittered, Math.max(initialMs, Math.floor(remainingMs / 4)));
}

type RotateListener = (identity: WorkloadIdentity) => void;

/**
 * Obtains and renews this workload's certificate. `start()` resolves after the first certificate;
 * renewals run at 40–60 % of each lifetime (measured from when the certificate arrived), a failed
 * attempt is retried with back-off for as long as it takes, and the current certificate is served
 * until it expires (`current()` is then null, so readiness drops).
 */
export class IdentityManager {
  readonly #opts: IdentityManagerOptions;
  readonly #log: Logger;
  readonly #metrics: IdentityMetrics | null;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #listeners = new Set<RotateListener>();
  #current: WorkloadIdentity | null = null;
  #bundlePem: string;
  #timer: Timer | null = null;
  #stopped = false;
  #failures = 0;
  #firstWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #running = false;
  /** The attempt under way, so a renewal asked for meanwhile waits for it instead of racing it. */
  #inFlight: Promise<void> | null = null;
  #lastError: Error | null = null;

  constructor(opts: IdentityManagerOptions) {
    parseSpiffeId(opts.spiffeId);
    parseSpiffeId(opts.controllerSpiffeId);
    TrustBundle.fromPem(opts.rootCertPem); // fails now, not at the first renewal, on a bad root file
    this.#opts = opts;
    this.#bundlePem = opts.rootCertPem;
    this.#log = opts.logger ?? rootLogger.child('identity');
    this.#metrics = opts.metrics ? identityMetrics(opts.metrics) : null;
    this.#random = opts.random ?? Math.random;
    this.#clock = opts.clock ?? systemClock;
    this.#metrics?.watchExpiry(() => this.#current?.notAfter.getTime() ?? null, () => this.#clock.wallNow());
  }

  /** Starts the renewal loop; resolves once the first certificate is held (retrying until then). */
  start(): Promise<void> {
    if (this.#stopped) return Promise.reject(new IdentityStoppedError());
    if (this.#current) return Promise.resolve();
    const first = new Promise<void>((resolve, reject) => this.#firstWaiters.push({ resolve, reject }));
    if (!this.#running) {
      this.#running = true;
      this.#schedule(0);
    }
    return first;
  }

  /** The certificate to serve with now; null before the first one and after it expired. */
  current(): WorkloadIdentity | null {
    const c = this.#current;
    return c && this.#clock.wallNow() < c.notAfter.getTime() ? c : null;
  }

  /** Calls `cb` with every certificate obtained after subscribing (the first one too, if subscribed before start); returns an unsubscribe function. */
  onRotate(cb: RotateListener): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const w of this.#firstWaiters.splice(0)) w.reject(new IdentityStoppedError());
  }

  /** Consecutive failed attempts since the last success (for status pages). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Renews now instead of at the scheduled time (an operator after a root switch, or a test that needs
   * every certificate fresh): resolves with the new certificate, or rejects with why the attempt
   * failed; either way the loop goes on as after any attempt (a failure is retried with back-off).
   */
  async renewNow(): Promise<WorkloadIdentity> {
    if (this.#stopped) throw new IdentityStoppedError();
    if (this.#inFlight) await this.#inFlight;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = true;
    const before = this.#current;
    await this.#attempt();
    if (this.#current === null || this.#current === before) throw this.#lastError ?? new IdentityStoppedError();
    return this.#current;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      void this.#attempt();
    }, ms);
    // Before the first certificate the pending attempt is what start() waits on; afterwards it must not hold the process.
    if (this.#current) this.#timer.unref();
  }

  #attempt(): Promise<void> {
    const p = this.#attemptOnce().finally(() => {
      if (this.#inFlight === p) this.#inFlight = null;
    });
    this.#inFlight = p;
    return p;
  }

  async #attemptOnce(): Promise<void> {
    try {
      const identity = await this.#fetch();
      if (this.#stopped) return;
      this.#failures = 0;
      this.#lastError = null;
      this.#current = identity;
      const receivedAt = this.#clock.wallNow();
      const at = nextRotationAt(Math.max(identity.notBefore.getTime(), receivedAt), identity.notAfter.getTime(), this.#random);
      this.#recordSuccess(identity, at);
      this.#log.info('workload certificate issued', {
        spiffeId: identity.spiffeId,
        serial: identity.serialNumber,
        notAfter: identity.notAfter.toISOString(),
        renewAt: new Date(at).toISOString(),
      });
      this.#schedule(Math.max(0, at - receivedAt));
      for (const w of this.#firstWaiters.splice(0)) w.resolve();
      for (const cb of this.#listeners) {
        try {
          cb(identity);
        } catch (err) {
          this.#log.error('identity rotation listener failed', { err });
        }
      }
    } catch (err) {
      if (this.#stopped) return;
      this.#failures++;
      this.#lastError = err as Error;
      const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
      // Refusals (bad token, wrong identity) will not fix themselves quickly: wait the longest back-off.
      const refused = err instanceof CaRequestError && (err.grpcCode === grpc.status.UNAUTHENTICATED || err.grpcCode === grpc.status.PERMISSION_DENIED);
      const cur = this.#current;
      const now = this.#clock.wallNow();
      const remaining = cur ? cur.notAfter.getTime() - now : Infinity;
      const delay = retryDelayMs(refused ? 31 : this.#failures, initialMs, maxMs, this.#random, remaining);
      if (this.#metrics) {
        this.#metrics.renewals.inc({ result: 'failure' });
        this.#metrics.renewalFailures.set(this.#failures);
        this.#metrics.renewalDue.set((now + delay) / 1000);
      }
      this.#log.warn('certificate request failed; retrying', {
        attempt: this.#failures,
        retryInMs: delay,
        servingUntil: cur ? cur.notAfter.toISOString() : null,
        error: (err as Error).message,
      });
      this.#schedule(delay);
    }
  }

  #recordSuccess(identity: WorkloadIdentity, renewAt: number): void {
    const m = this.#metrics;
    if (!m) return;
    m.renewals.inc({ result: 'success' });
    m.renewalFailures.set(0);
    m.certExpiration.set(identity.notAfter.getTime() / 1000);
    m.renewalDue.set(renewAt / 1000);
    m.certInfo.reset();
    m.certInfo.set({ serial: identity.serialNumber, root: identity.rootFingerprint }, 1);
    m.trustedRoots.reset();
    for (const root of TrustBundle.fromPem(identity.trustBundlePem).fingerprints) m.trustedRoots.set({ root }, 1);
  }

  async #fetch(): Promise<WorkloadIdentity> {
    const o = this.#opts;
    const token = 'file' in o.token ? (await fs.readFile(o.token.file, 'utf8')).trim() : o.token.value;
    const csr = await createWorkloadCsr(o.spiffeId);
    const req: CaRequest = {
      address: o.caAddress,
      trustBundlePem: this.#bundlePem,
      serverSpiffeId: o.controllerSpiffeId,
      token,
      csrPem: csr.csrPem,
      ttlSeconds: o.ttlSeconds ?? 0,
      timeoutMs: o.requestTimeoutMs ?? 10_000,
      clock: this.#clock,
    };
    const res = await requestCertificate(req);
    return this.#accept(res.certChain, res.trustBundle, csr.privateKeyPem);
  }

  /** Checks the answer before using it: chain verifies against the new bundle, leaf is ours and matches our key. */
  #accept(chain: readonly string[], bundlePem: string, keyPem: string): WorkloadIdentity {
    if (chain.length === 0) throw new FerryError('FERRY_ERR_CA_RESPONSE', 'CA returned an empty certificate chain');
    const bundle = TrustBundle.fromPem(bundlePem);
    const { rootFingerprint256 } = bundle.verifyChain(chain, this.#clock.wallNow());
    const leaf = new X509Certificate(chain[0]);
    const uris = (leaf.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:'));
    if (uris.length !== 1 || uris[0] !== `URI:${this.#opts.spiffeId}`) {
      throw new FerryError('FERRY_ERR_CA_RESPONSE', `CA returned a certificate for ${uris.join(', ')}, expected ${this.#opts.spiffeId}`);
    }
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new FerryError('FERRY_ERR_CA_RESPONSE', 'CA returned a certificate for another key');
    this.#bundlePem = bundle.toPem();
    return Object.freeze({
      key: keyPem,
      certChainPem: chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join(''),
      trustBundlePem: this.#bundlePem,
      spiffeId: this.#opts.spiffeId,
      serialNumber: leaf.serialNumber.toLowerCase(),
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      rootFingerprint: rootFingerprint256,
    });
  }
}
