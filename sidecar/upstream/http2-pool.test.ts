// Tests for the HTTP/2 pool as a cluster configures it, against a real loopback server: max_requests_per_connection,
// max_concurrent_streams and window settings, the breaker's connections count.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { ResourceManager } from '../cluster/circuit-breaker';
import type { ClusterConfig } from '../../src/config/types';
import { Http2Pool } from './http2-pool';
import { cluster, listen, until } from './pool-cluster.fixture';

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
