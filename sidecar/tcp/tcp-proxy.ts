// The TCP proxy network filter: picks an upstream endpoint and splices bytes both ways, with metrics.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { systemClock, type Clock } from '../../src/clock/clock';
import type { TcpProxyConfig } from '../../src/config/types';
import type { AccessLogRecord } from '../../src/observability/access-log-format';
import { AccessLoggers } from '../../src/observability/access-logger';
import { labelKey, TCP_LABELS, type ProxyMetrics } from '../../src/observability/metrics';
import { expectedPrincipal, requestLabels, type WorkloadLabels } from '../../src/observability/istio-labels';
import type { Logger } from '../../src/observability/logger';
import type { ClusterManager } from '../cluster/cluster-manager';
import type { UpstreamCluster, UpstreamHost } from '../cluster/upstream-cluster';
import { connectUpstream } from '../upstream/upstream-connect';
import type { FilterDownstream } from '../filters/types';

export interface TcpProxyDeps {
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly random: () => number;
  readonly reporter: string;
  readonly source?: WorkloadLabels;
  /** Connect timeouts (default systemClock). */
  readonly clock?: Clock;
}

/** A connection's series: the label record its four metrics share, and its key. */
interface TcpSeries {
  readonly key: string;
  readonly rec: Readonly<Record<string, string>>;
}

/** What one downstream connection did, for its access-log line. */
interface Session {
  readonly startMs: number;
  readonly startWallMs: number;
  flags: string;
  received: number;
  sent: number;
  upstreamHost?: string;
  upstreamLocal?: string;
}

export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly accessLogs: AccessLoggers | null;

  constructor(
    readonly config: TcpProxyConfig,
    private readonly deps: TcpProxyDeps,
  ) {
    this.accessLogs = AccessLoggers.open(config.accessLogs);
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  private logSession(s: Session, cluster: string | null, socket: net.Socket, downstream: FilterDownstream): void {
    if (this.accessLogs === null) return;
    const record: AccessLogRecord = {
      startTimeMs: s.startWallMs,
      durationMs: this.clock.now() - s.startMs,
      responseFlags: s.flags,
      bytesReceived: s.received,
      bytesSent: s.sent,
      ...(cluster !== null ? { upstreamCluster: cluster } : {}),
      ...(s.upstreamHost !== undefined ? { upstreamHost: s.upstreamHost } : {}),
      ...(s.upstreamLocal !== undefined ? { upstreamLocalAddress: s.upstreamLocal } : {}),
      ...(downstream.remoteAddress ? { downstreamRemoteAddress: hostPort(downstream.remoteAddress, downstream.remotePort) } : {}),
      ...(downstream.localAddress ? { downstreamLocalAddress: hostPort(downstream.localAddress, downstream.localPort) } : {}),
      ...(downstream.peerPrincipal ? { downstreamPeerUriSan: downstream.peerPrincipal } : {}),
      ...(sniOf(socket) !== null ? { requestedServerName: sniOf(socket)! } : {}),
    };
    const dropped = this.accessLogs.log(record);
    if (dropped > 0) this.deps.metrics.accessLogDropped.labels(this.config.statPrefix).inc(dropped);
  }

  private pickClusterName(): string | null {
    const c = this.config;
    if (c.cluster !== null) return c.cluster;
    const w = c.weightedClusters;
    if (w === null || w.length === 0) return null;
    let total = 0;
    for (const x of w) total += x.weight;
    let r = this.deps.random() * total;
    for (const x of w) {
      r -= x.weight;
      if (r < 0) return x.name;
    }
    return w[w.length - 1].name;
  }

  /** Takes a downstream connection; `initial` holds bytes the listener already read (sniffing). */
  handle(socket: net.Socket, downstream: FilterDownstream): void {
    const session: Session = { startMs: this.clock.now(), startWallMs: this.clock.wallNow(), flags: '', received: 0, sent: 0 };
    const clusterName = this.pickClusterName();
    const cluster = clusterName ? this.deps.clusters.get(clusterName) : undefined;
    if (!cluster) {
      session.flags = 'NC';
      this.logSession(session, clusterName, socket, downstream);
      socket.destroy();
      return;
    }
    const all: Record<string, string> = {
      reporter: this.deps.reporter,
      ...requestLabels(this.deps.reporter, cluster.name, this.deps.source ?? { workload: 'unknown', namespace: 'unknown' }, downstream.peerPrincipal ?? '', null, expectedPrincipal(cluster.config.tls)),
      destination_cluster: cluster.name,
      connection_security_policy: downstream.peerPrincipal ? 'mutual_tls' : 'none',
    };
    // One record and key for the connection's four metrics (they share the label names).
    const rec: Record<string, string> = {};
    for (const n of TCP_LABELS) rec[n] = all[n] ?? '';
    const labels: TcpSeries = { key: labelKey(TCP_LABELS, rec), rec: Object.freeze(rec) };
    const m = this.deps.metrics;
    // The upstream connection's unit of the cluster's max_connections, taken before the first connect
    // attempt and carried from a failed attempt to the next; given back when the session has no
    // upstream connection left.
    const res = cluster.resources;
    if (!res.tryAcquire('connections')) {
      m.overflow.labels(cluster.name, 'max_connections').inc();
      session.flags = 'UO';
      this.logSession(session, cluster.name, socket, downstream);
      socket.destroy();
      return;
    }
    let holdsConnection = true;
    const releaseConnection = (): void => {
      if (!holdsConnection) return;
      holdsConnection = false;
      res.release('connections');
    };
    this.sockets.add(socket);
    socket.pause();
    m.tcpOpened.child(labels.key, labels.rec).inc();
    const tried = new Set<string>();
    let attempts = 0;
    const tryConnect = (): void => {
      attempts++;
      const host =
        cluster.config.type === 'ORIGINAL_DST'
          ? downstream.localAddress
            ? cluster.originalDstHost(downstream.localAddress.replace(/^::ffff:(?=\d+\.)/, ''), downstream.localPort)
            : null
          : cluster.pick({ hash: null, exclude: tried, maxExcludeAttempts: 3 });
      if (host === null) {
        session.flags = 'UH';
        releaseConnection();
        socket.destroy();
        return;
      }
      tried.add(host.key);
      this.connect(cluster, host, socket, labels, session, (connected) => {
        if (!connected && attempts < this.config.maxConnectAttempts && !socket.destroyed) return tryConnect();
        if (!connected) session.flags = 'UF';
        releaseConnection();
        socket.destroy();
      });
    };
    socket.once('close', () => {
      this.sockets.delete(socket);
      m.tcpClosed.child(labels.key, labels.rec).inc();
      this.logSession(session, cluster.name, socket, downstream);
    });
    socket.on('error', () => undefined);
    tryConnect();
  }

  private connect(
    cluster: UpstreamCluster,
    host: UpstreamHost,
    socket: net.Socket,
    labels: TcpSeries,
    session: Session,
    /** The upstream connection closed; `connected`: after it came up (else the attempt failed). */
    onUpstreamClose: (connected: boolean) => void,
  ): void {
    const t = cluster.config.tls;
    const upstream = connectUpstream(t, host.address, cluster.identity, undefined, cluster.config.upstreamBindAddress);
    host.stats.activeRequests++;
    host.trackConnection(upstream);
    session.upstreamHost = hostPort(host.address.host, host.address.port);
    let connected = false;
    const clock = this.deps.clock ?? systemClock;
    const timer = clock.setTimeout(() => {
      if (!connected) upstream.destroy(new Error('connect timeout'));
    }, cluster.config.connectTimeoutMs);
    upstream.once(t ? 'secureConnect' : 'connect', () => {
      connected = true;
      clock.clearTimeout(timer);
      upstream.setNoDelay(true);
      socket.setNoDelay(true);
      const m = this.deps.metrics;
      const sent = m.tcpSentBytes.child(labels.key, labels.rec);
      const received = m.tcpReceivedBytes.child(labels.key, labels.rec);
      if (upstream.localAddress !== undefined) session.upstreamLocal = hostPort(upstream.localAddress, upstream.localPort);
      socket.on('data', (c: Buffer) => {
        received.inc(c.length);
        session.received += c.length;
        if (!upstream.write(c)) socket.pause();
      });
      upstream.on('drain', () => socket.resume());
      upstream.on('data', (c: Buffer) => {
        sent.inc(c.length);
        session.sent += c.length;
        if (!socket.write(c)) upstream.pause();
      });
      socket.on('drain', () => upstream.resume());
      socket.on('end', () => upstream.end());
      upstream.on('end', () => socket.end());
      socket.resume();
      const idle = this.config.idleTimeoutMs;
      if (idle > 0) {
        socket.setTimeout(idle, () => {
          socket.destroy();
          upstream.destroy();
        });
      }
    });
    upstream.on('error', () => {
      clock.clearTimeout(timer);
      if (!connected) {
        cluster.recordOutcome(host, { kind: 'connect_failure' });
      }
    });
    upstream.once('close', () => {
      host.stats.activeRequests--;
      onUpstreamClose(connected);
    });
    socket.once('close', () => {
      if (connected) upstream.destroy();
    });
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** `host:port`, IPv6 in brackets (as Envoy prints addresses). */
function hostPort(host: string, port: number | undefined): string {
  const h = host.replace(/^::ffff:(?=\d+\.)/, '');
  return h.includes(':') ? `[${h}]:${port ?? 0}` : `${h}:${port ?? 0}`;
}

/** The SNI a TLS client asked for (Node sets `servername` on server-side sockets; the types omit it). */
function sniOf(socket: net.Socket): string | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  const name = (socket as tls.TLSSocket & { servername?: unknown }).servername;
  return typeof name === 'string' && name !== '' ? name : null;
}
