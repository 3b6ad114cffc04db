// The sidecar identity's metrics (declared once per registry), beside the other components' catalogues.

import { Gauge, type Registry } from 'prom-client';

export const IDENTITY_CERT_EXPIRATION = 'ferry_identity_cert_expiration_timestamp_seconds';

export interface IdentityMetrics {
  /** notAfter of the workload certificate in use, Unix seconds; 0 before the first one. */
  readonly certExpiration: Gauge;
}

/** The identity gauges in `registry`, created on first use (a second manager in the same registry shares them). */
export function identityMetrics(registry: Registry): IdentityMetrics {
  const existing = registry.getSingleMetric(IDENTITY_CERT_EXPIRATION) as Gauge | undefined;
  const certExpiration =
    existing ??
    new Gauge({
      name: IDENTITY_CERT_EXPIRATION,
      help: 'Expiry of the workload certificate this proxy serves with, in Unix seconds.',
      registers: [registry],
    });
  return { certExpiration };
}
