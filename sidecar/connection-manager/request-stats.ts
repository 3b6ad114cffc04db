// Per-destination request metric children, resolved once per outcome and peer, and reused.

import { labelKey, REQUEST_LABELS, type ProxyMetrics } from '../../src/observability/metrics';
import { requestLabels, type WorkloadLabels } from '../../src/observability/istio-labels';

interface Children {
  readonly count: { inc(): void };
  readonly duration: { observe(v: number): void };
  readonly requestBytes: { observe(v: number): void };
  readonly responseBytes: { observe(v: number): void };
}

/** One finished request as its metrics see it. */
export interface RequestOutcome {
  readonly protocol: string;
  readonly code: number;
  readonly flags: string;
  readonly grpcStatus: string;
  /** The downstream peer's SPIFFE ID ('' without mTLS). */
  readonly peerPrincipal: string;
  readonly security: string;
  /** The other end's workload from the metadata exchange (null: it sent none). */
  readonly peer: WorkloadLabels | null;
  /** The key of `peer` (its encoded metadata), '' for none: part of the children cache key. */
  readonly peerKey: string;
  /** Outbound: the identity the cluster expects of the upstream ('' when none or plaintext). */
  readonly upstreamPrincipal: string;
  readonly seconds: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** Constant labels of one reporter → destination pair; the variable ones are cached per value. */
export class RequestStats {
  private readonly cache = new Map<string, Children>();
  // The last outcome seen: most requests to a destination repeat it, so no key is built for them.
  private lastKey: readonly [string, number, string, string, string, string, string, string] = ['', -1, '', '', '', '', '', ''];
  private last: Children | null = null;

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly reporter: string,
    private readonly destinationCluster: string,
    private readonly source: WorkloadLabels,
  ) {}

  record(o: RequestOutcome): void {
    let c = this.last;
    const k = this.lastKey;
    if (
      c === null ||
      o.code !== k[1] ||
      o.flags !== k[2] ||
      o.grpcStatus !== k[3] ||
      o.protocol !== k[0] ||
      o.peerPrincipal !== k[4] ||
      o.security !== k[5] ||
      o.peerKey !== k[6] ||
      o.upstreamPrincipal !== k[7]
    ) {
      c = this.children(o);
      this.last = c;
      this.lastKey = [o.protocol, o.code, o.flags, o.grpcStatus, o.peerPrincipal, o.security, o.peerKey, o.upstreamPrincipal];
    }
    c.count.inc();
    c.duration.observe(o.seconds);
    c.requestBytes.observe(o.requestBytes);
    c.responseBytes.observe(o.responseBytes);
  }

  private children(o: RequestOutcome): Children {
    const key = `${o.protocol}|${o.code}|${o.flags}|${o.grpcStatus}|${o.peerPrincipal}|${o.security}|${o.peerKey}|${o.upstreamPrincipal}`;
    let c = this.cache.get(key);
    if (c === undefined) {
      const labels = {
        reporter: this.reporter,
        ...requestLabels(this.reporter, this.destinationCluster, this.source, o.peerPrincipal, o.peer, o.upstreamPrincipal),
        destination_cluster: this.destinationCluster,
        request_protocol: o.protocol,
        response_code: String(o.code),
        grpc_response_status: o.grpcStatus,
        response_flags: o.flags || '-',
        connection_security_policy: o.security,
      };
      const m = this.metrics;
      // One frozen record and one key for the four metrics of this outcome (they share the label names).
      const rec: Record<string, string> = {};
      for (const n of REQUEST_LABELS) rec[n] = String((labels as Record<string, string>)[n] ?? '');
      Object.freeze(rec);
      const k = labelKey(REQUEST_LABELS, rec);
      c = { count: m.requestsTotal.child(k, rec), duration: m.requestDuration.child(k, rec), requestBytes: m.requestBytes.child(k, rec), responseBytes: m.responseBytes.child(k, rec) };
      if (this.cache.size < 4096) this.cache.set(key, c);
    }
    return c;
  }
}

/** RequestStats per destination cluster name, shared by all routes of a connection manager. */
export class RequestStatsTable {
  private readonly byCluster = new Map<string, RequestStats>();
  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly reporter: string,
    private readonly source: WorkloadLabels,
  ) {}

  for(cluster: string): RequestStats {
    let s = this.byCluster.get(cluster);
    if (s === undefined) {
      s = new RequestStats(this.metrics, this.reporter, cluster || 'unknown', this.source);
      this.byCluster.set(cluster, s);
    }
    return s;
  }
}
