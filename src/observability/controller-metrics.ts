// The controller's metrics, declared in one place (prefixed ferry_controller_, base units).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const PUSH_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const CONVERGENCE_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30];

export class ControllerMetrics {
  readonly registry: Registry;
  /** Open ADS streams, by client kind (envoy, ferry, grpc, unknown). */
  readonly connectedProxies: Gauge<'kind'>;
  /** DiscoveryResponses sent, by type (CDS, EDS, LDS, RDS, SDS). */
  readonly pushesTotal: Counter<'type'>;
  /** Time to build and write one debounced push to every affected stream. */
  readonly pushDuration: Histogram;
  /** Time to translate one model change for every connected node key (snapshots included). */
  readonly translateDuration: Histogram;
  /** NACKs received, by type. */
  readonly nacksTotal: Counter<'type'>;
  /** From a snapshot change (or a subscription) to the client's ACK of the response carrying it. */
  readonly convergence: Histogram<'type'>;
  /** Workload certificates the CA signed. */
  readonly caCertificatesIssued: Counter;
  /** CreateCertificate calls refused, by reason (the CSR reasons of certs/csr.ts, plus `unauthenticated`). */
  readonly caCsrRejected: Counter<'reason'>;
  /** When the issuing CA's own certificate expires (Unix seconds); 0 until a CA is loaded. */
  readonly caIssuerExpiry: Gauge;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.connectedProxies = new Gauge({ name: 'ferry_controller_connected_proxies', help: 'Proxies with an open ADS stream.', labelNames: ['kind'], registers });
    this.pushesTotal = new Counter({ name: 'ferry_controller_pushes_total', help: 'xDS responses sent.', labelNames: ['type'], registers });
    this.pushDuration = new Histogram({
      name: 'ferry_controller_push_duration_seconds',
      help: 'Time to encode and write one debounced push to every affected stream.',
      buckets: PUSH_BUCKETS_SECONDS,
      registers,
    });
    this.translateDuration = new Histogram({
      name: 'ferry_controller_translate_duration_seconds',
      help: 'Time to translate one model change into the snapshots of every connected proxy.',
      buckets: PUSH_BUCKETS_SECONDS,
      registers,
    });
    this.nacksTotal = new Counter({ name: 'ferry_controller_nacks_total', help: 'xDS responses rejected by a client.', labelNames: ['type'], registers });
    this.convergence = new Histogram({
      name: 'ferry_controller_convergence_seconds',
      help: 'Time from a configuration change to the ACK of the response that carried it.',
      labelNames: ['type'],
      buckets: CONVERGENCE_BUCKETS_SECONDS,
      registers,
    });
    this.caCertificatesIssued = new Counter({ name: 'ferry_ca_certificates_issued_total', help: 'Workload certificates signed by the mesh CA.', registers });
    this.caCsrRejected = new Counter({
      name: 'ferry_ca_csr_rejected_total',
      help: 'Certificate requests refused by the mesh CA, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.caIssuerExpiry = new Gauge({
      name: 'ferry_ca_issuer_expiry_timestamp_seconds',
      help: 'Expiry of the issuing CA certificate, in Unix seconds.',
      registers,
    });
  }
}
