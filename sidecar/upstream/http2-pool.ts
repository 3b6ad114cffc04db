// The HTTP/2 pool for one endpoint: multiplexed sessions, each holding one unit of the cluster's max_connections.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { ClusterConfig } from '../../src/config/types';
import type { WorkloadIdentity } from '../tls/workload-identity';
import { connectUpstream, type ConnectionBreaker, type PoolEndpoint } from './upstream-connect';

/** One pooled HTTP/2 session and the streams it carries. */
interface PooledSession {
  readonly session: http2.ClientHttp2Session;
  active: number;
  /** Streams it has carried (max_requests_per_connection). */
  total: number;
  /** Takes no new stream: it carried max_requests_per_connection; it goes away once its streams end. */
  retired: boolean;
  /** The peer's SETTINGS arrived: its stream limit is known. */
  settled: boolean;
}

const MAX_STREAMS = 2_147_483_647;

/**
 * HTTP/2 pool: multiplexed sessions to one endpoint. A request goes on the first session with a free
 * stream (the peer's SETTINGS_MAX_CONCURRENT_STREAMS and the cluster's max_concurrent_streams, the
 * lower); when every session is full another is opened, up to the cluster's max_connections, and
 * beyond that the least loaded session queues the stream until one of its streams ends.
 */
export class Http2Pool {
  private readonly sessions: PooledSession[] = [];
  /** The peer's stream limit as last announced on any session (the same peer announces the same). */
  private peerLimit: number | null = null;
  constructor(
    private readonly cluster: ClusterConfig,
    private readonly endpoint: PoolEndpoint,
    private readonly breaker: ConnectionBreaker,
    private readonly identity: WorkloadIdentity | null = null,
  ) {}

  /** Opens a stream on the session with room for it, connecting a new session if needed. */
  request(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    const p = this.pick();
    const stream = p.session.request(headers, options);
    p.active++;
    p.total++;
    const maxRequests = this.cluster.maxRequestsPerConnection;
    if (maxRequests > 0 && p.total >= maxRequests) p.retired = true;
    stream.once('close', () => {
      p.active--;
      // A retired session goes away (GOAWAY) once the streams it still carries are done.
      if (p.retired && p.active === 0 && !p.session.closed) p.session.close();
    });
    return stream;
  }

  /** Sessions open now (for tests and the admin view). */
  get size(): number {
    return this.sessions.length;
  }

  private pick(): PooledSession {
    let least: PooledSession | null = null;
    for (const p of this.sessions) {
      if (p.retired || p.session.closed || p.session.destroyed) continue;
      if (p.active < this.capacity(p)) return p;
      if (least === null || p.active < least.active) least = p;
    }
    if (least === null || this.breaker.canAcquire('connections')) return this.open();
    return least;
  }

  private capacity(p: PooledSession): number {
    const configured = this.cluster.http2?.maxConcurrentStreams ?? MAX_STREAMS;
    // Until its SETTINGS arrive, a session is taken to allow what the peer announced on another one;
    // on the first session nothing is known: it takes the streams and the HTTP/2 library holds all
    // but the first (peerMaxConcurrentStreams below) until the SETTINGS come.
    const limit = p.settled ? (p.session.remoteSettings.maxConcurrentStreams ?? MAX_STREAMS) : (this.peerLimit ?? MAX_STREAMS);
    return Math.min(configured, limit);
  }

  private open(): PooledSession {
    const ep = this.endpoint;
    const t = this.cluster.tls;
    const h2opts = this.cluster.http2;
    const settings: http2.Settings = {
      enablePush: false,
      maxConcurrentStreams: h2opts?.maxConcurrentStreams,
      initialWindowSize: Math.min(h2opts?.initialStreamWindowSize ?? 268435456, 2147483647),
    };
    const authority = `${t ? 'https' : 'http'}://${net.isIPv6(ep.host) ? `[${ep.host}]` : ep.host}:${ep.port}`;
    const session = http2.connect(authority, {
      settings,
      // Send one stream before the peer's SETTINGS: a peer allowing fewer streams than the library's
      // default guess (100) would refuse the rest.
      peerMaxConcurrentStreams: 1,
      createConnection: () => {
        const sock = connectUpstream(t, ep, this.identity, t ? ['h2'] : undefined, this.cluster.upstreamBindAddress);
        sock.setNoDelay(true);
        return sock;
      },
    });
    // Node queues each stream opened before the connection is up as a 'connect' listener: a burst on a
    // new session passes the default 10 and prints a leak warning for what is the pool working.
    session.setMaxListeners(0);
    const p: PooledSession = { session, active: 0, total: 0, retired: false, settled: false };
    this.breaker.acquire('connections');
    const connWindow = h2opts?.initialConnectionWindowSize;
    session.once('connect', () => {
      if (connWindow && connWindow > 65535) {
        try {
          session.setLocalWindowSize(Math.min(connWindow, 2147483647));
        } catch {
          /* window size is an optimisation only */
        }
      }
    });
    session.once('remoteSettings', (s: http2.Settings) => {
      p.settled = true;
      this.peerLimit = s.maxConcurrentStreams ?? MAX_STREAMS;
    });
    session.on('error', () => {
      /* surfaced on each stream */
    });
    session.once('close', () => {
      this.breaker.release('connections');
      const i = this.sessions.indexOf(p);
      if (i >= 0) this.sessions.splice(i, 1);
    });
    if (this.cluster.idleTimeoutMs > 0) {
      session.setTimeout(this.cluster.idleTimeoutMs, () => session.close());
    }
    session.unref();
    this.sessions.push(p);
    return p;
  }

  close(): void {
    for (const p of this.sessions.splice(0)) p.session.destroy();
  }
}
