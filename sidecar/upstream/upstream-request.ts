// One attempt of a request to one upstream endpoint, over HTTP/1.1 or HTTP/2, with classified failures.

import type * as http from 'node:http';
import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import * as http2 from 'node:http2';
import type { Http1Connection, Http1ConnectionUser } from './http1-client';
import type { Http1Pool, Http1Waiter } from './http1-pool';
import type { Http2Pool } from './http2-pool';

export type UpstreamFailure = 'connect_failure' | 'connect_timeout' | 'reset' | 'refused_stream' | 'protocol_error';

/** The endpoint an attempt goes to, as the upstream leg sees it: its two pools (the cluster's host provides them). */
export interface AttemptTarget {
  http1(): Http1Pool;
  http2(): Http2StreamSource;
}

/** Where an HTTP/2 attempt opens its stream: the endpoint's Http2Pool. */
export type Http2StreamSource = Pick<Http2Pool, 'request'>;

export interface AttemptHandler {
  onResponse(status: number, headers: http.IncomingHttpHeaders): void;
  onData(chunk: Buffer): void;
  onEnd(trailers: Record<string, string | string[] | undefined> | null): void;
  onError(kind: UpstreamFailure, err: Error): void;
}

export interface AttemptRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  /** Lower-case header record without hop-by-hop or pseudo headers. */
  readonly headers: Record<string, string | string[]>;
  readonly connectTimeoutMs: number;
  /** The connect timer's clock (default systemClock). */
  readonly clock?: Clock;
}

export interface UpstreamAttempt {
  write(chunk: Buffer): void;
  /** True when the upstream is not taking the request body as fast as it comes (back-pressure). */
  backedUp(): boolean;
  /** Calls `cb` once the upstream has taken what was written. */
  onceDrain(cb: () => void): void;
  /** Stop reading the response (downstream back-pressure) and start again. */
  pause(): void;
  resume(): void;
  end(): void;
  abort(): void;
  /** True once the attempt completed or failed. */
  readonly finished: boolean;
}

const H2_FORBIDDEN = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

// Methods whose requests carry no body unless the client sends one (Node's client's rule too).
const NO_DEFAULT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const INVALID_PATH = /[^\u0021-\u00ff]/;
const INVALID_VALUE = /[\r\n\0]/;

/**
 * One request over a pooled HTTP/1.1 connection. The head is written with the first body bytes (or
 * at the end of a bodiless request), so a small request leaves in one system call.
 */
class Http1Attempt implements UpstreamAttempt, Http1ConnectionUser, Http1Waiter {
  private conn: Http1Connection | null = null;
  private done = false;
  private headSent = false;
  private chunked = false;
  private readonly hasLength: boolean;
  private queued: Buffer[] | null = null;
  private ended = false;
  private head: string;

  constructor(
    private readonly pool: Http1Pool,
    private readonly r: AttemptRequest,
    private readonly h: AttemptHandler,
  ) {
    let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${r.authority}\r\n`;
    let bad = INVALID_PATH.test(r.path) || INVALID_VALUE.test(r.authority);
    const headers = r.headers;
    let hasLength = false;
    for (const k in headers) {
      const v = headers[k];
      if (typeof v === 'string') {
        if (INVALID_VALUE.test(v)) bad = true;
        head += `${k}: ${v}\r\n`;
      } else {
        for (const x of v) {
          if (INVALID_VALUE.test(x)) bad = true;
          head += `${k}: ${x}\r\n`;
        }
      }
      if (k === 'content-length') hasLength = true;
    }
    this.head = head;
    this.hasLength = hasLength;
    if (bad) {
      this.done = true;
      process.nextTick(() => h.onError('protocol_error', new Error('invalid character in the upstream request path or headers')));
      return;
    }
    const c = pool.acquire();
    if (c !== null) this.bind(c);
    else pool.wait(this);
  }

  get finished(): boolean {
    return this.done;
  }

  onConnection(c: Http1Connection): void {
    if (this.done) {
      this.pool.release(c);
      return;
    }
    this.bind(c);
  }

  private bind(c: Http1Connection): void {
    this.conn = c;
    c.begin(this, this.r.method === 'HEAD');
    const q = this.queued;
    if (q !== null) {
      this.queued = null;
      this.queuedBytes = 0;
      for (const b of q) this.write(b);
    }
    if (this.ended) this.end();
    const waiters = this.drainWaiters;
    if (waiters !== null) {
      this.drainWaiters = null;
      for (const cb of waiters) this.onceDrain(cb);
    }
  }

  private queuedBytes = 0;
  private drainWaiters: (() => void)[] | null = null;

  backedUp(): boolean {
    const c = this.conn;
    return c === null ? this.queuedBytes > 256 * 1024 : c.socket.writableNeedDrain;
  }

  onceDrain(cb: () => void): void {
    const c = this.conn;
    if (c === null) (this.drainWaiters ??= []).push(cb);
    else if (c.socket.writableNeedDrain) c.socket.once('drain', cb);
    else process.nextTick(cb);
  }

  // ─── body from the router ───

  write(chunk: Buffer): void {
    if (this.done || chunk.length === 0) return;
    const c = this.conn;
    if (c === null) {
      (this.queued ??= []).push(chunk);
      this.queuedBytes += chunk.length;
      return;
    }
    if (!this.headSent) {
      this.headSent = true;
      if (!this.hasLength) this.chunked = true;
      c.write(this.chunked ? `${this.head}transfer-encoding: chunked\r\n\r\n` : `${this.head}\r\n`);
    }
    if (this.chunked) {
      c.write(`${chunk.length.toString(16)}\r\n`);
      c.write(chunk);
      c.write('\r\n');
    } else c.write(chunk);
  }

  end(): void {
    if (this.done) return;
    this.ended = true;
    const c = this.conn;
    if (c === null) return;
    if (!this.headSent) {
      this.headSent = true;
      const empty = !this.hasLength && !NO_DEFAULT_BODY.has(this.r.method);
      c.write(empty ? `${this.head}content-length: 0\r\n\r\n` : `${this.head}\r\n`);
    } else if (this.chunked) c.write('0\r\n\r\n');
    c.requestEnded = true;
  }

  pause(): void {
    if (!this.done) this.conn?.socket.pause();
  }

  resume(): void {
    if (!this.done) this.conn?.socket.resume();
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    const c = this.conn;
    this.conn = null;
    if (c !== null) c.abandon();
    else this.pool.cancelWait(this);
  }

  // ─── Http1ConnectionUser ───

  onResponseHead(status: number, headers: Record<string, string | string[]>): void {
    if (!this.done) this.h.onResponse(status, headers);
  }

  onResponseBody(chunk: Buffer): void {
    if (!this.done) this.h.onData(chunk);
  }

  onResponseEnd(trailers: Record<string, string | string[]> | null): void {
    if (this.done) return;
    this.done = true;
    this.conn = null;
    this.h.onEnd(trailers);
  }

  onConnectionError(kind: UpstreamFailure, err: Error): void {
    if (this.done) return;
    this.done = true;
    this.conn = null;
    this.h.onError(kind, err);
  }
}

class Http2Attempt implements UpstreamAttempt {
  private readonly stream: http2.ClientHttp2Stream;
  private done = false;
  private gotResponse = false;
  /**
   * Body bytes that came before the response head was handed on. node:http2 emits 'response' a turn
   * after the HEADERS frame (process.nextTick) but pushes DATA frames parsed in the same read at once,
   * so when a session's input is parsed while JS is on the stack (always over a JS transport; over the
   * sidecars' mTLS sessions now and then under load, about 1 response in 100 at 500 req/s) the body's
   * first bytes come first. Passed on as they came would write the downstream
   * body before its head (an implicit 200 with the wrong headers), and the real head then finds the
   * request answered. Bounded by one read.
   */
  private early: Buffer[] | null = null;
  private connectTimer: Timer | null = null;
  private readonly clock: Clock;

  constructor(host: AttemptTarget, r: AttemptRequest, private readonly h: AttemptHandler) {
    this.clock = r.clock ?? systemClock;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': r.method,
      ':path': r.path,
      ':authority': r.authority,
      ':scheme': r.scheme,
    };
    for (const k in r.headers) {
      if (H2_FORBIDDEN.has(k)) continue;
      if (k === 'te') {
        if (r.headers[k] === 'trailers') headers.te = 'trailers';
        continue;
      }
      headers[k] = r.headers[k];
    }
    const stream = host.http2().request(headers, { endStream: false });
    this.stream = stream;
    const session = stream.session!;
    let connected = !session.connecting;
    const clock = this.clock;
    if (!connected) {
      const onConnect = (): void => {
        connected = true;
        if (this.connectTimer) clock.clearTimeout(this.connectTimer);
      };
      session.once('connect', onConnect);
      this.connectTimer = clock.setTimeout(() => {
        if (!connected && !this.done) {
          this.fail('connect_timeout', new Error(`connect timeout after ${r.connectTimeoutMs} ms`));
          session.destroy();
        }
      }, r.connectTimeoutMs);
    }
    stream.on('response', (hdrs) => {
      if (this.done) return;
      const status = Number(hdrs[':status'] ?? 502);
      if (status >= 100 && status < 200) return;
      this.gotResponse = true;
      const out: http.IncomingHttpHeaders = {};
      for (const k in hdrs) if (k.charCodeAt(0) !== 58 /* ':' */) out[k] = hdrs[k] as string;
      this.h.onResponse(status, out);
      const early = this.early;
      if (early !== null) {
        this.early = null;
        // The handler may have given the attempt up on the head (a retry): then the rest is dropped.
        for (const c of early) if (!this.done) this.h.onData(c);
      }
    });
    let trailers: Record<string, string | string[] | undefined> | null = null;
    stream.on('trailers', (t) => {
      trailers = {};
      for (const k in t) if (k.charCodeAt(0) !== 58) trailers[k] = t[k] as string;
    });
    stream.on('data', (c: Buffer) => {
      if (this.done) return;
      if (this.gotResponse) this.h.onData(c);
      else (this.early ??= []).push(c);
    });
    stream.on('end', () => {
      if (this.done || !this.gotResponse) return;
      this.done = true;
      this.h.onEnd(trailers);
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.done) return;
      if (!connected) this.fail('connect_failure', err);
      else if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) this.fail('refused_stream', err);
      else if (err.code === 'ERR_HTTP2_STREAM_ERROR' && stream.rstCode === http2.constants.NGHTTP2_PROTOCOL_ERROR)
        this.fail('protocol_error', err);
      else this.fail('reset', err);
    });
    stream.on('close', () => {
      if (this.done) return;
      if (!connected) this.fail('connect_failure', new Error('upstream connection failed'));
      else if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM)
        this.fail('refused_stream', new Error('upstream refused the stream'));
      else this.fail('reset', new Error(`upstream stream closed (code ${stream.rstCode})`));
    });
  }

  get finished(): boolean {
    return this.done;
  }

  private fail(kind: UpstreamFailure, err: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.connectTimer) this.clock.clearTimeout(this.connectTimer);
    this.h.onError(kind, err);
  }

  write(chunk: Buffer): void {
    if (!this.done) this.stream.write(chunk);
  }

  backedUp(): boolean {
    return !this.done && this.stream.writableNeedDrain;
  }

  onceDrain(cb: () => void): void {
    if (this.stream.writableNeedDrain) this.stream.once('drain', cb);
    else process.nextTick(cb);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  end(): void {
    if (!this.done) this.stream.end();
  }

  abort(): void {
    this.done = true;
    if (this.connectTimer) this.clock.clearTimeout(this.connectTimer);
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** Starts an attempt over the cluster's upstream protocol. */
export function startAttempt(host: AttemptTarget, http2Upstream: boolean, r: AttemptRequest, h: AttemptHandler): UpstreamAttempt {
  return http2Upstream ? new Http2Attempt(host, r, h) : new Http1Attempt(host.http1(), r, h);
}
