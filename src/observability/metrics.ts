// Every Ferry sidecar metric, declared in one place: names, help, labels (Istio-compatible).
//
// Names are prefixed `ferry_`, in base units (seconds, bytes). Label names follow Istio's
// standard metrics so existing dashboards map by replacing the `istio_` prefix. Callers resolve
// label children once per route/cluster (see `RequestStats`), never per request; the labelled metrics
// are lean (a child's inc/observe is a plain addition) and read by prom-client's registry at scrape.

import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Who called whom: Istio's workload, identity and service labels, shared by request and TCP metrics. */
const PEER_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
] as const;

/** Istio's standard request labels (docs/metrics.md lists each with where its value comes from). */
export const REQUEST_LABELS = [
  ...PEER_LABELS,
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export const TCP_LABELS = [...PEER_LABELS, 'connection_security_policy'] as const;

/** Request and response body size buckets in bytes (Istio's: 1 B to 100 MB by powers of ten). */
export const SIZE_BUCKETS_BYTES = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/** Request duration buckets in seconds (Istio's, converted from milliseconds). */
export const DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600,
];

type Aggregator = 'sum' | 'max';

/** One exported sample, in the shape prom-client's registry and AggregatorRegistry read. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}
interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Sample[];
  aggregator: Aggregator;
}

/** The series key of a complete label record, in the order of `names`. */
export function labelKey(names: readonly string[], rec: Readonly<Record<string, string>>): string {
  let key = '';
  for (const n of names) key += rec[n] + '\u0001';
  return key;
}

/** A labelled series whose hot path is a plain addition (prom-client hashes every label on every inc). */
export interface CounterChild {
  inc(v?: number): void;
}
export interface GaugeChild {
  set(v: number): void;
}
export interface HistogramChild {
  observe(v: number): void;
}

class Series {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(v = 1): void {
    this.value += v;
  }
  set(v: number): void {
    this.value = v;
  }
}

class HistogramSeries {
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/**
 * A labelled metric that prom-client's Registry reads (name, help, type, get()) but whose children
 * are plain objects: `labels(...)` resolves a child once (cache it), and the child updates numbers.
 */
abstract class LeanMetric<L extends string, S> {
  protected readonly series = new Map<string, S>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly aggregator: Aggregator,
    registers: readonly Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as never);
  }

  /** The child for these label values (positional, or one record); created on first use. */
  labels(...args: string[] | [Partial<Record<L, string>>]): S {
    const names = this.labelNames;
    const first = args[0];
    const rec: Record<string, string> = {};
    if (typeof first === 'object' && first !== null) {
      for (const n of names) rec[n] = String((first as Record<string, string>)[n] ?? '');
    } else {
      for (let i = 0; i < names.length; i++) rec[names[i]] = String(args[i] ?? '');
    }
    return this.child(labelKey(names, rec), Object.freeze(rec));
  }

  /**
   * Drops the series with these label values (positional, as `labels`), so a gauge of something that
   * is gone (a removed cluster) stops being exported; a child still held keeps counting, unexported.
   */
  remove(...args: string[]): void {
    const rec: Record<string, string> = {};
    for (let i = 0; i < this.labelNames.length; i++) rec[this.labelNames[i]] = String(args[i] ?? '');
    this.series.delete(labelKey(this.labelNames, rec));
  }

  /**
   * The child for a label record the caller made once (frozen, every label name set) and its key
   * (`labelKey`): metrics with the same label names share both, so a destination's series cost one
   * record and one key, not one per metric.
   */
  child(key: string, labels: Readonly<Record<string, string>>): S {
    let s = this.series.get(key);
    if (s === undefined) {
      s = this.create(labels);
      this.series.set(key, s);
    }
    return s;
  }

  protected abstract create(labels: Readonly<Record<string, string>>): S;
}

export class LeanCounter<L extends string> extends LeanMetric<L, Series & CounterChild> {
  readonly type = 'counter';
  constructor(o: { name: string; help: string; labelNames: readonly L[]; registers: readonly Registry[] }) {
    super(o.name, o.help, o.labelNames, 'sum', o.registers);
  }
  protected create(labels: Readonly<Record<string, string>>): Series {
    return new Series(labels);
  }
  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    for (const s of this.series.values()) values.push({ value: s.value, labels: { ...s.labels } });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class LeanGauge<L extends string> extends LeanMetric<L, Series & GaugeChild> {
  readonly type = 'gauge';
  constructor(o: { name: string; help: string; labelNames: readonly L[]; registers: readonly Registry[]; aggregator?: Aggregator }) {
    super(o.name, o.help, o.labelNames, o.aggregator ?? 'sum', o.registers);
  }
  protected create(labels: Readonly<Record<string, string>>): Series {
    return new Series(labels);
  }
  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    for (const s of this.series.values()) values.push({ value: s.value, labels: { ...s.labels } });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class LeanHistogram<L extends string> extends LeanMetric<L, HistogramSeries & HistogramChild> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  constructor(o: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[]; registers: readonly Registry[] }) {
    super(o.name, o.help, o.labelNames, 'sum', o.registers);
    this.buckets = Object.freeze([...o.buckets].sort((a, b) => a - b));
  }
  protected create(labels: Readonly<Record<string, string>>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }
  /** The shape prom-client's Histogram gives (`le` buckets, cumulative, then +Inf, _sum, _count). */
  async get(): Promise<MetricData> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i];
        values.push({ value: acc, labels: { le: this.buckets[i], ...s.labels }, metricName: bucket });
      }
      values.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: bucket });
      values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class ProxyMetrics {
  readonly registry: Registry;
  readonly requestsTotal: LeanCounter<(typeof REQUEST_LABELS)[number]>;
  readonly requestDuration: LeanHistogram<(typeof REQUEST_LABELS)[number]>;
  readonly requestBytes: LeanHistogram<(typeof REQUEST_LABELS)[number]>;
  readonly responseBytes: LeanHistogram<(typeof REQUEST_LABELS)[number]>;
  readonly tcpOpened: LeanCounter<(typeof TCP_LABELS)[number]>;
  readonly tcpClosed: LeanCounter<(typeof TCP_LABELS)[number]>;
  readonly tcpSentBytes: LeanCounter<(typeof TCP_LABELS)[number]>;
  readonly tcpReceivedBytes: LeanCounter<(typeof TCP_LABELS)[number]>;
  readonly retries: LeanCounter<'destination_cluster' | 'outcome'>;
  readonly upstreamTimeouts: LeanCounter<'destination_cluster' | 'kind'>;
  readonly streamIdleTimeouts: LeanCounter<'stat_prefix'>;
  readonly responseConflicts: LeanCounter<'stat_prefix' | 'kind'>;
  readonly accessLogDropped: LeanCounter<'stat_prefix'>;
  readonly healthCheckRequests: LeanCounter<'stat_prefix' | 'response_code'>;
  readonly overflow: LeanCounter<'destination_cluster' | 'threshold'>;
  readonly ejections: LeanCounter<'destination_cluster' | 'reason'>;
  readonly endpoints: LeanGauge<'destination_cluster' | 'health'>;
  readonly healthChecks: LeanCounter<'destination_cluster' | 'result'>;
  readonly localRateLimited: LeanCounter<'stat_prefix'>;
  readonly faultsInjected: LeanCounter<'kind'>;
  readonly authzDenied: LeanCounter<'stat_prefix'>;
  readonly downstreamProtocolErrors: LeanCounter<'listener' | 'code'>;
  readonly downstreamAbuseClosed: LeanCounter<'listener' | 'reason'>;
  readonly sniffTimeouts: LeanCounter<'listener'>;
  readonly xdsResponses: LeanCounter<'type' | 'outcome'>;
  readonly configLoaded: Gauge;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const r = [registry];
    this.requestsTotal = new LeanCounter({
      name: 'ferry_requests_total',
      help: 'HTTP/gRPC requests handled, by outcome (Istio: istio_requests_total).',
      labelNames: REQUEST_LABELS,
      registers: r,
    });
    this.requestDuration = new LeanHistogram({
      name: 'ferry_request_duration_seconds',
      help: 'Time from the first request byte to the last response byte.',
      labelNames: REQUEST_LABELS,
      buckets: DURATION_BUCKETS_SECONDS,
      registers: r,
    });
    this.requestBytes = new LeanHistogram({
      name: 'ferry_request_bytes',
      help: 'Request body bytes received from the downstream (Istio\'s request_bytes).',
      labelNames: REQUEST_LABELS,
      buckets: SIZE_BUCKETS_BYTES,
      registers: r,
    });
    this.responseBytes = new LeanHistogram({
      name: 'ferry_response_bytes',
      help: 'Response body bytes sent to the downstream (Istio\'s response_bytes).',
      labelNames: REQUEST_LABELS,
      buckets: SIZE_BUCKETS_BYTES,
      registers: r,
    });
    this.tcpOpened = new LeanCounter({
      name: 'ferry_tcp_connections_opened_total',
      help: 'TCP connections proxied, opened.',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpClosed = new LeanCounter({
      name: 'ferry_tcp_connections_closed_total',
      help: 'TCP connections proxied, closed.',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpSentBytes = new LeanCounter({
      name: 'ferry_tcp_sent_bytes_total',
      help: 'Bytes sent to the downstream peer on proxied TCP connections (response direction).',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.tcpReceivedBytes = new LeanCounter({
      name: 'ferry_tcp_received_bytes_total',
      help: 'Bytes received from the downstream peer on proxied TCP connections (request direction).',
      labelNames: TCP_LABELS,
      registers: r,
    });
    this.retries = new LeanCounter({
      name: 'ferry_upstream_rq_retry_total',
      help: 'Upstream request retries, by outcome (attempted, overflow, budget_exhausted, not_replayable: the body outgrew the retry buffer).',
      labelNames: ['destination_cluster', 'outcome'],
      registers: r,
    });
    this.upstreamTimeouts = new LeanCounter({
      name: 'ferry_upstream_rq_timeout_total',
      help: 'Upstream request timeouts, by kind (route, per_try, per_try_idle).',
      labelNames: ['destination_cluster', 'kind'],
      registers: r,
    });
    this.streamIdleTimeouts = new LeanCounter({
      name: 'ferry_downstream_rq_idle_timeout_total',
      help: 'Requests ended by the stream idle timeout (stream_idle_timeout or the route idle_timeout).',
      labelNames: ['stat_prefix'],
      registers: r,
    });
    this.responseConflicts = new LeanCounter({
      name: 'ferry_downstream_rq_response_conflict_total',
      help: 'Upstream answers that did not fit the downstream response, dropped (a proxy defect, each logged as an error): second_head (a head for a request already answered), body_before_head.',
      labelNames: ['stat_prefix', 'kind'],
      registers: r,
    });
    this.healthCheckRequests = new LeanCounter({
      name: 'ferry_inbound_health_check_requests_total',
      help: 'Active health checks from peer sidecars answered, by status; not in ferry_requests_total, since no workload made them.',
      labelNames: ['stat_prefix', 'response_code'],
      registers: r,
    });
    this.accessLogDropped = new LeanCounter({
      name: 'ferry_access_log_dropped_total',
      help: 'Access-log lines dropped because the log could not keep up (its backlog was full) or failed.',
      labelNames: ['stat_prefix'],
      registers: r,
    });
    this.overflow = new LeanCounter({
      name: 'ferry_upstream_rq_overflow_total',
      help: 'Requests or connections refused by a circuit breaker threshold.',
      labelNames: ['destination_cluster', 'threshold'],
      registers: r,
    });
    this.ejections = new LeanCounter({
      name: 'ferry_upstream_ejections_total',
      help: 'Outlier detection ejections, by reason.',
      labelNames: ['destination_cluster', 'reason'],
      registers: r,
    });
    this.endpoints = new LeanGauge({
      name: 'ferry_upstream_endpoints',
      help: 'Upstream endpoints by health: healthy, unhealthy (active checks), ejected (outlier), degraded.',
      labelNames: ['destination_cluster', 'health'],
      registers: r,
      // With several workers each sees every endpoint: report one worker's view, not the sum.
      aggregator: 'max',
    });
    this.healthChecks = new LeanCounter({
      name: 'ferry_upstream_health_checks_total',
      help: 'Active health check results.',
      labelNames: ['destination_cluster', 'result'],
      registers: r,
    });
    this.localRateLimited = new LeanCounter({
      name: 'ferry_http_local_rate_limited_total',
      help: 'Requests answered 429 by the local rate limit filter.',
      labelNames: ['stat_prefix'],
      registers: r,
    });
    this.authzDenied = new LeanCounter({
      name: 'ferry_authz_denied_total',
      help: 'Requests answered 403 by the RBAC filter (authorization by peer identity).',
      labelNames: ['stat_prefix'],
      registers: r,
    });
    this.faultsInjected = new LeanCounter({
      name: 'ferry_http_faults_injected_total',
      help: 'Requests delayed or aborted by the fault filter.',
      labelNames: ['kind'],
      registers: r,
    });
    this.downstreamProtocolErrors = new LeanCounter({
      name: 'ferry_downstream_protocol_errors_total',
      help: 'Downstream connections closed for a protocol error (bad request, header overflow, timeout).',
      labelNames: ['listener', 'code'],
      registers: r,
    });
    this.downstreamAbuseClosed = new LeanCounter({
      name: 'ferry_downstream_connections_closed_for_abuse_total',
      help: 'Downstream HTTP/2 connections the proxy closed with GOAWAY, by reason (early_resets: too many streams reset before their response; unresponsive: a PING left unanswered).',
      labelNames: ['listener', 'reason'],
      registers: r,
    });
    this.sniffTimeouts = new LeanCounter({
      name: 'ferry_protocol_detection_timeouts_total',
      help: 'Connections whose protocol could not be detected before the listener filter timeout.',
      labelNames: ['listener'],
      registers: r,
    });
    this.xdsResponses = new LeanCounter({
      name: 'ferry_xds_responses_total',
      help: 'xDS responses received from the controller, by resource type and whether they were applied (ack) or rejected (nack).',
      labelNames: ['type', 'outcome'],
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
