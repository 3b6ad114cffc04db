// HTTP/2 streams through the sidecar: a stream the client resets while its request waits (fault delay,
// connection pool, upstream) is cancelled and gives back what it held; the downstream stream limit
// (100 by default, or http2_protocol_options.max_concurrent_streams) is advertised and holds; an
// HTTP/2 upstream's own stream limit makes requests wait or use another connection, never fail.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Proxy } from '../../sidecar/proxy';
import { eventually, httpUpstream, metric, sleep, startProxy, type Upstream } from './support';

const noop = (): void => undefined;

/** One HTTP/2 request; resolves with status and body (status 0 and the error when the stream fails). */
function h2request(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const st = session.request({ ':path': path });
    let status = 0;
    let body = '';
    st.setEncoding('utf8');
    st.on('response', (h) => (status = Number(h[':status'])));
    st.on('data', (c: string) => (body += c));
    st.on('end', () => resolve({ status, body }));
    st.on('error', (err: Error) => resolve({ status: 0, body, error: err.message }));
    st.end();
  });
}

/** Opens a stream and cancels it after `ms`. */
async function resetAfter(session: http2.ClientHttp2Session, path: string, ms: number): Promise<void> {
  const st = session.request({ ':path': path });
  st.on('error', noop);
  st.resume();
  await sleep(ms);
  st.close(http2.constants.NGHTTP2_CANCEL);
}

function connect(port: number): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', noop);
  return new Promise((resolve, reject) => {
    s.once('remoteSettings', () => resolve(s));
    s.once('error', reject);
  });
}

describe('HTTP/2 stream cancellation and limits (h2-limits.yaml)', () => {
  let proxy: Proxy;
  let port = 0;
  let fewPort = 0;
  let up: Upstream;
  let h2up: http2.Http2Server;
  /** Upstream requests by path, and the upstream's highest concurrency. */
  const seen = new Map<string, number>();
  const aborted: string[] = [];
  let active = 0;
  let maxActive = 0;
  let h2MaxPerSession = 0;
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  const holdMs = new Map<string, number>([
    ['/one/a', 800],
    ['/one/b', 0],
    ['/inflight', 2_000],
  ]);

  before(async () => {
    up = await httpUpstream((req: http.IncomingMessage, res: http.ServerResponse) => {
      const path = req.url ?? '';
      seen.set(path, (seen.get(path) ?? 0) + 1);
      active++;
      maxActive = Math.max(maxActive, active);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        active--;
      };
      res.on('close', () => {
        if (!res.writableFinished) aborted.push(path);
        finish();
      });
      req.resume();
      setTimeout(() => res.end('ok'), holdMs.get(path) ?? 300);
    });
    // An HTTP/2 upstream that takes two streams per connection.
    h2up = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
    h2up.on('session', (s: http2.ServerHttp2Session) => h2Sessions.add(s));
    const perSession = new Map<http2.Http2Session, number>();
    h2up.on('stream', (stream: http2.ServerHttp2Stream) => {
      const s = stream.session!;
      const n = (perSession.get(s) ?? 0) + 1;
      perSession.set(s, n);
      h2MaxPerSession = Math.max(h2MaxPerSession, n);
      stream.on('close', () => perSession.set(s, (perSession.get(s) ?? 1) - 1));
      stream.resume();
      setTimeout(() => {
        if (!stream.destroyed) stream.respond({ ':status': 200 });
        if (!stream.destroyed) stream.end('ok');
      }, 200);
    });
    await new Promise<void>((r) => h2up.listen(0, '127.0.0.1', () => r()));
    proxy = await startProxy('h2-limits', {
      PORT: 0,
      FEW_STREAMS_PORT: 0,
      ADMIN_PORT: 0,
      UPSTREAM_PORT: up.port,
      H2_UPSTREAM_PORT: (h2up.address() as AddressInfo).port,
    });
    port = proxy.listenerPort('http');
    fewPort = proxy.listenerPort('few_streams');
  });

  after(async () => {
    await proxy?.stop();
    await up?.close();
    for (const s of h2Sessions) s.destroy();
    await new Promise<void>((r) => h2up.close(() => r()));
  });

  const resources = (cluster: string) => proxy.clusters.get(cluster)!.resources;

  test('a stream reset during a fault delay never reaches the upstream and is counted as DC', async () => {
    const session = await connect(port);
    try {
      const before = await metric(proxy, 'ferry_requests_total', { response_flags: 'DC' });
      await resetAfter(session, '/delay/x', 100);
      await sleep(700);
      assert.equal(seen.get('/delay/x') ?? 0, 0, 'no upstream request');
      assert.equal(resources('app').requests, 0);
      assert.equal(await metric(proxy, 'ferry_requests_total', { response_flags: 'DC' }), before + 1, 'recorded as a downstream termination');
    } finally {
      session.close();
    }
  });

  test('a stream reset while waiting for a pooled connection leaves the queue and is never sent', async () => {
    const session = await connect(port);
    try {
      const first = h2request(session, '/one/a');
      await eventually(() => seen.get('/one/a') === 1);
      const waiting = resetAfter(session, '/one/b', 100);
      await eventually(() => resources('one_connection').pendingRequests === 1, 1_000);
      await waiting;
      assert.ok(await eventually(() => resources('one_connection').pendingRequests === 0, 1_000), 'pending request released');
      assert.ok(await eventually(() => resources('one_connection').requests === 1, 1_000), 'only the first request still counts');
      assert.equal((await first).status, 200);
      await sleep(200);
      assert.equal(seen.get('/one/b') ?? 0, 0, 'the reset request never went upstream');
      assert.equal(resources('one_connection').requests, 0);
      // The one connection is free for the next request.
      assert.equal((await h2request(session, '/one/c')).status, 200);
    } finally {
      session.close();
    }
  });

  test('a stream reset while its upstream request is in flight cancels the upstream request', async () => {
    const session = await connect(port);
    try {
      await resetAfter(session, '/inflight', 200);
      assert.ok(await eventually(() => aborted.includes('/inflight'), 1_000), 'the upstream saw the request cancelled');
      assert.ok(await eventually(() => resources('app').requests === 0, 1_000), 'max_requests slot released');
    } finally {
      session.close();
    }
  });

  test('the downstream stream limit is 100 by default and holds', async () => {
    const session = await connect(port);
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 100);
      maxActive = 0;
      const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => h2request(session, `/many/${i}`)));
      assert.deepEqual(replies.filter((r) => r.status !== 200), []);
      assert.ok(maxActive <= 100, `at most 100 at once upstream, saw ${maxActive}`);
    } finally {
      session.close();
    }
  });

  test('http2_protocol_options.max_concurrent_streams is advertised and holds', async () => {
    const session = await connect(fewPort);
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 5);
      maxActive = 0;
      const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => h2request(session, `/few/${i}`)));
      assert.deepEqual(replies.filter((r) => r.status !== 200), []);
      assert.ok(maxActive <= 5, `at most 5 at once upstream, saw ${maxActive}`);
    } finally {
      session.close();
    }
  });

  test('an HTTP/2 upstream allowing 2 streams per connection: more requests wait or take another connection', async () => {
    const session = await connect(port);
    const burst = async (tag: string): Promise<void> => {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => h2request(session, `/h2/${tag}/${i}`)));
      assert.deepEqual(replies.filter((r) => r.status !== 200 || r.body !== 'ok'), [], `${tag}: every request answered`);
      assert.ok(h2MaxPerSession <= 2, `${tag}: the upstream's limit was respected (${h2MaxPerSession})`);
    };
    try {
      // Cold: the first connection does not know the limit yet; its streams wait for the SETTINGS.
      await burst('cold');
      assert.equal(h2Sessions.size, 1);
      // Warm: the pool knows the limit and opens more connections instead of queueing.
      await burst('warm');
      assert.ok(h2Sessions.size >= 5, `another connection per two streams (${h2Sessions.size} connections)`);
    } finally {
      session.close();
    }
  });
});
