// One attempt of a request to one upstream endpoint, over HTTP/1.1 or HTTP/2, with classified failures.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { UpstreamHost } from '../cluster/upstream-cluster';

export type UpstreamFailure = 'connect_failure' | 'connect_timeout' | 'reset' | 'refused_stream' | 'protocol_error';

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
}

export interface UpstreamAttempt {
  write(chunk: Buffer): void;
  /** Stop reading the response (downstream back-pressure) and start again. */
  pause(): void;
  resume(): void;
  end(): void;
  abort(): void;
  /** True once the attempt completed or failed. */
  readonly finished: boolean;
}

const H2_FORBIDDEN = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

class Http1Attempt implements UpstreamAttempt {
  private readonly req: http.ClientRequest;
  private res: http.IncomingMessage | null = null;
  private connected = false;
  private done = false;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(host: UpstreamHost, r: AttemptRequest, private readonly h: AttemptHandler) {
    const headers: Record<string, string | string[]> = r.headers;
    headers.host = r.authority;
    const req = http.request({
      agent: host.http1().agent,
      host: host.address.host,
      port: host.address.port,
      method: r.method,
      path: r.path,
      headers,
      setHost: false,
    });
    this.req = req;
    req.on('socket', (sock) => {
      if ((sock as { connecting?: boolean }).connecting) {
        this.connectTimer = setTimeout(() => {
          if (!this.connected && !this.done) {
            this.fail('connect_timeout', new Error(`connect timeout after ${r.connectTimeoutMs} ms`));
            req.destroy();
          }
        }, r.connectTimeoutMs);
        sock.once('connect', () => this.onConnected());
        sock.once('secureConnect', () => this.onConnected());
      } else {
        this.connected = true;
      }
    });
    req.on('response', (res) => {
      if (this.done) return;
      this.res = res;
      const status = res.statusCode ?? 502;
      this.h.onResponse(status, res.headers);
      res.on('data', (c: Buffer) => {
        if (!this.done) this.h.onData(c);
      });
      res.on('end', () => {
        if (this.done) return;
        this.done = true;
        const t = res.trailers;
        let hasTrailers = false;
        for (const _k in t) {
          hasTrailers = true;
          break;
        }
        this.h.onEnd(hasTrailers ? t : null);
      });
      res.on('error', (err) => this.fail('reset', err));
      res.on('aborted', () => this.fail('reset', new Error('upstream connection reset while sending the response')));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (this.done) return;
      if (!this.connected) this.fail('connect_failure', err);
      else if (err.code && err.code.startsWith('HPE_')) this.fail('protocol_error', err);
      else this.fail('reset', err);
    });
  }

  get finished(): boolean {
    return this.done;
  }

  private onConnected(): void {
    this.connected = true;
    if (this.connectTimer) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  private fail(kind: UpstreamFailure, err: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.h.onError(kind, err);
  }

  write(chunk: Buffer): void {
    if (!this.done) this.req.write(chunk);
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  end(): void {
    if (!this.done) this.req.end();
  }

  abort(): void {
    this.done = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.req.destroy();
  }
}

class Http2Attempt implements UpstreamAttempt {
  private readonly stream: http2.ClientHttp2Stream;
  private done = false;
  private gotResponse = false;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(host: UpstreamHost, r: AttemptRequest, private readonly h: AttemptHandler) {
    const session = host.http2().get();
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
    let connected = !session.connecting;
    if (!connected) {
      const onConnect = (): void => {
        connected = true;
        if (this.connectTimer) clearTimeout(this.connectTimer);
      };
      session.once('connect', onConnect);
      this.connectTimer = setTimeout(() => {
        if (!connected && !this.done) {
          this.fail('connect_timeout', new Error(`connect timeout after ${r.connectTimeoutMs} ms`));
          session.destroy();
        }
      }, r.connectTimeoutMs);
    }
    const stream = session.request(headers, { endStream: false });
    this.stream = stream;
    stream.on('response', (hdrs) => {
      if (this.done) return;
      const status = Number(hdrs[':status'] ?? 502);
      if (status >= 100 && status < 200) return;
      this.gotResponse = true;
      const out: http.IncomingHttpHeaders = {};
      for (const k in hdrs) if (k.charCodeAt(0) !== 58 /* ':' */) out[k] = hdrs[k] as string;
      this.h.onResponse(status, out);
    });
    let trailers: Record<string, string | string[] | undefined> | null = null;
    stream.on('trailers', (t) => {
      trailers = {};
      for (const k in t) if (k.charCodeAt(0) !== 58) trailers[k] = t[k] as string;
    });
    stream.on('data', (c: Buffer) => {
      if (!this.done) this.h.onData(c);
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
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.h.onError(kind, err);
  }

  write(chunk: Buffer): void {
    if (!this.done) this.stream.write(chunk);
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
    if (this.connectTimer) clearTimeout(this.connectTimer);
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** Starts an attempt over the cluster's upstream protocol. */
export function startAttempt(host: UpstreamHost, http2Upstream: boolean, r: AttemptRequest, h: AttemptHandler): UpstreamAttempt {
  return http2Upstream ? new Http2Attempt(host, r, h) : new Http1Attempt(host, r, h);
}
