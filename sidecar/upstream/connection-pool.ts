// An endpoint's upstream pools as its cluster configures them: the HTTP/1.1 pool (connection limit, idle
// timeout, max_requests_per_connection, TLS) and the HTTP/2 pool, each made on first use; the router
// takes the one the cluster's protocol options name (http2_protocol_options: HTTP/2).

import type { Clock } from '../../src/clock/clock';
import type { ClusterConfig } from '../../src/config/types';
import type { WorkloadIdentity } from '../tls/workload-identity';
import { Http1Pool } from './http1-pool';
import { Http2Pool } from './http2-pool';
import { connectUpstream, type ConnectionBreaker, type PoolEndpoint } from './upstream-connect';

// The connection manager's upgrade path opens its upstream connection from here.
export { connectUpstream };

export class EndpointPools {
  private h1: Http1Pool | null = null;
  private h2: Http2Pool | null = null;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly endpoint: PoolEndpoint,
    /** The cluster's circuit breaker: every connection either pool opens holds one of its `connections` units. */
    private readonly breaker: ConnectionBreaker,
    private readonly identity: WorkloadIdentity | null = null,
    /** The HTTP/1.1 pool's idle times and timers (default systemClock). */
    private readonly clock?: Clock,
  ) {}

  /** HTTP/1.1: keep-alive connections to the endpoint, closed when idle. */
  http1(): Http1Pool {
    if (this.h1 !== null) return this.h1;
    const cluster = this.cluster;
    const tlsConfig = cluster.tls;
    const endpoint = this.endpoint;
    const identity = this.identity;
    return (this.h1 = new Http1Pool({
      // Envoy counts max_connections per cluster; each endpoint's pool may open that many.
      maxConnections: Math.max(1, cluster.circuitBreakers.maxConnections),
      idleTimeoutMs: cluster.idleTimeoutMs > 0 ? cluster.idleTimeoutMs : 0,
      maxRequestsPerConnection: cluster.maxRequestsPerConnection,
      connectTimeoutMs: cluster.connectTimeoutMs,
      breaker: this.breaker,
      clock: this.clock,
      secure: tlsConfig !== null,
      connect: () => {
        const sock = connectUpstream(tlsConfig, endpoint, identity, undefined, cluster.upstreamBindAddress);
        sock.setNoDelay(true);
        return sock;
      },
    }));
  }

  /** HTTP/2: multiplexed sessions to the endpoint. */
  http2(): Http2Pool {
    return (this.h2 ??= new Http2Pool(this.cluster, this.endpoint, this.breaker, this.identity));
  }

  /** Closes every connection of both pools, in-flight ones too; the next request makes fresh pools. */
  close(): void {
    this.h1?.close();
    this.h2?.close();
    this.h1 = null;
    this.h2 = null;
  }
}
