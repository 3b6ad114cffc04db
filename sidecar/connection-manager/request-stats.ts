// Per-destination request metric children, resolved once per (code, flags, grpc status) and reused.

import type { ProxyMetrics } from '../../src/observability/metrics';
import { requestLabels, type WorkloadLabels } from '../../src/observability/istio-labels';

interface Children {
  readonly count: { inc(): void };
  readonly duration: { observe(v: number): void };
}

/** Constant labels of one reporter → destination pair; the variable ones are cached per value. */
export class RequestStats {
  private readonly cache = new Map<string, Children>();
  // The last outcome seen: most requests to a destination repeat it, so no key is built for them.
  private lastProtocol = '';
  private lastCode = -1;
  private lastFlags = '';
  private lastGrpc = '';
  private lastPrincipal = '';
  private lastSecurity = '';
  private last: Children | null = null;

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly reporter: string,
    private readonly destinationCluster: string,
    private readonly source: WorkloadLabels,
  ) {}

  record(
    protocol: string,
    code: number,
    flags: string,
    grpcStatus: string,
    sourcePrincipal: string,
    security: string,
    seconds: number,
  ): void {
    let c = this.last;
    if (
      c === null ||
      code !== this.lastCode ||
      flags !== this.lastFlags ||
      grpcStatus !== this.lastGrpc ||
      protocol !== this.lastProtocol ||
      sourcePrincipal !== this.lastPrincipal ||
      security !== this.lastSecurity
    ) {
      c = this.children(protocol, code, flags, grpcStatus, sourcePrincipal, security);
      this.last = c;
      this.lastProtocol = protocol;
      this.lastCode = code;
      this.lastFlags = flags;
      this.lastGrpc = grpcStatus;
      this.lastPrincipal = sourcePrincipal;
      this.lastSecurity = security;
    }
    c.count.inc();
    c.duration.observe(seconds);
  }

  private children(protocol: string, code: number, flags: string, grpcStatus: string, sourcePrincipal: string, security: string): Children {
    const key = `${protocol}|${code}|${flags}|${grpcStatus}|${sourcePrincipal}|${security}`;
    let c = this.cache.get(key);
    if (c === undefined) {
      const labels = {
        reporter: this.reporter,
        ...requestLabels(this.reporter, this.destinationCluster, this.source, sourcePrincipal),
        source_principal: sourcePrincipal || 'unknown',
        destination_cluster: this.destinationCluster,
        request_protocol: protocol,
        response_code: String(code),
        grpc_response_status: grpcStatus,
        response_flags: flags || '-',
        connection_security_policy: security,
      };
      c = { count: this.metrics.requestsTotal.labels(labels), duration: this.metrics.requestDuration.labels(labels) };
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
