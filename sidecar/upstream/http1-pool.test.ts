// Tests for the HTTP/1.1 pool on loopback: reuse, the connection limit and its waiters, idle close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Http1Connection } from './http1-client';
import { breaker, get, ok, pool, server } from './http1-upstream.fixture';

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
