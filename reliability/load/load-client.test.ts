import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock/clock';
import { FakeClock } from '../../src/clock/fake-clock.fixture';
import { dueBy, startLoad, totalRequests } from './load-client';

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('dueBy: the first request at 0, then one every 1000/rps ms, capped at rps × duration', () => {
  assert.equal(totalRequests(100, 1000), 100);
  assert.equal(totalRequests(3, 500), 1);
  assert.equal(dueBy(-1, 100, 1000), 0);
  assert.equal(dueBy(0, 100, 1000), 1);
  assert.equal(dueBy(9.99, 100, 1000), 1);
  assert.equal(dueBy(10, 100, 1000), 2);
  assert.equal(dueBy(995, 100, 1000), 100);
  assert.equal(dueBy(60_000, 100, 1000), 100);
});

test('startLoad refuses a run that sends nothing, naming the figures', () => {
  assert.throws(() => startLoad({ host: '127.0.0.1', port: 1, path: '/', method: 'GET', rps: 1, durationMs: 500, timeoutMs: 100 }, new FakeClock()), /1 req\/s for 500 ms sends no request/);
  assert.throws(() => startLoad({ host: '127.0.0.1', port: 1, path: '/', method: 'GET', rps: 0, durationMs: 500, timeoutMs: 100 }, new FakeClock()), /rps must be > 0, got 0/);
});

test('open loop: every request leaves on schedule while earlier ones hang; statuses, response flags and errors are recorded', async (t) => {
  // Requests 0–4 answer 200, 5–6 a 503 with a flag, 7 is reset, 8–9 are never answered (they time out).
  let n = 0;
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const i = n++;
    if (i < 5) res.end('ok');
    else if (i < 7) {
      res.writeHead(503, { 'x-ferry-response-flags': 'UF' });
      res.end();
    } else if (i === 7) req.socket.destroy();
    else hanging.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const r of hanging) r.destroy();
    server.close();
  });
  const clock = new FakeClock();
  const run = startLoad({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/x', method: 'GET', rps: 10, durationMs: 1000, timeoutMs: 5000, tickMs: 10 }, clock);
  // Each request is sent when due, whether or not the earlier ones were answered: wait for each to arrive.
  for (let i = 1; i <= 10; i++) {
    clock.advance(i === 1 ? 10 : 100);
    for (let spin = 0; n < i && spin < 2000; spin++) await new Promise((r) => setImmediate(r));
    assert.equal(run.sent(), i);
  }
  assert.equal(n, 10, 'the server saw every request');
  assert.equal(hanging.length, 2);
  clock.advance(5000); // the two hanging requests time out
  const records = await run.done;
  assert.deepEqual(records.map((r) => r.at), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  // The first left at the scheduler's first tick, 10 ms after it was due, the others on their tick;
  // latency counts from when a request was due.
  assert.deepEqual(records.map((r) => r.lagMs), [10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(records.every((r) => r.latencyMs >= r.lagMs));
  assert.ok(records[9].latencyMs >= 5000, `a hanging request ends at its timeout, 5 s after it left (${records[9].latencyMs} ms)`);
  const seen = records.map((r) => (r.status ? `${r.status}${r.flag ? ` ${r.flag}` : ''}` : r.error));
  assert.deepEqual(seen.slice(0, 5), ['200', '200', '200', '200', '200']);
  assert.deepEqual(seen.slice(5, 7), ['503 UF', '503 UF']);
  assert.equal(seen[7], 'ECONNRESET');
  assert.deepEqual(seen.slice(8), ['ETIMEDOUT', 'ETIMEDOUT']);
});

test('a request body: every request carries bodyBytes with its Content-Length; an out-of-range size is refused', async (t) => {
  const seen: { method: string; length: string | undefined; bytes: number }[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', length: req.headers['content-length'], bytes });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const clock = new FakeClock();
  const port = (server.address() as AddressInfo).port;
  const run = startLoad({ host: '127.0.0.1', port, path: '/orders', method: 'POST', bodyBytes: 200, rps: 10, durationMs: 300, timeoutMs: 5000, tickMs: 10 }, clock);
  for (let i = 1; i <= 3; i++) {
    clock.advance(i === 1 ? 10 : 100);
    for (let spin = 0; seen.length < i && spin < 2000; spin++) await new Promise((r) => setImmediate(r));
  }
  const records = await run.done;
  assert.deepEqual(records.map((r) => r.status), [200, 200, 200]);
  assert.deepEqual(seen, [0, 1, 2].map(() => ({ method: 'POST', length: '200', bytes: 200 })));
  assert.throws(() => startLoad({ host: '127.0.0.1', port, path: '/', method: 'POST', bodyBytes: -1, rps: 10, durationMs: 1000, timeoutMs: 100 }, clock), /bodyBytes must be a whole number 0–1048576, got -1/);
});

test('retry on a fresh connection: a refused connect is retried with back-off until the server listens, within the timeout; off by default', async (t) => {
  const port = await freePort();
  const server = http.createServer((_req, res) => res.end('ok'));
  t.after(() => server.close());
  const off = await startLoad({ host: '127.0.0.1', port, path: '/', method: 'POST', rps: 10, durationMs: 200, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(off.map((r) => [r.error, r.retries]), [['ECONNREFUSED', undefined], ['ECONNREFUSED', undefined]]);
  // Listening 300 ms after the first request: both requests retry until then, then succeed.
  const run = startLoad({ host: '127.0.0.1', port, path: '/', method: 'POST', rps: 10, durationMs: 200, timeoutMs: 2000, retryOnFreshConnection: true }, systemClock);
  await new Promise((r) => setTimeout(r, 300));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const records = await run.done;
  assert.deepEqual(records.map((r) => r.status), [200, 200]);
  assert.ok(records.every((r) => (r.retries?.length ?? 0) >= 2 && r.retries!.every((w) => w === 'connect refused')), JSON.stringify(records));
  assert.ok(records[0].latencyMs >= 300, `latency counts the retries (${records[0].latencyMs} ms)`);
  // A server that never comes back: the request fails at its timeout, its retries recorded.
  server.close();
  const gone = await startLoad({ host: '127.0.0.1', port, path: '/', method: 'GET', rps: 10, durationMs: 100, timeoutMs: 300, retryOnFreshConnection: true }, systemClock).done;
  assert.equal(gone[0].status, 0);
  assert.match(gone[0].error, /ECONNREFUSED|ETIMEDOUT/);
  assert.ok((gone[0].retries?.length ?? 0) >= 3);
});

test('retry on a fresh connection: a reused keep-alive connection closed before any response byte is retried for GET, not for POST, nor on a fresh connection', async (t) => {
  // The second request on every connection finds it closed (the keep-alive race, made certain).
  const perSocket = new WeakMap<object, number>();
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    seen.push(`${req.method} ${n}`);
    if (n === 2) return void req.socket.destroy();
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const opts = { host: '127.0.0.1', port, path: '/', rps: 5, durationMs: 800, timeoutMs: 2000, retryOnFreshConnection: true } as const;
  const get = await startLoad({ ...opts, method: 'GET' }, systemClock).done;
  assert.deepEqual(get.map((r) => r.status), [200, 200, 200, 200]);
  assert.deepEqual(get.map((r) => r.retries ?? []), [[], ['reused connection closed'], [], ['reused connection closed']]);
  const post = await startLoad({ ...opts, method: 'POST' }, systemClock).done;
  assert.deepEqual(post.map((r) => r.status || r.error), [200, 'ECONNRESET', 200, 'ECONNRESET']);
  assert.ok(post.every((r) => r.retries === undefined));
});

test('stop: nothing more is sent, done resolves with the requests already sent once they ended; a stop after the end changes nothing', async (t) => {
  let n = 0;
  const server = http.createServer((_req, res) => {
    n++;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const clock = new FakeClock();
  const run = startLoad({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/', method: 'GET', rps: 10, durationMs: 10_000, timeoutMs: 5000, tickMs: 10 }, clock);
  clock.advance(10);
  clock.advance(100);
  clock.advance(100);
  assert.equal(run.sent(), 3);
  run.stop();
  clock.advance(1000);
  assert.equal(run.sent(), 3, 'nothing sent after the stop');
  const records = await run.done;
  assert.equal(records.length, 3);
  assert.ok(records.every((r) => r.status === 200));
  assert.equal(n, 3);
  run.stop();
});
