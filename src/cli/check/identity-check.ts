// What `ferry check` concludes about one sidecar's workload certificate from its metrics (pure).

import type { Sample } from '../../observability/prom-text';
import {
  IDENTITY_CERT_EXPIRATION,
  IDENTITY_CERT_INFO,
  IDENTITY_RENEWAL_DUE,
  IDENTITY_RENEWAL_FAILURES,
  IDENTITY_TRUSTED_ROOT,
} from '../../observability/identity-metrics';

export type Level = 'ok' | 'warn' | 'error';

/** One sidecar's certificate as its metrics tell it. */
export interface SidecarIdentity {
  /** Unix ms; null when the sidecar holds no certificate (or exports no identity metrics). */
  readonly notAfter: number | null;
  readonly renewalDue: number | null;
  readonly failures: number;
  readonly serial: string | null;
  /** SHA-256 fingerprint of the root the certificate chains to. */
  readonly root: string | null;
  /** The roots it verifies peers with. */
  readonly trustedRoots: readonly string[];
}

export interface IdentityVerdict {
  readonly level: Level;
  readonly message: string;
}

function first(samples: readonly Sample[], name: string): Sample | undefined {
  return samples.find((s) => s.name === name);
}

/** Reads the identity metrics out of one scrape. */
export function sidecarIdentity(samples: readonly Sample[]): SidecarIdentity {
  const exp = first(samples, IDENTITY_CERT_EXPIRATION)?.value ?? 0;
  const due = first(samples, IDENTITY_RENEWAL_DUE)?.value ?? 0;
  const info = first(samples, IDENTITY_CERT_INFO);
  return {
    notAfter: exp > 0 ? exp * 1000 : null,
    renewalDue: due > 0 ? due * 1000 : null,
    failures: first(samples, IDENTITY_RENEWAL_FAILURES)?.value ?? 0,
    serial: info?.labels.serial ?? null,
    root: info?.labels.root ?? null,
    trustedRoots: samples.filter((s) => s.name === IDENTITY_TRUSTED_ROOT && s.value === 1).map((s) => s.labels.root ?? '').filter(Boolean),
  };
}

function secs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (Math.abs(s) < 120) return `${s} s`;
  if (Math.abs(s) < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/**
 * The verdict at `now` (ms): error without a certificate or with an expired one; a warning while
 * renewals fail, or when one is more than `graceMs` late (a CA that hangs fails no attempt until its
 * deadline); else ok with the time left.
 */
export function judgeIdentity(id: SidecarIdentity, now: number, graceMs: number): IdentityVerdict {
  if (id.notAfter === null) return { level: 'error', message: 'no workload certificate' };
  const left = id.notAfter - now;
  if (left <= 0) return { level: 'error', message: `certificate expired ${secs(-left)} ago${id.failures > 0 ? ` (${id.failures} renewal attempts failed)` : ''}` };
  if (id.failures > 0) {
    return { level: 'warn', message: `rotation failing: ${id.failures} renewal attempt${id.failures === 1 ? '' : 's'} failed; certificate expires in ${secs(left)}` };
  }
  if (id.renewalDue !== null && now - id.renewalDue > graceMs) {
    return { level: 'warn', message: `renewal overdue by ${secs(now - id.renewalDue)}; certificate expires in ${secs(left)}` };
  }
  return { level: 'ok', message: `certificate expires in ${secs(left)}${id.renewalDue !== null ? `, renewal in ${secs(Math.max(0, id.renewalDue - now))}` : ''}` };
}
