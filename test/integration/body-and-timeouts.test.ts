// Request bodies through retries, and the timeouts that watch a stream (body-and-timeouts.yaml):
// an upstream receives exactly the bytes the client sent or nothing; the route timeout starts once
// the request is complete; stream_idle_timeout, the route's idle_timeout and per_try_idle_timeout end
// a stalled stream with a visible status and flag.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, httpUpstream, metric, request, sleep, startProxy, type Upstream } from './support';

interface Received {
  readonly bytes: number;
  readonly sha: string;
}

/** Reads a request body, hashing it; `paceMs` > 0 reads 64 KiB at a time with a pause in between. */
function readBody(req: http.IncomingMessage, paceMs: number, done: (r: Received) => void): void {
  const h = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    h.update(c);
    bytes += c.length;
    if (paceMs > 0) {
      req.pause();
      setTimeout(() => req.resume(), paceMs);
    }
  });
  req.on('end', () => done({ bytes, sha: h.digest('hex') }));
}

function bodyOf(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Result {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly ms: number;
}

/**
 * POSTs `body` in 64 KiB writes (chunked, or with Content-Length), every `paceMs` if set; gives up
 * after `limitMs`.
 */
function upload(
  port: number,
  path: string,
  body: Buffer,
  opts: { chunked: boolean; id: string; limitMs?: number; paceMs?: number; headers?: http.OutgoingHttpHeaders },
): Promise<Result> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'x-test-id': opts.id, ...opts.headers };
    if (!opts.chunked) headers['content-length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, ms: performance.now() - started }));
      res.on('error', reject);
    });
    const limit = setTimeout(() => req.destroy(new Error(`no answer within ${opts.limitMs ?? 10_000} ms`)), opts.limitMs ?? 10_000);
    req.on('close', () => clearTimeout(limit));
    req.on('error', reject);
    let off = 0;
    const pump = (): void => {
      while (off < body.length) {
        const chunk = body.subarray(off, off + 65_536);
        off += chunk.length;
        const more = req.write(chunk);
        if (opts.paceMs !== undefined && off < body.length) return void setTimeout(pump, opts.paceMs);
        if (!more) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

async function timed(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Result> {
  const started = performance.now();
  const r = await request(port, path, { headers });
  return { ...r, ms: performance.now() - started };
}

describe('request bodies through retries, and stream timeouts (body-and-timeouts.yaml)', () => {
  let proxy: Proxy;
  let port = 0;
  const ups: Record<string, Upstream> = {};
  /** What each upstream received, by x-test-id (every receipt, in order). */
  const received = new Map<string, { upstream: string; r: Received }[]>();
  const note = (upstream: string, req: http.IncomingMessage, r: Received): void => {
    const id = String(req.headers['x-test-id'] ?? '');
    const list = received.get(id) ?? [];
    list.push({ upstream, r });
    received.set(id, list);
  };
  const stalled = new Set<http.ServerResponse>();
  let stallHits = 0;

  before(async () => {
    ups.live = await httpUpstream((req, res) =>
      readBody(req, 0, (r) => {
        note('live', req, r);
        res.end(JSON.stringify(r));
      }),
    );
    // Resets the first request with an id after reading its whole body; answers the second.
    const seen = new Set<string>();
    ups.flaky = await httpUpstream((req, res) =>
      readBody(req, 0, (r) => {
        note('flaky', req, r);
        const id = String(req.headers['x-test-id']);
        if (!seen.has(id)) {
          seen.add(id);
          req.socket.destroy();
          return;
        }
        res.end(JSON.stringify(r));
      }),
    );
    // Reads the body as it comes; x-delay-after delays the answer after it.
    ups.reader = await httpUpstream((req, res) =>
      readBody(req, 0, (r) => {
        note('reader', req, r);
        const delay = Number(req.headers['x-delay-after'] ?? 0);
        setTimeout(() => res.end(JSON.stringify(r)), delay);
      }),
    );
    // Never answers (x-partial: sends the head and some body, then stalls).
    ups.stall = await httpUpstream((req, res) => {
      stallHits++;
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      req.resume();
      if (req.headers['x-partial'] !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
      }
    });
    proxy = await startProxy('body-and-timeouts', {
      ADMIN_PORT: 0,
      PORT: 0,
      DEAD_PORT: await closedPort(),
      LIVE_PORT: ups.live.port,
      FLAKY_PORT: ups.flaky.port,
      READER_PORT: ups.reader.port,
      STALL_PORT: ups.stall.port,
    });
    port = proxy.listenerPort('http');
  });

  after(async () => {
    await proxy?.stop();
    await Promise.all(Object.values(ups).map((u) => u.close()));
  });

  test('a body over the retry buffer, retried after a connect failure, reaches the live endpoint whole', async () => {
    // Round robin over (dead, live) starts anywhere; after this request the next pick is the dead one.
    assert.equal((await upload(port, '/retry-body', Buffer.from('warm-up'), { chunked: false, id: 'warm-up' })).status, 200);
    const before = await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'deadlive', outcome: 'attempted' });
    const sizes = [(1 << 20) + 1, 3 << 20, 8 << 20, 64 << 10];
    let n = 0;
    for (const size of sizes) {
      for (const chunked of [true, false]) {
        const id = `retry-${size}-${chunked ? 'chunked' : 'length'}`;
        const body = bodyOf(size, n++);
        const res = await upload(port, '/retry-body', body, { chunked, id });
        assert.equal(res.status, 200, `${id}: ${res.status} ${res.body}`);
        const got = received.get(id) ?? [];
        // Every receipt upstream is the whole body: none truncated, none altered.
        assert.ok(got.length >= 1, `${id}: the upstream never received it`);
        for (const g of got) assert.deepEqual(g.r, { bytes: size, sha: sha(body) }, `${id}: the upstream received a different body`);
      }
    }
    // Each request went to the dead endpoint first (round robin over dead, live): all were retried.
    const retried = (await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'deadlive', outcome: 'attempted' })) - before;
    assert.equal(retried, sizes.length * 2);
  });

  test('a body that outgrew the retry buffer on a failed attempt is not retried, and the client is told', async () => {
    const before = await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'flaky', outcome: 'not_replayable' });
    const big = bodyOf(2 << 20, 1);
    const res = await upload(port, '/reset-body', big, { chunked: true, id: 'reset-big' });
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers['x-ferry-response-flags'], 'UC');
    assert.match(res.body, /not retried: the request body outgrew the retry buffer/);
    const got = received.get('reset-big') ?? [];
    assert.equal(got.length, 1, 'sent upstream exactly once');
    assert.deepEqual(got[0].r, { bytes: big.length, sha: sha(big) });
    const after = await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'flaky', outcome: 'not_replayable' });
    assert.equal(after - before, 1);

    // Within the buffer, the same failure is retried and the body replayed whole.
    const small = bodyOf(100 << 10, 2);
    const ok = await upload(port, '/reset-body', small, { chunked: false, id: 'reset-small' });
    assert.equal(ok.status, 200, ok.body);
    const both = received.get('reset-small') ?? [];
    assert.equal(both.length, 2);
    for (const g of both) assert.deepEqual(g.r, { bytes: small.length, sha: sha(small) });
  });

  test('the route timeout starts when the request is complete: a slow upload outlasts it', async () => {
    // 4 MiB, 64 KiB every 25 ms: about 1.6 s of upload against a 1 s route timeout.
    const body = bodyOf(4 << 20, 3);
    const res = await upload(port, '/slow-upload', body, { chunked: false, id: 'slow-upload', paceMs: 25 });
    assert.equal(res.status, 200, `${res.status} ${res.headers['x-ferry-response-flags'] ?? ''} ${res.body}`);
    assert.deepEqual(JSON.parse(res.body), { bytes: body.length, sha: sha(body) });
    assert.ok(res.ms > 1_500, `the upload took ${res.ms.toFixed(0)} ms: too fast to show the route timeout waits`);

    // ...and once it is complete, the 1 s route timeout still applies.
    const late = await upload(port, '/slow-upload', bodyOf(64 << 10, 4), { chunked: false, id: 'slow-late', headers: { 'x-delay-after': '2500' } });
    assert.equal(late.status, 504);
    assert.equal(late.headers['x-ferry-response-flags'], 'UT');
    assert.ok(late.ms < 2_400, `answered after ${late.ms.toFixed(0)} ms`);
  });

  test("the route's idle_timeout ends a stalled stream with 504 SI", async () => {
    const res = await timed(port, '/stall-route-idle');
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-ferry-response-flags'], 'SI');
    assert.ok(res.ms >= 450 && res.ms < 950, `answered after ${res.ms.toFixed(0)} ms (idle_timeout 0.5 s)`);
  });

  test("the connection manager's stream_idle_timeout applies where the route sets none", async () => {
    const before = await metric(proxy, 'ferry_downstream_rq_idle_timeout_total', { stat_prefix: 'body' });
    const res = await timed(port, '/stall');
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-ferry-response-flags'], 'SI');
    assert.ok(res.ms >= 950 && res.ms < 1_700, `answered after ${res.ms.toFixed(0)} ms (stream_idle_timeout 1 s)`);
    assert.equal((await metric(proxy, 'ferry_downstream_rq_idle_timeout_total', { stat_prefix: 'body' })) - before, 1);
  });

  test('idle_timeout 0 on a route turns the stream idle timeout off (the route timeout answers)', async () => {
    const res = await timed(port, '/stall-idle-off');
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-ferry-response-flags'], 'UT');
    assert.ok(res.ms >= 1_450, `answered after ${res.ms.toFixed(0)} ms (route timeout 1.5 s, idle off)`);
  });

  test('per_try_idle_timeout ends each stalled attempt and the retry is tried', async () => {
    const hits = stallHits;
    const res = await timed(port, '/stall-per-try-idle');
    assert.equal(res.status, 504);
    assert.match(String(res.headers['x-ferry-response-flags']), /^UT(,URX)?$/);
    assert.equal(stallHits - hits, 2, 'the first attempt and one retry');
    assert.ok(res.ms >= 550 && res.ms < 1_600, `answered after ${res.ms.toFixed(0)} ms (2 × 0.3 s + back-off)`);
    assert.equal(await metric(proxy, 'ferry_upstream_rq_timeout_total', { destination_cluster: 'stall', kind: 'per_try_idle' }), 2);
  });

  test('a request whose body stalls gets 408 SI and its connection is closed', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const started = performance.now();
    let text = '';
    sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write('POST /stall HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789');
    const limit = setTimeout(() => sock.destroy(), 5_000);
    await closed;
    clearTimeout(limit);
    const ms = performance.now() - started;
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /x-ferry-response-flags: SI/i);
    assert.ok(ms >= 950 && ms < 2_500, `closed after ${ms.toFixed(0)} ms`);
  });

  test('a stream idle after its response started is reset', async () => {
    const started = performance.now();
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/stall', headers: { 'x-partial': '1' }, agent: false }, (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', () => undefined);
        res.on('end', () => resolve('end'));
        res.on('error', () => resolve('reset'));
        res.on('aborted', () => resolve('reset'));
      });
      req.on('error', () => resolve('reset'));
      setTimeout(() => resolve('still open'), 5_000);
    });
    const ms = performance.now() - started;
    assert.equal(outcome, 'reset');
    assert.ok(ms >= 950 && ms < 2_500, `reset after ${ms.toFixed(0)} ms`);
    await sleep(50);
    assert.equal(stalled.size, 0, 'the stalled upstream request was abandoned');
  });
});
