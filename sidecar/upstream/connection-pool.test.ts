// Tests for an endpoint's pools as its cluster configures them, against real loopback servers:
// max_requests_per_connection over HTTP/1.1, pools made once, the breaker's connections count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { ResourceManager } from '../cluster/circuit-breaker';
import type { Http1Connection } from './http1-client';
import { EndpointPools } from './connection-pool';
import { cluster, listen, until } from './pool-cluster.fixture';

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

test('HTTP/1.1: max_requests_per_connection closes a connection after that many requests', async (t) => {
  const sockets = new Set<unknown>();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    res.end(`conn${sockets.size}`);
  });
  const port = await listen(t, server, () => server.closeAllConnections());
  const limitedCluster = cluster(port, { max_requests_per_connection: 2 });
  const limited = new EndpointPools(limitedCluster, { host: '127.0.0.1', port }, new ResourceManager(limitedCluster.circuitBreakers)).http1();
  t.after(() => limited.close());
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) bodies.push(await get1(limited.acquire()!));
  assert.deepEqual(bodies, ['conn1', 'conn1', 'conn2']);
  const unlimitedCluster = cluster(port);
  const unlimited = new EndpointPools(unlimitedCluster, { host: '127.0.0.1', port }, new ResourceManager(unlimitedCluster.circuitBreakers)).http1();
  t.after(() => unlimited.close());
  for (let i = 0; i < 3; i++) bodies.push(await get1(unlimited.acquire()!));
  assert.deepEqual(bodies.slice(3), ['conn3', 'conn3', 'conn3'], 'without the field one connection carries them all');
});

test("HTTP/1.1: the breaker's connections count follows the pool's connections opening and closing", async (t) => {
  const server = http.createServer((req, res) => res.end('ok'));
  const port = await listen(t, server, () => server.closeAllConnections());
  const c = cluster(port, { circuit_breakers: { thresholds: [{ max_connections: 2 }] } });
  const cb = new ResourceManager(c.circuitBreakers);
  const pool = new EndpointPools(c, { host: '127.0.0.1', port }, cb).http1();
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

test('an endpoint makes each pool once, on first use; close closes both and the next use makes fresh ones', async (t) => {
  const server = http.createServer((req, res) => res.end('ok'));
  const port = await listen(t, server, () => server.closeAllConnections());
  const c = cluster(port);
  const cb = new ResourceManager(c.circuitBreakers);
  const pools = new EndpointPools(c, { host: '127.0.0.1', port }, cb);
  t.after(() => pools.close());
  const h1 = pools.http1();
  assert.equal(pools.http1(), h1);
  assert.equal(await get1(h1.acquire()!), 'ok');
  assert.equal(cb.connections, 1);
  pools.close();
  await until(() => cb.connections === 0);
  assert.notEqual(pools.http1(), h1, 'a closed pool is not handed out again');
  assert.equal(pools.http2(), pools.http2());
});
