// Tests for the upstream pools as a cluster configures them: max_requests_per_connection (HTTP/1.1
// and HTTP/2), HTTP/2 max_concurrent_streams and window settings, against real loopback servers.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { translateCluster } from '../../src/config/cluster';
import type { ClusterConfig } from '../../src/config/types';
import { ResourceManager } from '../cluster/circuit-breaker';
import type { Http1Connection } from './http1-client';
import { Http1Pool, Http2Pool } from './connection-pool';

function cluster(port: number, extra: Record<string, unknown> = {}): ClusterConfig {
  return translateCluster(
    {
      name: 'c',
      connect_timeout: '1s',
      load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
      ...extra,
    },
    'clusters[0]',
  );
}

/** Listens on loopback; after the test, `drop` ends open connections, then the server closes. */
async function listen(t: TestContext, server: http.Server | http2.Http2Server, drop: () => void): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    drop();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

/** One GET over an HTTP/1.1 pool connection; resolves with the body. */
function get1(c: Http1Connection): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    c.begin(
      {
        onResponseHead: () => undefined,
        onResponseBody: (b) => (body += b.toString()),
        onResponseEnd: () => resolve(body),
        onConnectionError: (kind) => reject(new Error(kind)),
      },
      false,
    );
    c.write('GET / HTTP/1.1\r\nhost: c\r\n\r\n');
    c.requestEnded = true;
  });
}

/** One GET over an HTTP/2 pool; resolves with the body once the stream ends. */
function get2(pool: Http2Pool, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = pool.request({ ':method': 'GET', ':path': path, ':authority': 'c', ':scheme': 'http' }, { endStream: true });
    let body = '';
    stream.on('data', (b: Buffer) => (body += b.toString()));
    stream.on('end', () => resolve(body));
    stream.on('error', reject);
  });
}

test('HTTP/1.1: max_requests_per_connection closes a connection after that many requests', async (t) => {
  const sockets = new Set<unknown>();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    res.end(`conn${sockets.size}`);
  });
  const port = await listen(t, server, () => server.closeAllConnections());
  const limitedCluster = cluster(port, { max_requests_per_connection: 2 });
  const limited = new Http1Pool(limitedCluster, { host: '127.0.0.1', port }, new ResourceManager(limitedCluster.circuitBreakers));
  t.after(() => limited.close());
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) bodies.push(await get1(limited.acquire()!));
  assert.deepEqual(bodies, ['conn1', 'conn1', 'conn2']);
  const unlimitedCluster = cluster(port);
  const unlimited = new Http1Pool(unlimitedCluster, { host: '127.0.0.1', port }, new ResourceManager(unlimitedCluster.circuitBreakers));
  t.after(() => unlimited.close());
  for (let i = 0; i < 3; i++) bodies.push(await get1(unlimited.acquire()!));
  assert.deepEqual(bodies.slice(3), ['conn3', 'conn3', 'conn3'], 'without the field one connection carries them all');
});

/** An HTTP/2 server that answers each stream with the ordinal of its session; holds /hold streams until released. */
async function h2Server(t: TestContext) {
  const sessions: http2.ServerHttp2Session[] = [];
  const held: http2.ServerHttp2Stream[] = [];
  const server = http2.createServer();
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream, headers) => {
    const n = sessions.indexOf(stream.session as http2.ServerHttp2Session) + 1;
    stream.respond({ ':status': 200 });
    if (headers[':path'] === '/hold') held.push(stream);
    else stream.end(`session${n}`);
  });
  const port = await listen(t, server, () => {
    for (const s of sessions) s.destroy();
  });
  return { port, sessions, held };
}

const H2 = { http2_protocol_options: {} };

/** An HTTP/2 pool to the loopback server, counted by a breaker of its own. */
function h2Pool(c: ClusterConfig, port: number): Http2Pool {
  return new Http2Pool(c, { host: '127.0.0.1', port }, new ResourceManager(c.circuitBreakers));
}

test('HTTP/2: max_requests_per_connection moves later streams to a new session', async (t) => {
  const s = await h2Server(t);
  const pool = h2Pool(cluster(s.port, { ...H2, max_requests_per_connection: 2 }), s.port);
  t.after(() => pool.close());
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) bodies.push(await get2(pool));
  assert.deepEqual(bodies, ['session1', 'session1', 'session2']);
});

test('HTTP/2: max_concurrent_streams caps the streams open on one session; the default multiplexes on one', async (t) => {
  const s = await h2Server(t);
  const cappedCluster = cluster(s.port, { http2_protocol_options: { max_concurrent_streams: 1 } });
  const cb = new ResourceManager(cappedCluster.circuitBreakers);
  const capped = new Http2Pool(cappedCluster, { host: '127.0.0.1', port: s.port }, cb);
  t.after(() => capped.close());
  const a = get2(capped, '/hold');
  const b = get2(capped, '/hold');
  while (s.held.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.equal(capped.size, 2, 'the second concurrent stream opened a second session');
  assert.equal(cb.connections, 2, 'both count against max_connections');
  for (const h of s.held.splice(0)) h.end('done');
  await Promise.all([a, b]);
  assert.equal(await get2(capped), 'session1', 'a stream after both finished reuses the first session');

  const shared = h2Pool(cluster(s.port, H2), s.port);
  t.after(() => shared.close());
  const c = get2(shared, '/hold');
  const d = get2(shared, '/hold');
  while (s.held.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.equal(shared.size, 1);
  for (const h of s.held.splice(0)) h.end('done');
  await Promise.all([c, d]);
});

test('HTTP/2: initial_stream_window_size reaches the upstream in SETTINGS', async (t) => {
  const s = await h2Server(t);
  const pool = h2Pool(cluster(s.port, { http2_protocol_options: { initial_stream_window_size: 131_072 } }), s.port);
  t.after(() => pool.close());
  await get2(pool);
  assert.equal(s.sessions[0].remoteSettings.initialWindowSize, 131_072);
});

/** Resolves once `cond` holds, checking after each turn of the event loop (the test's timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

test("HTTP/1.1: the breaker's connections count follows the pool's connections opening and closing", async (t) => {
  const server = http.createServer((req, res) => res.end('ok'));
  const port = await listen(t, server, () => server.closeAllConnections());
  const c = cluster(port, { circuit_breakers: { thresholds: [{ max_connections: 2 }] } });
  const cb = new ResourceManager(c.circuitBreakers);
  const pool = new Http1Pool(c, { host: '127.0.0.1', port }, cb);
  t.after(() => pool.close());
  const a = pool.acquire()!;
  assert.equal(cb.connections, 1);
  const b = pool.acquire()!;
  assert.equal(cb.connections, 2);
  assert.equal(cb.canAcquire('connections'), false, 'at max_connections: the router makes further requests pending');
  assert.deepEqual(await Promise.all([get1(a), get1(b)]), ['ok', 'ok']);
  assert.equal(cb.connections, 2, 'idle keep-alive connections still hold their units');
  const reused = pool.acquire()!;
  assert.ok(reused === a || reused === b, 'an idle connection is reused without another unit');
  assert.equal(cb.connections, 2);
  await get1(reused);
  server.closeAllConnections();
  await until(() => cb.connections === 0);
  assert.equal(cb.canAcquire('connections'), true);
  pool.acquire();
  assert.equal(cb.connections, 1);
  pool.close();
  await until(() => cb.connections === 0);
});

test("HTTP/2: the breaker's connections count follows the pool's sessions opening and closing", async (t) => {
  const s = await h2Server(t);
  const c = cluster(s.port, { http2_protocol_options: { max_concurrent_streams: 1 } });
  const cb = new ResourceManager(c.circuitBreakers);
  const pool = new Http2Pool(c, { host: '127.0.0.1', port: s.port }, cb);
  t.after(() => pool.close());
  assert.equal(await get2(pool), 'session1');
  assert.equal(cb.connections, 1);
  for (const session of s.sessions) session.destroy();
  await until(() => cb.connections === 0);
  assert.equal(pool.size, 0);
  const a = get2(pool, '/hold');
  const b = get2(pool, '/hold');
  assert.equal(cb.connections, 2, 'a second session for the second concurrent stream');
  while (s.held.length < 2) await new Promise((r) => setImmediate(r));
  for (const h of s.held.splice(0)) h.end('done');
  await Promise.all([a, b]);
  pool.close();
  await until(() => cb.connections === 0);
});
