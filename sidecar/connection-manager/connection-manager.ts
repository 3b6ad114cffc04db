// The HTTP connection manager: takes downstream connections from the listener (plaintext, or TLS
// already terminated there) and serves them with Node's HTTP/1.1 and HTTP/2 codecs; each request
// goes through the request path (request-handler.ts), upgrades and CONNECT through
// upgrade-handler.ts, parser errors through client-errors.ts; drain.ts drains.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type { HttpConnectionManagerConfig } from '../../src/config/types';
import { systemClock, type Clock } from '../../src/clock/clock';
import { checkRequestHead } from './request-head';
import { H2AbuseGuard } from './h2-abuse-guard';
import { Http1Response, Http2Response, type H1Server, type H2Server } from './stream-state';
import { afterQueuedResponses } from './queued-responses';
import { ConnectionTable, DownstreamConnection, type ConnectionInfo } from './downstream-connection';
import type { ConnectionManagerDeps } from './connection-manager-deps';
import { RequestHandler } from './request-handler';
import { UpgradeHandler } from './upgrade-handler';
import { ClientErrorHandler } from './client-errors';
import { Drainer } from './drain';

export type { ConnectionInfo } from './downstream-connection';
export type { ConnectionManagerDeps } from './connection-manager-deps';

const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

export class HttpConnectionManager {
  private readonly h1: H1Server;
  private readonly h2: H2Server;
  private readonly clock: Clock;
  private readonly connections = new ConnectionTable();
  private readonly sockets = new Set<net.Socket>();
  private readonly requests: RequestHandler;
  private readonly upgrades: UpgradeHandler;
  private readonly clientErrors: ClientErrorHandler;
  private readonly drainer: Drainer;
  private readonly h2Guard: H2AbuseGuard;
  /** The connection being handed to the HTTP/2 server: its session is created while it is handed over. */
  private handingOver: DownstreamConnection | null = null;

  constructor(
    readonly config: HttpConnectionManagerConfig,
    deps: ConnectionManagerDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    this.clock = clock;
    let headersTimeout = config.requestHeadersTimeoutMs > 0 ? config.requestHeadersTimeoutMs : DEFAULT_HEADERS_TIMEOUT_MS;
    // The head is part of the request: request_timeout bounds it too (Node refuses a larger headers timeout).
    if (config.requestTimeoutMs > 0) headersTimeout = Math.min(headersTimeout, config.requestTimeoutMs);
    this.h1 = http.createServer({
      ServerResponse: Http1Response,
      maxHeaderSize: config.maxRequestHeadersKb * 1024,
      headersTimeout,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.idleTimeoutMs > 0 ? config.idleTimeoutMs : 3_600_000,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      noDelay: true,
      requireHostHeader: false,
    });
    this.h2Guard = new H2AbuseGuard({ metrics: deps.metrics, logger: deps.logger, clock: this.clock, listenerName: deps.listenerName });
    this.drainer = new Drainer(config, clock, this.h1);
    this.requests = new RequestHandler(config, deps, clock, this.connections, this.h2Guard, () => this.drainer.isDraining);
    this.upgrades = new UpgradeHandler(this.requests, this.h1);
    this.clientErrors = new ClientErrorHandler(deps.metrics, deps.listenerName, this.connections);

    const h1 = this.h1;
    h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.requests.onRequest(req, res, 'HTTP/1.1'));
    h1.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Envoy's default: the proxy answers 100-continue itself and does not forward Expect
      // (not for a head it is about to refuse).
      if (checkRequestHead(req, false, this.requests.headLimits).kind === 'accept') res.writeContinue();
      delete req.headers.expect;
      this.requests.onRequest(req, res, 'HTTP/1.1');
    });
    // No truncation by the codec: every field line reaches the head check (maxHeaderSize bounds them).
    h1.maxHeadersCount = 0;
    // An Expect other than 100-continue: served like any request, as Envoy does (node:http would
    // answer 417 itself, bypassing routes, response flags and metrics).
    h1.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => this.requests.onRequest(req, res, 'HTTP/1.1'));
    // After the responses to requests pipelined before it, which the answer or tunnel would overtake.
    h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      afterQueuedResponses(socket, () => this.upgrades.onUpgrade(req, socket, head)),
    );
    h1.on('connect', (req: http.IncomingMessage, socket: net.Socket) => this.upgrades.onConnect(req, socket));
    h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => this.clientErrors.onClientError(err, socket));
    h1.on('timeout', (s: net.Socket) => s.destroy());
    // The server never listen()s (the listener hands it sockets), so start Node's per-connection
    // header/request timeout tracking the way listen() would.
    h1.emit('listening');

    this.h2 = http2.createServer({
      Http2ServerResponse: Http2Response,
      maxSessionMemory: 64,
      maxHeaderListPairs: h2HeaderPairsBackstop(config),
      settings: { enablePush: false, maxHeaderListSize: config.maxRequestHeadersKb * 1024, maxConcurrentStreams: config.http2MaxConcurrentStreams },
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.requests.onRequest(req, res, 'HTTP/2'));
    this.h2.on('session', (s: http2.ServerHttp2Session) => this.onSession(s));
    this.h2.on('sessionError', () => undefined);
  }

  /**
   * Takes a connection from the listener, bytes not yet consumed: plaintext, or a TLS socket whose
   * handshake the listener finished (then ALPN chose the codec: h2 is HTTP/2, anything else HTTP/1.1).
   */
  handle(socket: net.Socket, info: ConnectionInfo): void {
    const conn = DownstreamConnection.of(info);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const codec = this.config.codecType;
    const h2 = info.secure ? info.protocolHint === 'h2' : codec === 'HTTP2' || (codec === 'AUTO' && info.protocolHint === 'h2');
    if (!h2) {
      this.connections.set(socket, conn);
      this.h1.emit('connection', socket);
      return;
    }
    // node:http2 shows requests only a stand-in for the socket: the connection is found by its session.
    this.handingOver = conn;
    try {
      this.h2.emit('connection', socket);
    } finally {
      this.handingOver = null;
    }
  }

  /** A new downstream HTTP/2 session: tied to its connection, guarded against abuse, tracked for drain and close. */
  private onSession(s: http2.ServerHttp2Session): void {
    if (this.handingOver !== null) this.connections.set(s, this.handingOver);
    s.on('error', () => s.destroy());
    this.h2Guard.attach(s, s.socket?.remoteAddress ?? '');
    this.drainer.track(s);
  }

  /** Stops taking new requests: HTTP/2 GOAWAY, HTTP/1 `connection: close` on the next response (drain.ts). */
  drain(): void {
    this.drainer.drain();
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  close(): void {
    this.h2Guard.close();
    this.drainer.close();
    for (const s of this.sockets) s.destroy();
    this.h1.closeAllConnections();
    this.h1.close();
  }
}

/**
 * Node's HTTP/2 codec resets a stream with more header fields than this (ENHANCE_YOUR_CALM) before
 * Ferry sees it, so uncounted. Set so that only a header list over max_request_headers_kb as HTTP/2
 * counts it (32 bytes per field, the SETTINGS_MAX_HEADER_LIST_SIZE Ferry advertises) meets it;
 * everything else reaches the head check, which resets the same way and counts.
 */
function h2HeaderPairsBackstop(c: HttpConnectionManagerConfig): number {
  return Math.max(128, c.maxRequestHeadersCount + 1, Math.ceil((c.maxRequestHeadersKb * 1024) / 32));
}
