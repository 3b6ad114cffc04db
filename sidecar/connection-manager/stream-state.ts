// One request's progress through the connection manager: its route, filters and router, the stream
// idle and request timers, and the downstream response it writes (the router's responder).

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { RouteConfig, VirtualHostConfig } from '../../src/config/types';
import type { Clock, Timer } from '../../src/clock/clock';
import type { HttpFilterContext } from '../filters/types';
import type { RouterStream, RouterResponder } from '../router/router';
import type { RequestBody, BodyObserver } from '../router/request-body';
import { Flags, RESPONSE_FLAGS_HEADER, grpcStatusForHttp } from '../http/local-reply';
import type { WorkloadLabels } from '../../src/observability/istio-labels';
import type { H2SessionGuard } from './h2-abuse-guard';
import type { DownstreamConnection } from './downstream-connection';

export type DownReq = http.IncomingMessage | http2.Http2ServerRequest;
export type DownRes = http.ServerResponse | http2.Http2ServerResponse;

/**
 * An upstream answer that does not fit the downstream response: a head for a request already answered,
 * or body bytes before any head. Each is a defect of the proxy (the router hands on one answer per
 * request, head first); the stream drops it, and the connection manager counts and logs it.
 */
export type ResponseConflict = 'second_head' | 'body_before_head';

/** What a stream needs from its connection manager. */
export interface StreamHost {
  readonly clock: Clock;
  countStreamIdleTimeout(): void;
  /** Counts and logs an answer the stream dropped (see ResponseConflict); `status` is the dropped head's, or 0. */
  responseConflict(s: StreamState, kind: ResponseConflict, status: number): void;
  applyResponseHeaders(s: StreamState, headers: Record<string, string | string[]>): void;
  recordStats(s: StreamState, status: number, flag: string, grpcStatus: string): void;
  finishFilters(s: StreamState): void;
}

/**
 * The connection manager's responses know the stream they answer: the servers are made with these
 * classes, so no response is stamped or looked up in a side table (a WeakMap entry per request made
 * the collector's work several times larger under load).
 */
export class Http1Response extends http.ServerResponse {
  ferryStream: StreamState | null = null;
}
export class Http2Response extends http2.Http2ServerResponse {
  ferryStream: StreamState | null = null;
}

/** The connection manager's servers, made with those response classes. */
export type H1Server = http.Server<typeof http.IncomingMessage, typeof Http1Response>;
export type H2Server = http2.Http2Server<typeof http.IncomingMessage, typeof http.ServerResponse, typeof http2.Http2ServerRequest, typeof Http2Response>;

function streamOf(res: DownRes): StreamState | undefined {
  return res instanceof Http1Response || res instanceof Http2Response ? (res.ferryStream ?? undefined) : undefined;
}

/** The response's 'close' listener, shared by every request (the state is found from the response). */
function onResponseClose(this: DownRes): void {
  streamOf(this)?.onDownstreamClose();
}

/** One request's progress through the connection manager; the router's responder. */
export class StreamState implements RouterResponder, BodyObserver {
  route: RouteConfig | null = null;
  vhost: VirtualHostConfig | null = null;
  filterCtx: HttpFilterContext | null = null;
  router: RouterStream | null = null;
  body: RequestBody | null = null;
  /** The stream idle timeout in force (ms, 0 = none), its timer, and the last activity (clock.now()). */
  private idleMs = 0;
  private idleTimer: Timer | null = null;
  private activityAt = 0;
  /** request_timeout for an HTTP/2 stream: the whole request must arrive within it. */
  private requestTimer: Timer | null = null;
  clusterName = '';
  delayed = false;
  delayTimer: Timer | null = null;
  done = false;
  /** HTTP/2: the connection's abuse guard (null for HTTP/1.1). */
  guard: H2SessionGuard | null = null;
  /** The request waited a turn before it was routed (see forward()). */
  deferred = false;
  /** The proxy ended the response (complete from its side). */
  private responseEnded = false;
  /** The proxy reset the stream or destroyed the response itself (not the client's reset). */
  private resetByProxy = false;
  /** An upstream answer did not fit the response (see answerConflict): the rest of it is dropped. */
  private dropUpstream = false;
  /** The flag the stream ends with when such an answer made it reset the stream. */
  private conflictFlag = '';
  private downstreamClosed = false;
  private status = 0;
  private grpcStatus = '';
  private pendingTrailers: Record<string, string> | null = null;
  /** The other end's workload from the metadata exchange (inbound: the caller; outbound: the callee). */
  peer: WorkloadLabels | null = null;
  peerKey = '';
  /** An inbound request from a mesh sidecar's active health checker: counted apart from the workload's traffic. */
  healthCheck = false;
  /** Outbound: the SPIFFE ID the chosen cluster expects of its upstream ('' when none). */
  upstreamPrincipal = '';
  /** Body bytes written downstream (the access log's %BYTES_SENT%). */
  bytesSent = 0;
  /** When the response headers were written (clock.now()), 0 before. */
  headersAt = 0;

  private readonly clock: Clock;

  constructor(
    private readonly hcm: StreamHost,
    readonly req: DownReq,
    readonly res: DownRes,
    readonly protocol: string,
    readonly isGrpc: boolean,
    /** When the request arrived (clock.now()). */
    readonly started: number,
    readonly info: DownstreamConnection,
  ) {
    this.clock = hcm.clock;
  }

  /** Ties the stream to its response: the response's close ends it (onDownstreamClose). */
  watchResponse(): void {
    const res = this.res;
    if (res instanceof Http1Response || res instanceof Http2Response) res.ferryStream = this;
    res.once('close', onResponseClose);
  }

  /** The stream a response belongs to (while it is watched). */
  static of(res: DownRes): StreamState | undefined {
    return streamOf(res);
  }

  /** The client's side of this request is gone (closed, reset) or the request was already answered. */
  downstreamGone(): boolean {
    if (this.done || this.downstreamClosed) return true;
    if (this.protocol !== 'HTTP/2') return false;
    const stream = (this.res as http2.Http2ServerResponse).stream;
    return stream === undefined || stream.destroyed || stream.closed;
  }

  authority(): string {
    const h = this.req.headers as Record<string, string | undefined>;
    return h[':authority'] ?? h.host ?? '';
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  armIdleTimer(ms: number): void {
    this.idleMs = ms;
    if (ms <= 0) return;
    this.activityAt = this.clock.now();
    this.idleTimer = this.clock.setTimeout(() => this.onIdleTimer(), ms);
  }

  /**
   * The stream made no progress in either direction for the idle timeout (checked lazily: activity
   * only records a time). Envoy's answer: 504 once the request is complete, 408 while it is not,
   * a reset once the response has started; flag SI.
   */
  onIdleTimer(): void {
    this.idleTimer = null;
    if (this.done) return;
    const left = this.activityAt + this.idleMs - this.clock.now();
    if (left > 1) {
      this.idleTimer = this.clock.setTimeout(() => this.onIdleTimer(), left);
      return;
    }
    this.hcm.countStreamIdleTimeout();
    const complete = this.body !== null ? this.body.complete : this.req.complete;
    const status = complete ? 504 : 408;
    if (this.router !== null) return this.router.abandon(status, 'stream timeout', Flags.streamIdleTimeout);
    this.clock.clearTimeout(this.delayTimer);
    this.localReply(status, 'stream timeout', Flags.streamIdleTimeout);
  }

  armRequestTimer(ms: number): void {
    this.requestTimer = this.clock.setTimeout(() => this.onRequestTimer(), ms);
  }

  /** The request did not arrive whole within request_timeout: 408 (a reset once the response started). */
  onRequestTimer(): void {
    this.requestTimer = null;
    if (this.done) return;
    const complete = this.body !== null ? this.body.complete : this.req.complete;
    if (complete) return;
    if (this.router !== null) return this.router.abandon(408, 'request timeout', Flags.downstreamProtocolError);
    this.clock.clearTimeout(this.delayTimer);
    this.localReply(408, 'request timeout', Flags.downstreamProtocolError);
  }

  onBodyProgress(): void {
    this.activityAt = this.clock.now();
    this.router?.onBodyProgress();
  }

  onBodyComplete(): void {
    this.router?.onBodyComplete();
  }

  /** The HTTP status the response went out with (0 before its head). */
  get responseStatus(): number {
    return this.status;
  }

  sendHeaders(status: number, headers: Record<string, string | string[]>): void {
    if (this.dropUpstream) return;
    if (this.res.headersSent) return this.answerConflict('second_head', status);
    this.activityAt = this.clock.now();
    this.status = status;
    this.hcm.applyResponseHeaders(this, headers);
    const g = headers['grpc-status'];
    if (g !== undefined) {
      this.grpcStatus = String(g);
      if (this.isGrpc && this.protocol === 'HTTP/2') {
        // A trailers-only gRPC answer from upstream: the status must reach the client as trailers,
        // since the response headers and the end of stream now travel in separate frames.
        const t: Record<string, string> = { 'grpc-status': String(g) };
        for (const k of ['grpc-message', 'grpc-status-details-bin']) {
          const v = headers[k];
          if (v !== undefined) t[k] = Array.isArray(v) ? v.join(',') : v;
          delete headers[k];
        }
        delete headers['grpc-status'];
        this.pendingTrailers = t;
      }
    }
    this.headersAt = this.clock.now();
    const res = this.res as http.ServerResponse;
    try {
      res.writeHead(status, headers);
    } catch {
      // A header the downstream codec refuses (e.g. invalid characters): a 502 UPE instead, complete, and
      // the rest of the upstream's answer dropped (its body does not belong under that status). The
      // codec may have taken some of the upstream's headers before it refused one: they go too.
      this.dropUpstream = true;
      for (const name of res.getHeaderNames()) if (name !== 'connection') res.removeHeader(name);
      this.localReply(502, 'upstream response headers the downstream codec refused', Flags.upstreamProtocolError);
    }
  }

  sendData(chunk: Buffer): boolean {
    // A response the proxy closed takes no more bytes: writing would raise an error on it.
    if (this.dropUpstream || this.res.destroyed) return true;
    // Written before a head, the bytes would go out under an implicit 200 with none of the upstream's headers.
    if (!this.res.headersSent) {
      this.answerConflict('body_before_head', 0);
      return true;
    }
    this.activityAt = this.clock.now();
    this.bytesSent += chunk.length;
    return (this.res as http.ServerResponse).write(chunk);
  }

  onDrain(cb: () => void): void {
    this.res.once('drain', cb);
  }

  sendEnd(trailers: Record<string, string | string[] | undefined> | null): void {
    if (this.dropUpstream || this.res.destroyed) return;
    if (!this.res.headersSent) return this.answerConflict('body_before_head', 0);
    if (trailers === null && this.pendingTrailers !== null) trailers = this.pendingTrailers;
    if (trailers !== null) {
      const t: Record<string, string> = {};
      for (const k in trailers) {
        const v = trailers[k];
        if (v !== undefined) t[k] = Array.isArray(v) ? v.join(',') : v;
      }
      if (t['grpc-status'] !== undefined) this.grpcStatus = t['grpc-status'];
      if (this.protocol === 'HTTP/2' || (this.res as http.ServerResponse).chunkedEncoding) {
        (this.res as http.ServerResponse).addTrailers(t);
      }
    }
    this.responseEnded = true;
    this.res.end();
  }

  localReply(
    status: number,
    body: string,
    flag: string,
    headers?: Readonly<Record<string, string>>,
    grpcStatus?: number,
    fromRoute = false,
  ): void {
    if (this.done && this.res.headersSent) return;
    const res = this.res as http.ServerResponse;
    if (res.headersSent) {
      this.reset(flag);
      return;
    }
    const h: Record<string, string | string[]> = {};
    if (headers) for (const k in headers) h[k] = headers[k];
    if (flag && !fromRoute) h[RESPONSE_FLAGS_HEADER] = flag;
    // The rest of an incomplete request body will not be read: the connection cannot be reused.
    if (status === 408 && this.protocol !== 'HTTP/2') h.connection = 'close';
    if (this.isGrpc && !fromRoute) {
      // gRPC clients read the status from grpc-status (trailers-only response).
      const gs = grpcStatus ?? grpcStatusForHttp(status);
      h['content-type'] = 'application/grpc';
      h['grpc-status'] = String(gs);
      if (body) h['grpc-message'] = encodeURIComponent(body);
      this.grpcStatus = String(gs);
      status = 200;
      body = '';
    } else if (body) {
      h['content-type'] = 'text/plain';
    }
    h['content-length'] = String(Buffer.byteLength(body));
    this.hcm.applyResponseHeaders(this, h);
    this.status = status;
    this.headersAt = this.clock.now();
    try {
      res.writeHead(status, h);
      this.responseEnded = true;
      this.bytesSent += Buffer.byteLength(body);
      res.end(body);
    } catch {
      this.resetByProxy = true;
      res.destroy();
    }
    this.finish(flag);
  }

  /**
   * An upstream answer that does not fit the response: counted and logged, the rest of it dropped.
   * The client still gets exactly one answer: a 502 UPE when nothing went out yet; the first answer
   * when it went out whole; a reset when it is only partly out and cannot be completed.
   */
  private answerConflict(kind: ResponseConflict, status: number): void {
    this.dropUpstream = true;
    this.hcm.responseConflict(this, kind, status);
    const res = this.res;
    if (res.destroyed) return;
    if (!res.headersSent) this.localReply(502, 'upstream response out of order', Flags.upstreamProtocolError);
    else if (!res.writableEnded) {
      this.conflictFlag = Flags.upstreamProtocolError;
      this.reset(Flags.upstreamProtocolError);
    }
  }

  reset(flag: string): void {
    const r = this.res as http2.Http2ServerResponse;
    this.resetByProxy = true;
    if (this.protocol === 'HTTP/2' && r.stream) r.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else (this.res as http.ServerResponse).destroy();
    if (!this.status) this.status = 0;
    void flag;
  }

  onRouterComplete(): void {
    this.finish(this.conflictFlag || (this.router?.flag ?? ''));
  }

  private finish(flag: string): void {
    if (this.done) return;
    this.done = true;
    this.clock.clearTimeout(this.requestTimer);
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.hcm.finishFilters(this);
    this.hcm.recordStats(this, this.status, flag, this.grpcStatus || (this.isGrpc ? '' : '-'));
  }

  onDownstreamClose(): void {
    this.downstreamClosed = true;
    this.clock.clearTimeout(this.delayTimer);
    this.clock.clearTimeout(this.requestTimer);
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    // HTTP/2's compatibility response reports itself finished on close even when the client reset
    // the stream, so for HTTP/2 "finished" is whether the proxy ended the response.
    const finished = this.protocol === 'HTTP/2' ? this.responseEnded : this.res.writableFinished;
    this.guard?.onStreamClosed(!finished && !this.resetByProxy);
    if (!finished) {
      if (this.router !== null) this.router.cancel();
      else if (!this.done) {
        this.status = 0;
        this.finish(Flags.downstreamConnectionTermination);
      }
    }
  }
}
