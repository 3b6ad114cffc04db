// The injection webhook's metrics, declared in one place beside the other components' catalogues.

import { Counter, Histogram, Registry } from 'prom-client';

/** The webhook's metrics (names prefixed ferry_webhook_). */
export class WebhookMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'ferry_webhook_requests_total',
    help: 'Admission requests by outcome (injected, skipped, ignored, denied, bad_request, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'ferry_webhook_request_duration_seconds',
    help: 'Time to answer an admission request, from the last body byte.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
}
