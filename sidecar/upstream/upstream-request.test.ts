// Tests for an HTTP/2 upstream attempt against a real loopback server: the handler gets the response
// head before any of its body, whatever order node:http2 emits them in.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { listen } from './pool-cluster.fixture';
import { startAttempt, type AttemptHandler, type AttemptTarget, type UpstreamFailure } from './upstream-request';

/**
 * A client session whose transport is a JS stream over a loopback socket. node:http2 then parses each
 * chunk of input inside a JS call, so for a HEADERS and a DATA frame that arrive together it pushes the
 * DATA at once while its 'response' event waits for process.nextTick: the order a sidecar's mTLS
 * sessions showed now and then under load (TLS input processed while JS was on the stack).
 */
function jsTransportSession(t: TestContext, port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => {
      const socket = net.connect(port, '127.0.0.1');
      const relay = new Duplex({
        read() {},
        write(chunk: Buffer, _enc, cb) {
          socket.write(chunk, cb);
        },
        final(cb) {
          socket.end();
          cb();
        },
        destroy(err, cb) {
          socket.destroy();
          cb(err);
        },
      });
      socket.on('data', (b: Buffer) => relay.push(b));
      socket.on('end', () => relay.push(null));
      socket.on('error', (err) => relay.destroy(err));
      return relay;
    },
  });
  t.after(() => session.destroy());
  return session;
}

/** What an attempt told its handler, in order. */
function recorder(): { handler: AttemptHandler; events: string[]; done: Promise<void> } {
  const events: string[] = [];
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const handler: AttemptHandler = {
    onResponse: (status) => void events.push(`head ${status}`),
    onData: (chunk) => void events.push(`body ${chunk.toString()}`),
    onEnd: (trailers) => {
      events.push(trailers === null ? 'end' : `end ${JSON.stringify(trailers)}`);
      finish();
    },
    onError: (kind: UpstreamFailure, err) => {
      events.push(`error ${kind} ${err.message}`);
      finish();
    },
  };
  return { handler, events, done };
}

/** Answers every stream in one write: the head, a body, and (for /trailers) trailers. */
async function oneWriteServer(t: TestContext): Promise<number> {
  const sessions: http2.ServerHttp2Session[] = [];
  const server = http2.createServer();
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/empty') {
      stream.respond({ ':status': 204 }, { endStream: true });
      return;
    }
    const withTrailers = path === '/trailers';
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: withTrailers });
    if (withTrailers) stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end('catalog items');
  });
  return listen(t, server, () => {
    for (const s of sessions) s.destroy();
  });
}

for (const c of [
  { path: '/', want: ['head 200', 'body catalog items', 'end'] },
  { path: '/trailers', want: ['head 200', 'body catalog items', 'end {"grpc-status":"0"}'] },
  { path: '/empty', want: ['head 204', 'end'] },
]) {
  test(`HTTP/2 attempt, GET ${c.path} answered in one write: head, then body, then end`, async (t) => {
    const port = await oneWriteServer(t);
    const session = jsTransportSession(t, port);
    const target: AttemptTarget = {
      http1: () => assert.fail('an HTTP/2 attempt asked for the HTTP/1.1 pool'),
      http2: () => ({ request: (headers, options) => session.request(headers, options) }),
    };
    // Several in a row: the first stream's order can differ from a warm session's.
    for (let i = 0; i < 5; i++) {
      const r = recorder();
      const attempt = startAttempt(target, true, { method: 'GET', path: c.path, authority: 'catalog', scheme: 'http', headers: {}, connectTimeoutMs: 1000 }, r.handler);
      attempt.end();
      await r.done;
      assert.deepEqual(r.events, c.want, `request ${i + 1}`);
      assert.equal(attempt.finished, true);
    }
  });
}
