// HTTP/1.1 Upgrade pass-through (WebSocket): replays the request head upstream, then splices bytes.

import type * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { UpstreamCluster } from '../cluster/upstream-cluster';
import { connectUpstream } from '../upstream/connection-pool';
import type { ProxyMetrics } from '../../src/observability/metrics';
import { RESPONSE_FLAGS_HEADER } from '../http/local-reply';
import type { Clock } from '../../src/clock/clock';

export function proxyUpgrade(
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  cluster: UpstreamCluster,
  target: { path: string; authority: string },
  /** The upstream request headers, already edited by the route (hop-by-hop Upgrade/Connection kept). */
  headers: Record<string, string | string[]>,
  secure: boolean,
  metrics: ProxyMetrics,
  idleTimeoutMs: number,
  onIdleTimeout: () => void,
  clock: Clock,
): void {
  const host = cluster.pick({ hash: null, exclude: null, maxExcludeAttempts: 0 });
  if (host === null) {
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n${RESPONSE_FLAGS_HEADER}: UH\r\n\r\n`);
    return;
  }
  if (!cluster.resources.tryAcquire('requests')) {
    metrics.overflow.labels(cluster.name, 'max_requests').inc();
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n${RESPONSE_FLAGS_HEADER}: UO\r\n\r\n`);
    return;
  }
  host.stats.activeRequests++;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    host.stats.activeRequests--;
    cluster.resources.release('requests');
  };
  headers['x-forwarded-proto'] ??= secure ? 'https' : 'http';
  let headText = `${req.method ?? 'GET'} ${target.path} HTTP/1.1\r\nhost: ${target.authority}\r\n`;
  for (const k in headers) {
    const v = headers[k];
    if (Array.isArray(v)) for (const x of v) headText += `${k}: ${x}\r\n`;
    else headText += `${k}: ${v}\r\n`;
  }
  headText += '\r\n';
  const upstream = connectUpstream(cluster.config.tls, host.address, cluster.identity, undefined, cluster.config.upstreamBindAddress);
  let connected = false;
  const timer = clock.setTimeout(() => {
    if (!connected) upstream.destroy(new Error('connect timeout'));
  }, cluster.config.connectTimeoutMs);
  upstream.once(cluster.config.tls ? 'secureConnect' : 'connect', () => {
    connected = true;
    clock.clearTimeout(timer);
    upstream.setNoDelay(true);
    socket.setNoDelay(true);
    upstream.write(headText);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    if (idleTimeoutMs > 0) {
      // Every byte either way passes through the downstream socket, so its inactivity is the stream's.
      socket.setTimeout(idleTimeoutMs, () => {
        onIdleTimeout();
        socket.destroy();
        upstream.destroy();
      });
    }
  });
  upstream.on('error', () => {
    clock.clearTimeout(timer);
    if (!connected) {
      cluster.recordOutcome(host, { kind: 'connect_failure' });
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n${RESPONSE_FLAGS_HEADER}: UF\r\n\r\n`,
      );
    } else socket.destroy();
    release();
  });
  socket.on('error', () => upstream.destroy());
  upstream.on('close', () => {
    socket.destroy();
    release();
  });
  socket.on('close', () => upstream.destroy());
}
