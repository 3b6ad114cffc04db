// Every Ferry sidecar metric, declared in one place: names, help, labels (Istio-compatible).
//
// Names are prefixed `ferry_`, in base units (seconds, bytes). Label names follow Istio's
// standard metrics so existing dashboards map by replacing the `istio_` prefix. Callers resolve
// label children once per route/cluster (see `ClusterStats`), never per request.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Istio's standard request labels that Ferry fills (the rest come with the mesh issues). */
export const REQUEST_LABELS = [
  'reporter',
  'source_workload',
  'source_principal',
  'destination_service',
  'destination_service_name',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export const TCP_LABELS = [
  'reporter',
  'source_workload',
  'source_principal',
  'destination_service',
  'destination_service_name',
  'destination_cluster',
  'connection_security_policy',
] as const;

/** Request duration buckets in seconds (Istio's, converted from milliseconds). */
export const DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600,
];

export class ProxyMetrics {
  readonly registry: Registry;
  readonly requestsTotal: Counter<(typeof REQUEST_LABELS)[number]>;
  readonly requestDuration: Histogram<(typeof REQUEST_LABELS)[number]>;
  readonly tcpOpened: Counter<(typeof TCP_LABELS)[number]>;
  readonly tcpClosed: Counter<(typeof TCP_LABELS)[number]>;
  readonly tcpSentBytes: Counter<(typeof TCP_LABELS)[number]>;
  readonly tcpReceivedBytes: Counter<(typeof TCP_LABELS)[number]>;
  readonly retries: Counter<'destination_cluster' | 'outcome'>;
  readonly overflow: Counter<'destination_cluster' | 'threshold'>;
  readonly ejections: Counter<'destination_cluster' | 'reason'>;
  readonly endpoints: Gauge<'destination_cluster' | 'health'>;
  readonly healthChecks: Counter<'destination_cluster' | 'result'>;
  readonly localRateLimited: Counter<'stat_prefix'>;
  readonly faultsInjected: Counter<'kind'>;
  readonly downstreamProtocolErrors: Counter<'listener' | 'code'>;
  readonly sniffTimeouts: Counter<'listener'>;
  readonly configLoaded: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const r = [registry];
    this.requestsTotal = new Counter({
      name: 'ferry_requests_total',
      help: 'HTTP/gRPC requests handled, by outcome (Istio: istio_requests_total).',
      labelNames: REQUEST_LABELS,
      registers: r,
    });
    this.requestDuration = new Histogram({
      name: 'ferry_request_duration_seconds',
      help: 'Time from the first request byte to the last response byte.',
      labelNames: REQUEST_LABELS,
      buckets: DURATION_BUCKETS_SECONDS,
      registers: r,
    });
    this.tcpOpened = new Counter({
      name: 'ferry_tcp_connections_opened_total',
      help: 'TCP connections proxied, opened.',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpClosed = new Counter({
      name: 'ferry_tcp_connections_closed_total',
      help: 'TCP connections proxied, closed.',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpSentBytes = new Counter({
      name: 'ferry_tcp_sent_bytes_total',
      help: 'Bytes sent to the downstream peer on proxied TCP connections (response direction).',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpReceivedBytes = new Counter({
      name: 'ferry_tcp_received_bytes_total',
      help: 'Bytes received from the downstream peer on proxied TCP connections (request direction).',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.retries = new Counter({
      name: 'ferry_upstream_rq_retry_total',
      help: 'Upstream request retries, by outcome (attempted, overflow, budget_exhausted).',
      labelNames: ['destination_cluster', 'outcome'],
      registers: r,
    });
    this.overflow = new Counter({
      name: 'ferry_upstream_rq_overflow_total',
      help: 'Requests or connections refused by a circuit breaker threshold.',
      labelNames: ['destination_cluster', 'threshold'],
      registers: r,
    });
    this.ejections = new Counter({
      name: 'ferry_upstream_ejections_total',
      help: 'Outlier detection ejections, by reason.',
      labelNames: ['destination_cluster', 'reason'],
      registers: r,
    });
    this.endpoints = new Gauge({
      name: 'ferry_upstream_endpoints',
      help: 'Upstream endpoints by health: healthy, unhealthy (active checks), ejected (outlier), degraded.',
      labelNames: ['destination_cluster', 'health'],
      registers: r,
      // With several workers each sees every endpoint: report one worker's view, not the sum.
      aggregator: 'max',
    });
    this.healthChecks = new Counter({
      name: 'ferry_upstream_health_checks_total',
      help: 'Active health check results.',
      labelNames: ['destination_cluster', 'result'],
      registers: r,
    });
    this.localRateLimited = new Counter({
      name: 'ferry_http_local_rate_limited_total',
      help: 'Requests answered 429 by the local rate limit filter.',
      labelNames: ['stat_prefix'],
      registers: r,
    });
    this.faultsInjected = new Counter({
      name: 'ferry_http_faults_injected_total',
      help: 'Requests delayed or aborted by the fault filter.',
      labelNames: ['kind'],
      registers: r,
    });
    this.downstreamProtocolErrors = new Counter({
      name: 'ferry_downstream_protocol_errors_total',
      help: 'Downstream connections closed for a protocol error (bad request, header overflow, timeout).',
      labelNames: ['listener', 'code'],
      registers: r,
    });
    this.sniffTimeouts = new Counter({
      name: 'ferry_protocol_detection_timeouts_total',
      help: 'Connections whose protocol could not be detected before the listener filter timeout.',
      labelNames: ['listener'],
      registers: r,
    });
    this.configLoaded = new Gauge({
      name: 'ferry_config_loaded_timestamp_seconds',
      help: 'When the current configuration was applied (Unix seconds).',
      registers: r,
      aggregator: 'max',
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'ferry_process_' });
  }
}
