// Tests for the lean HTTP/1.1 client pool on loopback: reuse, the connection limit, idle close, failures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ResourceManager } from '../cluster/circuit-breaker';
import { Http1ConnectionPool, type Http1Connection, type Http1ConnectionUser } from './http1-client';

/** A raw HTTP/1.1 server answering each request with `answer(n)`; counts connections. */
async function server(answer: (n: number) => string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
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
function breaker(): ResourceManager {
  return new ResourceManager({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: null });
}

function pool(port: number, o: { max?: number; idleMs?: number; breaker?: ResourceManager } = {}): Http1ConnectionPool {
  return new Http1ConnectionPool({
    maxConnections: o.max ?? 10,
    idleTimeoutMs: o.idleMs ?? 0,
    connectTimeoutMs: 1000,
    breaker: o.breaker ?? breaker(),
    secure: false,
    connect: () => net.connect({ host: '127.0.0.1', port }),
  });
}

/** Sends GET / on a connection and resolves with the status and body, or the failure kind. */
function get(c: Http1Connection): Promise<{ status: number; body: string } | { error: string }> {
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

const ok = (body: string): string => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;

test('keep-alive: sequential requests share one connection', async (t) => {
  const s = await server((n) => ok(`r${n}`));
  const p = pool(s.port);
  t.after(() => {
    p.close();
    return s.close();
  });
  assert.deepEqual(await get(p.acquire()!), { status: 200, body: 'r1' });
  assert.deepEqual(await get(p.acquire()!), { status: 200, body: 'r2' });
  assert.equal(s.connections(), 1);
});

test('at the limit a waiter gets the connection when it is released', async (t) => {
  const s = await server((n) => ok(`r${n}`));
  const cb = breaker();
  const p = pool(s.port, { max: 1, breaker: cb });
  t.after(() => {
    p.close();
    return s.close();
  });
  const first = p.acquire()!;
  assert.equal(p.acquire(), null);
  const second = new Promise<Http1Connection>((resolve) => p.wait({ onConnection: resolve }));
  assert.deepEqual(await get(first), { status: 200, body: 'r1' });
  const c = await second;
  assert.equal(c, first);
  assert.deepEqual(await get(c), { status: 200, body: 'r2' });
  assert.equal(cb.connections, 1);
});

test('connection: close is not reused; idle connections close after the idle timeout', async (t) => {
  const s = await server((n) => (n === 1 ? 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na' : ok('b')));
  const cb = breaker();
  const p = pool(s.port, { idleMs: 100, breaker: cb });
  t.after(() => {
    p.close();
    return s.close();
  });
  assert.deepEqual(await get(p.acquire()!), { status: 200, body: 'a' });
  assert.deepEqual(await get(p.acquire()!), { status: 200, body: 'b' });
  assert.equal(s.connections(), 2);
  const deadline = Date.now() + 3000;
  while (cb.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(cb.connections, 0);
});

test('malformed response is a protocol error; a refused connection a connect failure', async (t) => {
  const s = await server(() => 'garbage\r\n\r\n');
  const p = pool(s.port);
  t.after(() => {
    p.close();
    return s.close();
  });
  assert.deepEqual(await get(p.acquire()!), { error: 'protocol_error' });
  const closed = await server(() => '');
  const port = closed.port;
  await closed.close();
  const q = pool(port);
  t.after(() => q.close());
  assert.deepEqual(await get(q.acquire()!), { error: 'connect_failure' });
});

test('the upstream closing mid-response is a reset', async (t) => {
  const s = await server(() => 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
  const p = pool(s.port);
  t.after(() => {
    p.close();
    return s.close();
  });
  const c = p.acquire()!;
  const r = get(c);
  setTimeout(() => void s.close(), 50);
  assert.deepEqual(await r, { error: 'reset' });
});

test('a connection that does not come up within the connect timeout fails as connect_timeout', async (t) => {
  // A TLS connection to a server that accepts TCP and never answers the handshake.
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const p = new Http1ConnectionPool({
    maxConnections: 1,
    idleTimeoutMs: 0,
    connectTimeoutMs: 100,
    breaker: breaker(),
    secure: true,
    connect: () => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }),
  });
  t.after(() => {
    p.close();
    silent.close();
  });
  assert.deepEqual(await get(p.acquire()!), { error: 'connect_timeout' });
});
