// Upstream connection pools for one endpoint: HTTP/1.1 keep-alive sockets or one multiplexed HTTP/2 session.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClusterConfig, UpstreamTlsConfig } from '../../src/config/types';
import { verifyPeerSubjectAltNames } from '../tls/san-verify';
import { upstreamMaterial, type WorkloadIdentity } from '../tls/workload-identity';
import { Http1ConnectionPool } from '../http/http1-client';

export interface PoolEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Connection accounting the cluster's circuit breaker reads (max_connections). */
export interface ConnectionCounter {
  connections: number;
}

/** TLS client options for one endpoint; throws MissingIdentityError before the first certificate. */
export function tlsConnectOptions(t: UpstreamTlsConfig, ep: PoolEndpoint, identity: WorkloadIdentity | null = null): tls.ConnectionOptions {
  const servername = t.sni ?? (net.isIP(ep.host) ? undefined : ep.host);
  const m = upstreamMaterial(t, identity);
  const verify = m.ca !== undefined;
  const opts: tls.ConnectionOptions = {
    host: ep.host,
    port: ep.port,
    servername,
    ALPNProtocols: t.alpnProtocols.length > 0 ? [...t.alpnProtocols] : undefined,
    ca: m.ca,
    cert: m.cert,
    key: m.key,
    minVersion: t.minVersion ?? undefined,
    maxVersion: t.maxVersion ?? undefined,
    // Envoy verifies only when a validation context is configured.
    rejectUnauthorized: verify,
    checkServerIdentity:
      t.matchSubjectAltNames.length > 0
        ? (_host, cert) => verifyPeerSubjectAltNames(cert, t.matchSubjectAltNames)
        : verify && servername
          ? (host, cert) => tls.checkServerIdentity(host, cert)
          : () => undefined,
  };
  return opts;
}

/** Opens the TCP or TLS connection to an endpoint; a TLS setup error becomes a failed socket. */
export function connectUpstream(
  t: UpstreamTlsConfig | null,
  ep: PoolEndpoint,
  identity: WorkloadIdentity | null,
  alpn?: string[],
  localAddress?: string | null,
): net.Socket {
  const local = localAddress ?? undefined;
  if (t === null) return net.connect({ host: ep.host, port: ep.port, localAddress: local });
  let opts: tls.ConnectionOptions;
  try {
    opts = tlsConnectOptions(t, ep, identity);
  } catch (err) {
    const failed = new net.Socket();
    process.nextTick(() => failed.destroy(err as Error));
    return failed;
  }
  if (local !== undefined) opts = { ...opts, localAddress: local } as tls.ConnectionOptions;
  return tls.connect(alpn ? { ...opts, ALPNProtocols: alpn } : opts);
}

/** HTTP/1.1 pool: keep-alive connections to one endpoint, counted for max_connections, closed when idle. */
export class Http1Pool extends Http1ConnectionPool {
  constructor(cluster: ClusterConfig, endpoint: PoolEndpoint, counter: ConnectionCounter, identity: WorkloadIdentity | null = null) {
    const tlsConfig = cluster.tls;
    super({
      // Envoy counts max_connections per cluster; each endpoint's pool may open that many.
      maxConnections: Math.max(1, cluster.circuitBreakers.maxConnections),
      idleTimeoutMs: cluster.idleTimeoutMs > 0 ? cluster.idleTimeoutMs : 0,
      connectTimeoutMs: cluster.connectTimeoutMs,
      counter,
      secure: tlsConfig !== null,
      connect: () => {
        const sock = connectUpstream(tlsConfig, endpoint, identity, undefined, cluster.upstreamBindAddress);
        sock.setNoDelay(true);
        return sock;
      },
    });
  }
}

/** HTTP/2 pool: one session per endpoint, re-created when it goes away. */
export class Http2Pool {
  private session: http2.ClientHttp2Session | null = null;
  constructor(
    private readonly cluster: ClusterConfig,
    private readonly endpoint: PoolEndpoint,
    private readonly counter: ConnectionCounter,
    private readonly identity: WorkloadIdentity | null = null,
  ) {}

  /** The live session, connecting if needed. */
  get(): http2.ClientHttp2Session {
    const s = this.session;
    if (s && !s.closed && !s.destroyed) return s;
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
      createConnection: () => {
        const sock = connectUpstream(t, ep, this.identity, t ? ['h2'] : undefined, this.cluster.upstreamBindAddress);
        sock.setNoDelay(true);
        return sock;
      },
    });
    this.counter.connections++;
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
    session.on('error', () => {
      /* surfaced on each stream */
    });
    session.once('close', () => {
      this.counter.connections--;
      if (this.session === session) this.session = null;
    });
    if (this.cluster.idleTimeoutMs > 0) {
      session.setTimeout(this.cluster.idleTimeoutMs, () => session.close());
    }
    session.unref();
    this.session = session;
    return session;
  }

  close(): void {
    const s = this.session;
    this.session = null;
    if (s) s.destroy();
  }
}
