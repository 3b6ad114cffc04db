// Shared helpers for the HTTP/1.1 pool and connection tests: a raw loopback server, a pool to it, one GET.

import * as net from 'node:net';
import { ResourceManager } from '../cluster/circuit-breaker';
import type { Http1Connection, Http1ConnectionUser } from './http1-client';
import { Http1Pool } from './http1-pool';

/** A raw HTTP/1.1 server answering each request with `answer(n)`; counts connections. */
export async function server(answer: (n: number) => string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let conns = 0;
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    conns++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(i + 4);
        s.write(answer(++n));
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => conns,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

/** A circuit breaker with Envoy's default thresholds. */
export function breaker(): ResourceManager {
  return new ResourceManager({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: null });
}

export function pool(port: number, o: { max?: number; idleMs?: number; breaker?: ResourceManager } = {}): Http1Pool {
  return new Http1Pool({
    maxConnections: o.max ?? 10,
    idleTimeoutMs: o.idleMs ?? 0,
    connectTimeoutMs: 1000,
    breaker: o.breaker ?? breaker(),
    secure: false,
    connect: () => net.connect({ host: '127.0.0.1', port }),
  });
}

/** Sends GET / on a connection and resolves with the status and body, or the failure kind. */
export function get(c: Http1Connection): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    const user: Http1ConnectionUser = {
      onResponseHead: (s) => (status = s),
      onResponseBody: (b) => (body += b.toString()),
      onResponseEnd: () => resolve({ status, body }),
      onConnectionError: (kind) => resolve({ error: kind }),
    };
    c.begin(user, false);
    c.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    c.requestEnded = true;
  });
}

export const ok = (body: string): string => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
