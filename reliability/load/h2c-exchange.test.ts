import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock/clock';
import { h2ErrorName } from './h2c-exchange';
import { startLoad } from './load-client';
import { failureReason, isOk } from './outcomes';

/** An h2c server whose `i`-th stream is handled by `handle`; it counts sessions. Closed after the test. */
async function server(t: { after(fn: () => void): void }, handle: (stream: http2.ServerHttp2Stream, i: number, session: http2.ServerHttp2Session) => void): Promise<{ port: number; sessions: () => number }> {
  let n = 0;
  const open = new Set<http2.ServerHttp2Session>();
  let sessions = 0;
  const s = http2.createServer();
  s.on('session', (x) => {
    sessions++;
    open.add(x);
    x.once('close', () => open.delete(x));
  });
  s.on('stream', (stream) => {
    stream.on('error', () => undefined);
    handle(stream, n++, stream.session as http2.ServerHttp2Session);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const x of open) x.destroy();
    s.close();
  });
  return { port: (s.address() as AddressInfo).port, sessions: () => sessions };
}

test('h2ErrorName: RFC 9113 names by code, the number when unknown', () => {
  assert.equal(h2ErrorName(7), 'REFUSED_STREAM');
  assert.equal(h2ErrorName(8), 'CANCEL');
  assert.equal(h2ErrorName(99), '99');
});

test('h2c: streams on one session; statuses, response flags, resets and timeouts recorded', async (t) => {
  // Stream 0–1: 200, 2: 503 UF, 3: reset REFUSED_STREAM, 4: never answered.
  const srv = await server(t, (stream, i) => {
    if (i < 2) {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    } else if (i === 2) {
      stream.respond({ ':status': 503, 'x-ferry-response-flags': 'UF' });
      stream.end();
    } else if (i === 3) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  const records = await startLoad({ protocol: 'h2c', host: '127.0.0.1', port: srv.port, path: '/x', method: 'GET', rps: 10, durationMs: 500, timeoutMs: 300 }, systemClock).done;
  assert.deepEqual(records.map((r) => (isOk(r) ? 'ok' : failureReason(r))), ['ok', 'ok', '503 UF', 'RST REFUSED_STREAM', 'ETIMEDOUT']);
  assert.equal(srv.sessions(), 1);
});

test('h2c: after a GOAWAY the next requests go on a new session; a POST carries its body', async (t) => {
  const bodies: number[] = [];
  const srv = await server(t, (stream, i, session) => {
    let len = 0;
    stream.on('data', (c: Buffer) => (len += c.length));
    stream.on('end', () => {
      bodies.push(len);
      stream.respond({ ':status': 200 });
      stream.end();
      // The first session goes away gracefully after its first answer.
      if (i === 0) session.close();
    });
  });
  const records = await startLoad({ protocol: 'h2c', host: '127.0.0.1', port: srv.port, path: '/x', method: 'POST', bodyBytes: 100, rps: 10, durationMs: 400, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(records.map((r) => r.status), [200, 200, 200, 200]);
  assert.deepEqual(bodies, [100, 100, 100, 100]);
  assert.equal(srv.sessions(), 2);
});

test('h2c: a refused connection is counted by its error', async () => {
  const s = http2.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const records = await startLoad({ protocol: 'h2c', host: '127.0.0.1', port, path: '/', method: 'GET', rps: 10, durationMs: 200, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(records.map(failureReason), ['ECONNREFUSED', 'ECONNREFUSED']);
});

test('h2c: an answer cut before its body ended is a failure, though its status was 200', async (t) => {
  // Stream 0: reset with NO_ERROR after 10 of its 100 bytes (node:http2 answers the short body with PROTOCOL_ERROR); 1 (no content-length): its connection cut mid-body (node:http2 still ends the body, and cancels the stream).
  const srv = await server(t, (stream, i) => {
    stream.respond(i === 0 ? { ':status': 200, 'content-length': '100' } : { ':status': 200 });
    stream.write(Buffer.alloc(10));
    setTimeout(() => (i === 0 ? stream.close(http2.constants.NGHTTP2_NO_ERROR) : stream.session?.destroy()), 20);
  });
  const records = await startLoad({ protocol: 'h2c', host: '127.0.0.1', port: srv.port, path: '/x', method: 'GET', rps: 10, durationMs: 200, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(records.map((r) => (isOk(r) ? 'ok' : failureReason(r))), ['RST PROTOCOL_ERROR', 'RST CANCEL']);
});
