// The sidecar identity's metrics (declared once per registry), beside the other components' catalogues.

import { Counter, Gauge, type Registry } from 'prom-client';
import { systemClock } from '../clock/clock';

export const IDENTITY_CERT_EXPIRATION = 'ferry_identity_cert_expiration_timestamp_seconds';
export const IDENTITY_CERT_EXPIRY = 'ferry_identity_cert_expiry_seconds';
export const IDENTITY_RENEWAL_DUE = 'ferry_identity_cert_renewal_timestamp_seconds';
export const IDENTITY_RENEWAL_FAILURES = 'ferry_identity_renewal_failures';
export const IDENTITY_RENEWALS = 'ferry_identity_renewals_total';
export const IDENTITY_CERT_INFO = 'ferry_identity_cert_info';
export const IDENTITY_TRUSTED_ROOT = 'ferry_identity_trusted_root_info';

export interface IdentityMetrics {
  /** notAfter of the workload certificate in use, Unix seconds; 0 before the first one. */
  readonly certExpiration: Gauge;
  /** When the next renewal is due (or the next retry after a failure), Unix seconds. */
  readonly renewalDue: Gauge;
  /** Failed renewal attempts since the last success: above 0, rotation is failing. */
  readonly renewalFailures: Gauge;
  /** Renewal attempts by `result` (success, failure). */
  readonly renewals: Counter<'result'>;
  /** 1 for the certificate in use, labelled with its serial and the SHA-256 fingerprint of the root it chains to. */
  readonly certInfo: Gauge<'serial' | 'root'>;
  /** 1 per root of the trust bundle this proxy verifies peers with. */
  readonly trustedRoots: Gauge<'root'>;
  /** Where the seconds-until-expiry gauge reads notAfter (ms, null before the first certificate) and the wall clock at each scrape. */
  watchExpiry(notAfterMs: () => number | null, wallNow: () => number): void;
}

const byRegistry = new WeakMap<Registry, IdentityMetrics>();

/** The identity metrics in `registry`, created on first use (a second manager in the same registry shares them). */
export function identityMetrics(registry: Registry): IdentityMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  let notAfter: () => number | null = () => null;
  let now: () => number = () => systemClock.wallNow();
  const registers = [registry];
  const m: IdentityMetrics = {
    certExpiration: new Gauge({ name: IDENTITY_CERT_EXPIRATION, help: 'Expiry of the workload certificate this proxy serves with, in Unix seconds.', registers }),
    renewalDue: new Gauge({ name: IDENTITY_RENEWAL_DUE, help: 'When the workload certificate is next renewed (or a failed renewal retried), in Unix seconds.', registers }),
    renewalFailures: new Gauge({ name: IDENTITY_RENEWAL_FAILURES, help: 'Failed renewal attempts since the last success (above 0: rotation is failing).', registers }),
    renewals: new Counter({ name: IDENTITY_RENEWALS, help: 'Certificate requests to the mesh CA, by result (success, failure).', labelNames: ['result'], registers }),
    certInfo: new Gauge({ name: IDENTITY_CERT_INFO, help: 'The workload certificate in use (always 1): its serial and the SHA-256 fingerprint of its root.', labelNames: ['serial', 'root'], registers }),
    trustedRoots: new Gauge({ name: IDENTITY_TRUSTED_ROOT, help: 'The roots this proxy trusts peers under (always 1), by SHA-256 fingerprint.', labelNames: ['root'], registers }),
    watchExpiry(n, w) {
      notAfter = n;
      now = w;
    },
  };
  new Gauge({
    name: IDENTITY_CERT_EXPIRY,
    help: 'Seconds until the workload certificate expires (negative once expired; absent before the first one).',
    registers,
    collect() {
      const at = notAfter();
      if (at === null) this.reset();
      else this.set((at - now()) / 1000);
    },
  });
  byRegistry.set(registry, m);
  return m;
}

/** Every identity metric name, for the catalogue's documentation test. */
export const IDENTITY_METRIC_LABELS: Readonly<Record<string, readonly string[]>> = {
  [IDENTITY_CERT_EXPIRATION]: [],
  [IDENTITY_CERT_EXPIRY]: [],
  [IDENTITY_RENEWAL_DUE]: [],
  [IDENTITY_RENEWAL_FAILURES]: [],
  [IDENTITY_RENEWALS]: ['result'],
  [IDENTITY_CERT_INFO]: ['serial', 'root'],
  [IDENTITY_TRUSTED_ROOT]: ['root'],
};
