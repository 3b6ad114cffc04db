// Tests for the HTTP/2 abuse guard on real sessions: the early-reset budget closes with GOAWAY
// ENHANCE_YOUR_CALM, a session the HTTP/2 library shut down is found by the PING probe and destroyed,
// and an idle well-behaved client is left alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { H2AbuseGuard, type H2AbuseGuardDeps } from './h2-abuse-guard';
import { systemClock } from '../../src/clock/clock';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/** HEADERS (END_STREAM | END_HEADERS) for GET `/` with literal fields, then RST_STREAM CANCEL. */
function requestThenReset(id: number): Buffer {
  const lit = (n: string, v: string): Buffer => Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]);
  const block = Buffer.concat([Buffer.from([0x82, 0x86]), lit(':path', '/'), lit(':authority', 'x')]);
  const code = Buffer.alloc(4);
  code.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
  return Buffer.concat([frame(1, 0x5, id, block), frame(3, 0, id, code)]);
}

interface Harness {
  readonly port: number;
  readonly metrics: ProxyMetrics;
  readonly sessions: Set<http2.ServerHttp2Session>;
  close(): Promise<void>;
}

/** An HTTP/2 server whose requests are left unanswered, guarded; a request closed unanswered is an early reset. */
async function guardedServer(over: Partial<H2AbuseGuardDeps> = {}): Promise<Harness> {
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const guard = new H2AbuseGuard({ metrics, logger: new Logger('test', 'off'), clock: systemClock, listenerName: 'l', ...over });
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sessions.delete(s));
    guard.attach(s, 'test');
  });
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const g = guard.of(req.stream);
    res.once('close', () => g?.onStreamClosed(true));
  });
  const tcp = net.createServer((sock) => server.emit('connection', sock));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  return {
    port: (tcp.address() as AddressInfo).port,
    metrics,
    sessions,
    close: async () => {
      guard.close();
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** A raw client: sends the preface and `n` request+reset pairs; records GOAWAY codes and whether the server closed. */
async function rawResets(port: number, n: number): Promise<{ goaways: number[]; closed: Promise<void>; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const goaways: number[] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      if (buf[3] === 7) goaways.push(buf.readUInt32BE(13));
      buf = buf.subarray(9 + len);
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const frames: Buffer[] = [PREFACE, frame(4, 0, 0, Buffer.alloc(0)), frame(4, 1, 0, Buffer.alloc(0))];
  for (let i = 0; i < n; i++) frames.push(requestThenReset(1 + 2 * i));
  socket.write(Buffer.concat(frames));
  return { goaways, closed, socket };
}

const within = (p: Promise<void>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

test('past the early-reset budget the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed, once counted', async () => {
  const h = await guardedServer({ resetBudget: { burst: 50, refillPerSecond: 1 } });
  try {
    const c = await rawResets(h.port, 300);
    assert.ok(await within(c.closed, 2_000), 'the server closed the connection');
    assert.deepEqual(c.goaways, [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]);
    const m = h.metrics.downstreamAbuseClosed.labels('l', 'early_resets');
    assert.equal(m.value, 1);
  } finally {
    await h.close();
  }
});

test('a session the HTTP/2 library gave up on (its own reset limiter) is found by the probe and released', async () => {
  // A budget larger than the library's own (1,000 resets): the library's limiter acts first. Node
  // then stops reading the socket and never destroys the session, so without the probe the
  // connection stays open for good.
  const h = await guardedServer({ resetBudget: { burst: 100_000, refillPerSecond: 1 }, probeIntervalMs: 300 });
  try {
    const c = await rawResets(h.port, 1_200);
    for (let i = 0; i < 40 && c.goaways.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(c.goaways, [http2.constants.NGHTTP2_INTERNAL_ERROR], "the library's own GOAWAY");
    assert.equal(h.sessions.size, 1, 'the session is still there, unreadable');
    assert.ok(await within(c.closed, 3_000), 'the probe destroyed it within a few rounds');
    const m = h.metrics.downstreamAbuseClosed.labels('l', 'unresponsive');
    assert.equal(m.value, 1);
    assert.equal(h.sessions.size, 0);
  } finally {
    await h.close();
  }
});

test('an idle client that answers PING keeps its connection across many probe rounds', async () => {
  const h = await guardedServer({ probeIntervalMs: 50 });
  const client = http2.connect(`http://127.0.0.1:${h.port}`);
  client.on('error', () => undefined);
  try {
    await new Promise<void>((r) => client.once('connect', () => r()));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(client.closed || client.destroyed, false);
    assert.equal(h.sessions.size, 1);
    const m = h.metrics.downstreamAbuseClosed.labels('l', 'unresponsive');
    assert.equal(m.value, 0);
  } finally {
    client.destroy();
    await h.close();
  }
});
