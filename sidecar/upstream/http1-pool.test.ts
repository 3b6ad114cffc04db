// Tests for the HTTP/1.1 pool on loopback: reuse, the connection limit and its waiters, idle close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { FakeClock } from '../../src/clock/fake-clock.fixture';
import type { Http1Connection } from './http1-client';
import { Http1Pool } from './http1-pool';
import { breaker, get, ok, pool, server } from './http1-upstream.fixture';

/** Resolves once `cond` holds, checking after each turn of the event loop (the test's timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

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

test('the idle sweep runs on the pool clock: a connection idle past idle_timeout closes when the clock passes it', async (t) => {
  const s = await server((n) => ok(`r${n}`));
  const clock = new FakeClock();
  const cb = breaker();
  const p = new Http1Pool({
    maxConnections: 2,
    idleTimeoutMs: 1_000,
    connectTimeoutMs: 0,
    breaker: cb,
    secure: false,
    clock,
    connect: () => net.connect({ host: '127.0.0.1', port: s.port }),
  });
  t.after(() => {
    p.close();
    return s.close();
  });
  assert.deepEqual(await get(p.acquire()!), { status: 200, body: 'r1' });
  assert.equal(cb.connections, 1);
  clock.advance(999);
  await new Promise((r) => setImmediate(r));
  assert.equal(cb.connections, 1, 'idle for less than idle_timeout: kept');
  clock.advance(1_000);
  await until(() => cb.connections === 0);
  assert.equal(clock.pending, 0, 'the sweep stops once no connection is left');
});
