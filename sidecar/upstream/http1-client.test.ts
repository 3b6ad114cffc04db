// Tests for one HTTP/1.1 upstream connection on loopback: how its failures are classified.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Http1Pool } from './http1-pool';
import { breaker, get, pool, server } from './http1-upstream.fixture';

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
  const p = new Http1Pool({
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
