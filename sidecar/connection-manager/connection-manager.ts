// The HTTP connection manager: decodes HTTP/1.1 and HTTP/2 from a downstream connection, routes
// each request, runs the HTTP filters, and hands the request to the router.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { DownstreamTlsConfig, HttpConnectionManagerConfig, RouteActionConfig, RouteConfig, VirtualHostConfig } from '../../src/config/types';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { WorkloadLabels } from '../../src/observability/istio-labels';
import type { Logger } from '../../src/observability/logger';
import type { ClusterManager } from '../cluster/cluster-manager';
import type { HttpFilter, HttpFilterContext, FilterDownstream, FilterRequest } from '../filters/types';
import { createHttpFilters } from '../filters/registry';
import { RouteTable } from '../router/route-table';
import { RouterStream, type RouterDeps, type RouterResponder } from '../router/router';
import { RequestBody, RETRY_BUFFER_LIMIT_BYTES, type BodyObserver } from '../router/request-body';
import { RequestStatsTable } from './request-stats';
import { Flags, RESPONSE_FLAGS_HEADER, grpcStatusForHttp } from '../http/local-reply';
import { headerValue, newRequestId, upstreamRequestHeaders } from '../http/headers';
import { requestHeaderEdits, responseHeaderEdits, rewriteRequest, redirectLocation, pickWeightedCluster, requestHash } from '../router/route-actions';
import { proxyUpgrade } from './upgrade';
import { checkRequestHead, type HeadLimits, type HeadRejected } from './request-head';
import { headWithoutH2cUpgrade, isH2cUpgrade } from './h2c-upgrade';
import { H2AbuseGuard, type H2SessionGuard } from './h2-abuse-guard';
import { afterQueuedResponses } from './queued-responses';
import { normalizeRequestPath, stripHostPort } from './request-normalize';
import { spiffeIdOf, verifyPeerSubjectAltNames } from '../tls/san-verify';
import { downstreamSecureOptions, usesIdentity, type WorkloadIdentity } from '../tls/workload-identity';

type DownReq = http.IncomingMessage | http2.Http2ServerRequest;
type DownRes = http.ServerResponse | http2.Http2ServerResponse;

/** What the listener knows about a connection when it hands it over. */

/** How long a draining connection manager leaves idle HTTP/1.1 connections open (see drain()). */
const DRAIN_IDLE_GRACE_MS = 1_000;
export interface ConnectionInfo {
  readonly downstream: FilterDownstream;
  readonly secure: boolean;
  /** 'h2' when TLS negotiated it, or when the listener saw the HTTP/2 preface. */
  readonly protocolHint: 'h2' | 'http/1.1' | null;
  /** Connection-level admission (network RBAC) once the peer is known after the TLS handshake. */
  readonly admit?: (downstream: FilterDownstream) => boolean;
}

export interface ConnectionManagerDeps {
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** 'source' for outbound listeners, 'destination' for inbound (Istio's reporter label). */
  readonly reporter: string;
  /** This proxy's workload and namespace (source_workload labels). */
  readonly source?: WorkloadLabels;
  readonly listenerName: string;
  /** The workload identity, for TLS that names it (SDS `default` / `ROOTCA`). */
  readonly identity?: WorkloadIdentity | null;
  /** Resolves an RDS route configuration by name (dynamic config); null when unknown. */
  readonly routeConfigByName?: (name: string) => RouteTable | null;
  /** The listener's per_connection_buffer_limit_bytes: how much of a request body is kept for a retry. */
  readonly bufferLimitBytes?: number;
}

const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
const UNKNOWN_WORKLOAD: WorkloadLabels = Object.freeze({ workload: 'unknown', namespace: 'unknown' });
const CONNECTION_INFO = Symbol('ferry.connectionInfo');
const STREAM_STATE = Symbol('ferry.streamState');

/** The stream idle timer's callback, shared by every request (the state rides along). */
function onStreamIdleTimer(s: StreamState): void {
  s.onIdleTimer();
}

/** A request routed one turn of the event loop late (a new connection, or one suspect of rapid reset). */
function onDeferredForward(hcm: HttpConnectionManager, state: StreamState, route: RouteConfig, action: RouteActionConfig): void {
  hcm.forward(state, route, action);
}

/** request_timeout of an HTTP/2 stream, shared by every request. */
function onRequestTimer(s: StreamState): void {
  s.onRequestTimer();
}

/** The response's 'close' listener, shared by every request (the state rides on the response). */
function onResponseClose(this: DownRes): void {
  (this as unknown as Record<symbol, StreamState>)[STREAM_STATE].onDownstreamClose();
}

export class HttpConnectionManager {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  /** TLS-terminating server for a chain with a transport socket: ALPN h2 or HTTP/1.1. */
  private readonly secure: http2.Http2SecureServer | null = null;
  private readonly filters: readonly HttpFilter[];
  private readonly staticRoutes: RouteTable | null;
  private readonly stats: RequestStatsTable;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.Http2Session>();
  private draining = false;
  private idleCloseTimer: NodeJS.Timeout | null = null;
  private readonly routerDeps: RouterDeps;
  private readonly h2Guard: H2AbuseGuard;
  private unsubscribeIdentity: (() => void) | null = null;
  private readonly headLimits: HeadLimits;
  /**
   * HTTP/1.1 connections that take no further request (a refused head, a parser error, bytes after
   * `Connection: close`): later parser errors on them are neither answered nor counted again.
   */
  private readonly noMoreRequests = new WeakSet<net.Socket>();
  /** normalize_path, merge_slashes or strip_*_host_port is set. */
  private readonly rewritesTarget: boolean;

  constructor(
    readonly config: HttpConnectionManagerConfig,
    private readonly deps: ConnectionManagerDeps,
    tlsConfig: DownstreamTlsConfig | null = null,
  ) {
    const router = config.httpFilters.find((f) => f.kind === 'router');
    this.routerDeps = {
      metrics: deps.metrics,
      now: deps.now,
      random: deps.random,
      suppressEnvoyHeaders: router !== undefined && router.kind === 'router' && router.suppressEnvoyHeaders,
    };
    this.rewritesTarget = config.normalizePath || config.mergeSlashes || config.stripPortMode !== 'none';
    this.staticRoutes = config.routeConfig ? new RouteTable(config.routeConfig) : null;
    this.filters = createHttpFilters(config.httpFilters, { now: deps.now, random: deps.random });
    this.stats = new RequestStatsTable(deps.metrics, deps.reporter, deps.source ?? UNKNOWN_WORKLOAD);
    let headersTimeout = config.requestHeadersTimeoutMs > 0 ? config.requestHeadersTimeoutMs : DEFAULT_HEADERS_TIMEOUT_MS;
    // The head is part of the request: request_timeout bounds it too (Node refuses a larger headers timeout).
    if (config.requestTimeoutMs > 0) headersTimeout = Math.min(headersTimeout, config.requestTimeoutMs);
    this.headLimits = { maxHeadersCount: config.maxRequestHeadersCount, maxHeadersBytes: config.maxRequestHeadersKb * 1024 };
    this.h1 = http.createServer({
      maxHeaderSize: config.maxRequestHeadersKb * 1024,
      headersTimeout,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.idleTimeoutMs > 0 ? config.idleTimeoutMs : 3_600_000,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      noDelay: true,
      requireHostHeader: false,
    });
    this.h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, 'HTTP/1.1'));
    this.h1.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // Envoy's default: the proxy answers 100-continue itself and does not forward Expect
      // (not for a head it is about to refuse).
      if (checkRequestHead(req, false, this.headLimits).kind === 'accept') res.writeContinue();
      delete req.headers.expect;
      this.onRequest(req, res, 'HTTP/1.1');
    });
    // No truncation by the codec: every field line reaches the head check (maxHeaderSize bounds them).
    this.h1.maxHeadersCount = 0;
    // An Expect other than 100-continue: served like any request, as Envoy does (node:http would
    // answer 417 itself, bypassing routes, response flags and metrics).
    this.h1.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, 'HTTP/1.1'));
    // After the responses to requests pipelined before it, which the answer or tunnel would overtake.
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      afterQueuedResponses(socket, () => this.onUpgrade(req, socket, head)),
    );
    this.h1.on('connect', (req: http.IncomingMessage, socket: net.Socket) => this.onConnect(req, socket));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(err, socket));
    this.h1.on('timeout', (s: net.Socket) => s.destroy());
    // The server never listen()s (the listener hands it sockets), so start Node's per-connection
    // header/request timeout tracking the way listen() would.
    this.h1.emit('listening');
    this.h2Guard = new H2AbuseGuard({ metrics: deps.metrics, logger: deps.logger, now: deps.now, listenerName: deps.listenerName });
    this.h2 = http2.createServer({
      maxSessionMemory: 64,
      maxHeaderListPairs: h2HeaderPairsBackstop(config),
      settings: { enablePush: false, maxHeaderListSize: config.maxRequestHeadersKb * 1024, maxConcurrentStreams: config.http2MaxConcurrentStreams },
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.onRequest(req, res, 'HTTP/2'));
    this.h2.on('session', (s: http2.ServerHttp2Session) => this.onSession(s));
    this.h2.on('sessionError', () => undefined);
    if (tlsConfig !== null) this.secure = this.secureServer(tlsConfig);
  }

  /**
   * Node's secure HTTP/2 server does the handshake, ALPN and session setup in the right order (and
   * takes HTTP/1.1 when that is what ALPN chose); Ferry checks the peer and labels the connection.
   */
  private secureServer(t: DownstreamTlsConfig): http2.Http2SecureServer {
    const alpn = t.alpnProtocols.length > 0 ? [...t.alpnProtocols] : ['h2', 'http/1.1'];
    const identity = this.deps.identity ?? null;
    let material: tls.SecureContextOptions = {};
    try {
      material = downstreamSecureOptions(t, identity);
    } catch {
      // No workload certificate yet: handshakes fail until the first one arrives.
    }
    const server = http2.createSecureServer({
      ...material,
      requestCert: t.requireClientCertificate || t.ca !== null || t.workloadTrustBundle,
      rejectUnauthorized: t.requireClientCertificate,
      ALPNProtocols: alpn,
      allowHTTP1: alpn.includes('http/1.1') || this.config.codecType === 'HTTP1',
      maxSessionMemory: 64,
      maxHeaderListPairs: h2HeaderPairsBackstop(this.config),
      settings: {
        enablePush: false,
        maxHeaderListSize: this.config.maxRequestHeadersKb * 1024,
        maxConcurrentStreams: this.config.http2MaxConcurrentStreams,
      },
    });
    server.on('secureConnection', (sock: tls.TLSSocket) => {
      const parent = (sock as unknown as { _parent?: Record<symbol, ConnectionInfo> })._parent;
      const base = parent?.[CONNECTION_INFO];
      const peer = sock.getPeerCertificate();
      const hasPeer = peer !== undefined && Object.keys(peer).length > 0;
      if (hasPeer && t.matchSubjectAltNames.length > 0 && verifyPeerSubjectAltNames(peer, t.matchSubjectAltNames)) {
        sock.destroy();
        return;
      }
      const downstream = { ...(base?.downstream ?? emptyDownstream), peerPrincipal: hasPeer ? spiffeIdOf(peer) : null };
      if (base?.admit && !base.admit(downstream)) {
        sock.destroy();
        return;
      }
      (sock as unknown as Record<symbol, ConnectionInfo>)[CONNECTION_INFO] = {
        downstream,
        secure: true,
        protocolHint: sock.alpnProtocol === 'h2' ? 'h2' : 'http/1.1',
      };
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
    server.on('request', (req: DownReq, res: DownRes) => this.onRequest(req, res, req.httpVersionMajor === 2 ? 'HTTP/2' : 'HTTP/1.1'));
    server.on('session', (s: http2.ServerHttp2Session) => this.onSession(s));
    server.on('sessionError', () => undefined);
    server.on('tlsClientError', () => undefined);
    // HTTP/1.1 after ALPN runs Node's HTTP/1.1 server code on this server: the same limits and answers.
    (server as unknown as { maxHeaderSize: number; maxHeadersCount: number }).maxHeaderSize = this.config.maxRequestHeadersKb * 1024;
    (server as unknown as { maxHeadersCount: number }).maxHeadersCount = 0;
    server.on('connect', (req: http.IncomingMessage, socket: net.Socket) => this.onConnect(req, socket));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(err, socket));
    if (identity !== null && usesIdentity(t)) {
      // Rotation: new handshakes use the new certificate; open connections keep theirs.
      this.unsubscribeIdentity = identity.onRotate(() => {
        try {
          server.setSecureContext(downstreamSecureOptions(t, identity));
        } catch {
          /* keep the previous context */
        }
      });
    }
    return server;
  }

  /** A new downstream HTTP/2 session: tracked for drain and close, and guarded against abuse. */
  private onSession(s: http2.ServerHttp2Session): void {
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    s.on('error', () => s.destroy());
    this.h2Guard.attach(s, s.socket?.remoteAddress ?? '');
    this.watchIdle(s);
    if (this.draining) s.close();
  }

  /** Takes a raw connection whose TLS this connection manager terminates (ClientHello may be unshifted). */
  handleTls(socket: net.Socket, info: ConnectionInfo): void {
    if (this.secure === null) {
      socket.destroy();
      return;
    }
    (socket as unknown as Record<symbol, ConnectionInfo>)[CONNECTION_INFO] = info;
    this.secure.emit('connection', socket);
  }

  /** Takes a connection from the listener (plain or TLS socket, bytes not yet consumed). */
  handle(socket: net.Socket, info: ConnectionInfo): void {
    (socket as unknown as Record<symbol, ConnectionInfo>)[CONNECTION_INFO] = info;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const codec = this.config.codecType;
    const h2 = codec === 'HTTP2' || (codec === 'AUTO' && info.protocolHint === 'h2');
    if (h2) this.h2.emit('connection', socket);
    else this.h1.emit('connection', socket);
  }

  private info(req: DownReq): ConnectionInfo {
    const sock = (req.socket ?? (req as http2.Http2ServerRequest).stream?.session?.socket) as unknown as Record<symbol, ConnectionInfo>;
    return sock[CONNECTION_INFO] ?? { downstream: emptyDownstream, secure: false, protocolHint: null };
  }

  private routesFor(): RouteTable | null {
    if (this.staticRoutes) return this.staticRoutes;
    const name = this.config.rdsRouteConfigName;
    return name && this.deps.routeConfigByName ? this.deps.routeConfigByName(name) : null;
  }

  private onRequest(req: DownReq, res: DownRes, protocol: string): void {
    const started = performance.now();
    const info = this.info(req);
    const headers = req.headers as Record<string, string | string[] | undefined>;
    const isH2 = protocol === 'HTTP/2';
    const head = checkRequestHead(req, isH2, this.headLimits);
    if (head.kind === 'reject') return this.rejectHead(req, res, protocol, started, info, head);
    if (head.authority !== null) {
      // Absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host; routed and forwarded in origin-form.
      headers.host = head.authority;
      req.url = head.path ?? '/';
    }
    let authority = (isH2 ? (headers[':authority'] as string | undefined) : undefined) ?? (headers.host as string | undefined) ?? '';
    if (this.rewritesTarget) authority = this.normalizeTarget(req, headers, authority, info);
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const ct = headers['content-type'];
    const isGrpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    const state = new StreamState(this, req, res, protocol, isGrpc, started, info);
    (res as unknown as Record<symbol, StreamState>)[STREAM_STATE] = state;
    if (isH2) state.guard = this.h2Guard.of((req as http2.Http2ServerRequest).stream);
    res.once('close', onResponseClose);

    if (this.draining && !isH2) res.setHeader('connection', 'close');

    const table = this.routesFor();
    const vh = table?.selectVirtualHost(authority) ?? null;
    const route = vh !== null && table !== null ? table.matchRoute(vh, { path, method, headers, isGrpc }, this.deps.random) : null;
    state.route = route;
    state.vhost = vh;
    // stream_idle_timeout, or the route's idle_timeout where it sets one (0 turns it off).
    const routeIdle = route !== null && route.action.kind === 'route' ? route.action.idleTimeoutMs : null;
    state.armIdleTimer(routeIdle ?? this.config.streamIdleTimeoutMs);
    // request_timeout: Node's HTTP/1.1 server enforces it; HTTP/2 streams are timed here.
    if (isH2 && this.config.requestTimeoutMs > 0 && !req.complete) state.armRequestTimer(this.config.requestTimeoutMs);

    if (vh !== null && vh.requireTls === 'all' && !info.secure) {
      return state.localReply(301, '', Flags.directResponse, { location: `https://${authority}${path}` });
    }

    // Without HTTP filters (the router alone) no filter context is built.
    if (this.filters.length === 0) return this.route(state);
    const filterReq: FilterRequest = { method, scheme: info.secure ? 'https' : 'http', authority, path, headers };
    const ctx: HttpFilterContext = { request: filterReq, downstream: info.downstream, route, now: this.deps.now, random: this.deps.random };
    state.filterCtx = ctx;
    this.runFilters(state, ctx, 0);
  }

  /**
   * normalize_path, merge_slashes and strip_*_host_port, applied to the request itself before
   * routing, so routes, filters and the upstream all see the normalized target. Returns the authority.
   */
  private normalizeTarget(req: DownReq, headers: Record<string, string | string[] | undefined>, authority: string, info: ConnectionInfo): string {
    const c = this.config;
    const url = req.url ?? '/';
    const normalized = normalizeRequestPath(url, c);
    if (normalized !== url) req.url = normalized;
    const stripped = stripHostPort(authority, c.stripPortMode, info.downstream.localPort);
    if (stripped !== authority) {
      if (headers[':authority'] !== undefined) headers[':authority'] = stripped;
      if (headers.host !== undefined) headers.host = stripped;
    }
    return stripped;
  }

  /** Runs filters from index i; a delay pauses the chain with a timer. */
  private runFilters(state: StreamState, ctx: HttpFilterContext, i: number): void {
    const filters = this.filters;
    for (; i < filters.length; i++) {
      const d = filters[i].decodeHeaders(ctx);
      if (d.action === 'reply') {
        const r = d.reply;
        this.countFilterReply(r.flag);
        return state.localReply(r.status, r.body, r.flag, r.headers, r.grpcStatus);
      }
      if (d.delayMs !== undefined && d.delayMs > 0) {
        this.deps.metrics.faultsInjected.labels('delay').inc();
        state.delayed = true;
        const next = i + 1;
        const t = setTimeout(() => {
          if (!state.done) this.runFilters(state, ctx, next);
        }, d.delayMs);
        state.delayTimer = t;
        return;
      }
    }
    this.route(state);
  }

  private route(state: StreamState): void {
    const route = state.route;
    if (route === null) return state.localReply(404, '', Flags.noRoute);
    const action = route.action;
    if (action.kind === 'direct_response') {
      return state.localReply(action.status, action.body ?? '', state.delayed ? Flags.delayInjected : '', undefined, undefined, true);
    }
    if (action.kind === 'redirect') {
      const req = state.req;
      const location = redirectLocation(action, route, {
        scheme: state.info.secure ? 'https' : 'http',
        authority: (req.headers.host as string | undefined) ?? ((req.headers as Record<string, string>)[':authority'] ?? ''),
        path: req.url ?? '/',
      });
      return state.localReply(action.responseCode, '', '', { location }, undefined, true);
    }
    this.forward(state, route, action);
  }

  /** @internal Hands a routed request to the router (called again a turn later when deferred). */
  forward(state: StreamState, route: RouteConfig, action: RouteActionConfig): void {
    // The hand-off: a stream the client already reset (or that was answered meanwhile) gets no upstream request.
    if (state.downstreamGone()) return;
    const guard = state.guard;
    if (guard !== null && !state.deferred && guard.deferDispatch()) {
      // A new connection, or one whose client has been resetting streams: a reset that came in the
      // same read is delivered after this request, so wait a turn and let it cancel the request
      // before anything goes upstream.
      state.deferred = true;
      setImmediate(onDeferredForward, this, state, route, action);
      return;
    }
    const req = state.req;
    const headers = req.headers as Record<string, string | string[] | undefined>;
    const clusterName =
      action.cluster ??
      (action.clusterHeader !== null ? headerValue(headers, action.clusterHeader) ?? null : null) ??
      (action.weightedClusters !== null ? pickWeightedCluster(action, this.deps.random) : null);
    state.clusterName = clusterName ?? '';
    const cluster = clusterName ? this.deps.clusters.get(clusterName) : undefined;
    if (!cluster) return state.localReply(503, 'cluster not found', Flags.noClusterFound);

    const info = state.info;
    const out = upstreamRequestHeaders(headers, false);
    // forward_client_cert_details SANITIZE (the only mode accepted): a client's XFCC never crosses.
    delete out['x-forwarded-client-cert'];
    if (
      this.config.generateRequestId &&
      (out['x-request-id'] === undefined || (this.config.useRemoteAddress && !this.config.preserveExternalRequestId))
    ) {
      out['x-request-id'] = newRequestId();
    }
    if (out['x-forwarded-proto'] === undefined || this.config.useRemoteAddress) {
      out['x-forwarded-proto'] = info.secure ? 'https' : 'http';
    }
    if (this.config.useRemoteAddress && info.downstream.remoteAddress) {
      const xff = out['x-forwarded-for'];
      const ra = info.downstream.remoteAddress.startsWith('::ffff:') ? info.downstream.remoteAddress.slice(7) : info.downstream.remoteAddress;
      out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ra}` : ra;
    }
    const table = this.routesFor();
    const vh = state.vhost as VirtualHostConfig;
    requestHeaderEdits(out, route, vh, table?.config ?? null);
    const target = rewriteRequest(action, route, req.url ?? '/', state.authority(), cluster);
    const body = new RequestBody(req, this.deps.bufferLimitBytes ?? RETRY_BUFFER_LIMIT_BYTES, !(req.method === 'GET' || req.method === 'HEAD') || hasBody(headers));
    body.observe(state);
    state.body = body;
    const router = new RouterStream(
      cluster,
      {
        method: req.method ?? 'GET',
        path: target.path,
        authority: target.authority,
        scheme: cluster.config.tls ? 'https' : 'http',
        headers: out,
        isGrpc: state.isGrpc,
        hash: action.hashPolicy.length > 0 ? requestHash(action.hashPolicy, headers, req.url ?? '/', info.downstream.remoteAddress) : null,
        body,
        action,
        retryPolicy: action.retryPolicy,
        originalDst: info.downstream.localAddress ? { host: unmapIPv4(info.downstream.localAddress), port: info.downstream.localPort } : null,
      },
      state,
      this.routerDeps,
    );
    state.router = router;
    router.start();
  }

  /** A request head the check refused: a local reply with DPE (HTTP/2 past a header limit: a reset), counted. */
  private rejectHead(req: DownReq, res: DownRes, protocol: string, started: number, info: ConnectionInfo, v: HeadRejected): void {
    this.deps.metrics.downstreamProtocolErrors.labels(this.deps.listenerName, v.code).inc();
    const ct = req.headers['content-type'];
    const state = new StreamState(this, req, res, protocol, typeof ct === 'string' && ct.startsWith('application/grpc'), started, info);
    if (v.reset && protocol === 'HTTP/2') {
      // Envoy resets an HTTP/2 stream past its header limits (the codec's own backstop does the same).
      (res as http2.Http2ServerResponse).stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      this.recordStats(state, 0, Flags.downstreamProtocolError, state.isGrpc ? '' : '-');
      return;
    }
    (res as unknown as Record<symbol, StreamState>)[STREAM_STATE] = state;
    res.once('close', onResponseClose);
    if (protocol !== 'HTTP/2') this.noMoreRequests.add(req.socket);
    const close: Record<string, string> = protocol === 'HTTP/2' ? {} : { connection: 'close' };
    if (v.status === 426) close.upgrade = 'HTTP/1.1';
    state.localReply(v.status, `${v.message}\n`, Flags.downstreamProtocolError, close);
  }

  /** CONNECT: Ferry tunnels nothing (no connect_matcher routes), so, as Envoy, 404 NR and close. */
  private onConnect(req: http.IncomingMessage, socket: net.Socket): void {
    this.rawReply(req, socket, 404, Flags.noRoute);
  }

  /** A local reply on a connection Node handed over raw (upgrade, CONNECT): written, closed, counted. */
  private rawReply(req: http.IncomingMessage, socket: net.Socket, status: number, flag: string, body = '', headers?: Readonly<Record<string, string>>): void {
    const principal = this.info(req).downstream.peerPrincipal ?? '';
    this.stats.for('').record('http', status, flag, '-', principal, principal ? 'mutual_tls' : 'none', 0);
    socket.on('error', () => socket.destroy());
    let extra = body === '' ? '' : 'content-type: text/plain\r\n';
    if (headers) for (const k in headers) extra += `${k}: ${headers[k]}\r\n`;
    // A response to HEAD has no body (RFC 9110 §9.3.2): its length is announced, the bytes are not sent.
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\nserver: ${this.config.serverName}\r\n${RESPONSE_FLAGS_HEADER}: ${flag}\r\n\r\n${req.method === 'HEAD' ? '' : body}`,
    );
  }

  private onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    if (isH2cUpgrade(req.headers.upgrade)) {
      // Ignored as Envoy does: the head is parsed again without the upgrade and served as HTTP/1.1.
      socket.unshift(Buffer.concat([headWithoutH2cUpgrade(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders), head]));
      this.h1.emit('connection', socket);
      return;
    }
    const checked = checkRequestHead(req, false, this.headLimits);
    if (checked.kind === 'reject') {
      this.deps.metrics.downstreamProtocolErrors.labels(this.deps.listenerName, checked.code).inc();
      return this.rawReply(req, socket, checked.status, Flags.downstreamProtocolError, `${checked.message}\n`);
    }
    if (checked.authority !== null) {
      req.headers.host = checked.authority;
      req.url = checked.path ?? '/';
    }
    const info = this.info(req);
    const table = this.routesFor();
    let authority = req.headers.host ?? '';
    if (this.rewritesTarget) authority = this.normalizeTarget(req, req.headers, authority, info);
    const vh = table?.selectVirtualHost(authority) ?? null;
    const path = req.url ?? '/';
    const route = vh !== null && table !== null ? table.matchRoute(vh, { path, method: req.method ?? 'GET', headers: req.headers, isGrpc: false }, this.deps.random) : null;
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const action = route?.action;
    // A route's upgrade_configs add to the connection manager's (disabling one per route is rejected).
    const allowed = this.config.upgradeTypes.includes(upgrade) || (action?.kind === 'route' && action.upgradeTypes?.includes(upgrade) === true);
    if (!route || action?.kind !== 'route' || !allowed) {
      return this.rawReply(req, socket, route ? 403 : 404, route ? Flags.unauthorized : Flags.noRoute);
    }
    // An upgrade is a request like any other: the HTTP filters judge it first (RBAC, rate limit, fault).
    const ctx: HttpFilterContext = {
      request: { method: req.method ?? 'GET', scheme: info.secure ? 'https' : 'http', authority, path, headers: req.headers },
      downstream: info.downstream,
      route,
      now: this.deps.now,
      random: this.deps.random,
    };
    if (this.filters.length > 0) socket.once('close', () => this.finishFilterContext(ctx));
    this.runUpgradeFilters(req, ctx, socket, 0, () => {
      const clusterName = action.cluster ?? (action.weightedClusters ? pickWeightedCluster(action, this.deps.random) : null);
      const cluster = clusterName ? this.deps.clusters.get(clusterName) : undefined;
      if (!cluster) return this.rawReply(req, socket, 503, Flags.noClusterFound);
      const target = rewriteRequest(action, route, path, authority, cluster);
      const out = upstreamRequestHeaders(req.headers, true);
      delete out['x-forwarded-client-cert'];
      requestHeaderEdits(out, route, vh, table?.config ?? null);
      // An upgraded stream is idle when no byte moves either way (stream_idle_timeout / route idle_timeout).
      const idleMs = action.idleTimeoutMs ?? this.config.streamIdleTimeoutMs;
      proxyUpgrade(req, socket, head, cluster, target, out, info.secure, this.deps.metrics, idleMs, () => this.countStreamIdleTimeout());
    });
  }

  /** The filter chain for an upgrade request: a local reply is written on the socket, a delay waits. */
  private runUpgradeFilters(req: http.IncomingMessage, ctx: HttpFilterContext, socket: net.Socket, i: number, proceed: () => void): void {
    for (; i < this.filters.length; i++) {
      const d = this.filters[i].decodeHeaders(ctx);
      if (d.action === 'reply') {
        this.countFilterReply(d.reply.flag);
        return this.rawReply(req, socket, d.reply.status, d.reply.flag, d.reply.body, d.reply.headers);
      }
      if (d.delayMs !== undefined && d.delayMs > 0) {
        this.deps.metrics.faultsInjected.labels('delay').inc();
        const next = i + 1;
        setTimeout(() => {
          if (!socket.destroyed) this.runUpgradeFilters(req, ctx, socket, next, proceed);
        }, d.delayMs);
        return;
      }
    }
    proceed();
  }

  private countFilterReply(flag: string): void {
    if (flag === Flags.rateLimited) this.deps.metrics.localRateLimited.labels(this.config.statPrefix).inc();
    if (flag === Flags.faultInjected) this.deps.metrics.faultsInjected.labels('abort').inc();
    if (flag === Flags.rbacDenied) this.deps.metrics.authzDenied.labels(this.config.statPrefix).inc();
  }

  private onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
    if (this.noMoreRequests.has(socket)) return; // the parser stays failed; one answer per connection
    const code = err.code ?? 'unknown';
    const inFlight = (socket as unknown as { _httpMessage?: http.ServerResponse | null })._httpMessage ?? null;
    if (code === 'HPE_CLOSED_CONNECTION' && inFlight !== null) {
      // Bytes after a `Connection: close` request are not read (RFC 9112 §9.6); its response still goes out.
      this.noMoreRequests.add(socket);
      return;
    }
    this.deps.metrics.downstreamProtocolErrors.labels(this.deps.listenerName, code).inc();
    if (code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const inFlightReq = inFlight === null ? undefined : (inFlight as unknown as Record<symbol, StreamState>)[STREAM_STATE]?.req;
    if (inFlight !== null && inFlightReq?.complete === true) {
      // A later pipelined request is broken: every request parsed before it is answered first, then this one.
      this.noMoreRequests.add(socket);
      afterQueuedResponses(socket, () => this.answerClientError(err, code, socket));
      return;
    }
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    this.answerClientError(err, code, socket);
  }

  /** The codec's error as a 4xx with DPE and a body naming what was wrong, then close. */
  private answerClientError(err: NodeJS.ErrnoException, code: string, socket: net.Socket): void {
    this.noMoreRequests.add(socket);
    if (socket.writableEnded) return; // already closing after a reply (e.g. a refused head)
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    let status = 400;
    if (code === 'HPE_HEADER_OVERFLOW') status = 431;
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ETIMEDOUT') status = 408;
    const reason = (err as { reason?: string }).reason ?? err.message;
    const body = `${reason} (${code})\n`;
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n${RESPONSE_FLAGS_HEADER}: ${Flags.downstreamProtocolError}\r\n\r\n${body}`,
    );
    socket.destroySoon();
  }

  countStreamIdleTimeout(): void {
    this.deps.metrics.streamIdleTimeouts.labels(this.config.statPrefix).inc();
  }

  recordStats(s: StreamState, status: number, flag: string, grpcStatus: string): void {
    const principal = s.info.downstream.peerPrincipal ?? '';
    this.stats
      .for(s.clusterName)
      .record(
        s.isGrpc ? 'grpc' : 'http',
        status,
        flag,
        grpcStatus,
        principal,
        principal ? 'mutual_tls' : 'none',
        (performance.now() - s.started) / 1000,
      );
  }

  applyResponseHeaders(s: StreamState, headers: Record<string, string | string[]>): void {
    if (s.route !== null && s.vhost !== null) responseHeaderEdits(headers, s.route, s.vhost, this.routesFor()?.config ?? null);
    // server_header_transformation OVERWRITE (the only mode accepted): every response names this proxy.
    headers.server = this.config.serverName;
  }

  finishFilters(s: StreamState): void {
    if (s.filterCtx !== null) this.finishFilterContext(s.filterCtx);
  }

  private finishFilterContext(ctx: HttpFilterContext): void {
    for (const f of this.filters) f.onDone?.(ctx);
  }

  /**
   * HTTP/2 draining as Envoy does it: a GOAWAY shutdown notice (last stream ID 2^31-1) first, so
   * streams already on their way are still taken, then after drain_timeout the final GOAWAY; the
   * streams open by then finish.
   */
  private drainSession(s: http2.Http2Session): void {
    if (s.closed || s.destroyed) return;
    try {
      s.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    } catch {
      return void s.close();
    }
    setTimeout(() => {
      if (!s.closed && !s.destroyed) s.close();
    }, this.config.drainTimeoutMs).unref();
  }

  /**
   * The connection's idle_timeout for HTTP/2 (HTTP/1.1 has Node's keep-alive timeout): a session
   * with no stream open for that long is drained.
   */
  private watchIdle(s: http2.Http2Session): void {
    const idleMs = this.config.idleTimeoutMs;
    if (idleMs <= 0) return;
    let open = 0;
    s.on('stream', (stream: http2.ServerHttp2Stream) => {
      open++;
      stream.once('close', () => open--);
    });
    s.setTimeout(idleMs, () => {
      if (open === 0) this.drainSession(s);
    });
  }

  /** Stops taking new requests: HTTP/2 GOAWAY, HTTP/1 `connection: close` on the next response. */
  /**
   * Stops taking new work gracefully: HTTP/2 sessions get GOAWAY; HTTP/1.1 responses carry
   * `Connection: close`. HTTP/1.1 cannot tell an idle client not to reuse its connection, so closing
   * idle connections at once races with requests already on their way (the client sees a reset);
   * they are closed once the grace period has passed, by when every busy client has been told.
   */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions) this.drainSession(s);
    if (this.idleCloseTimer) return;
    this.idleCloseTimer = setTimeout(() => this.h1.closeIdleConnections(), DRAIN_IDLE_GRACE_MS);
    this.idleCloseTimer.unref();
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  close(): void {
    this.draining = true;
    if (this.idleCloseTimer) clearTimeout(this.idleCloseTimer);
    this.unsubscribeIdentity?.();
    this.h2Guard.close();
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
    this.h1.closeAllConnections();
    this.h1.close();
  }
}

const emptyDownstream: FilterDownstream = { remoteAddress: '', remotePort: 0, localAddress: '', localPort: 0, peerPrincipal: null };

/**
 * Node's HTTP/2 codec resets a stream with more header fields than this (ENHANCE_YOUR_CALM) before
 * Ferry sees it, so uncounted. Set so that only a header list over max_request_headers_kb as HTTP/2
 * counts it (32 bytes per field, the SETTINGS_MAX_HEADER_LIST_SIZE Ferry advertises) meets it;
 * everything else reaches the head check, which resets the same way and counts.
 */
function h2HeaderPairsBackstop(c: HttpConnectionManagerConfig): number {
  return Math.max(128, c.maxRequestHeadersCount + 1, Math.ceil((c.maxRequestHeadersKb * 1024) / 32));
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (a dual-stack listener's view of an IPv4 peer). */
function unmapIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
}

function hasBody(h: Record<string, string | string[] | undefined>): boolean {
  const cl = h['content-length'];
  return (cl !== undefined && cl !== '0') || h['transfer-encoding'] !== undefined;
}

/** One request's progress through the connection manager; the router's responder. */
class StreamState implements RouterResponder, BodyObserver {
  route: RouteConfig | null = null;
  vhost: VirtualHostConfig | null = null;
  filterCtx: HttpFilterContext | null = null;
  router: RouterStream | null = null;
  body: RequestBody | null = null;
  /** The stream idle timeout in force (ms, 0 = none), its timer, and the last activity (performance.now()). */
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private activityAt = 0;
  /** request_timeout for an HTTP/2 stream: the whole request must arrive within it. */
  private requestTimer: NodeJS.Timeout | null = null;
  clusterName = '';
  delayed = false;
  delayTimer: NodeJS.Timeout | null = null;
  done = false;
  /** HTTP/2: the connection's abuse guard (null for HTTP/1.1). */
  guard: H2SessionGuard | null = null;
  /** The request waited a turn before it was routed (see forward()). */
  deferred = false;
  /** The proxy ended the response (complete from its side). */
  private responseEnded = false;
  /** The proxy reset the stream or destroyed the response itself (not the client's reset). */
  private resetByProxy = false;
  private downstreamClosed = false;
  private status = 0;
  private grpcStatus = '';
  private pendingTrailers: Record<string, string> | null = null;

  constructor(
    private readonly hcm: HttpConnectionManager,
    readonly req: DownReq,
    readonly res: DownRes,
    readonly protocol: string,
    readonly isGrpc: boolean,
    readonly started: number,
    readonly info: ConnectionInfo,
  ) {}

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
    this.activityAt = performance.now();
    this.idleTimer = setTimeout(onStreamIdleTimer, ms, this);
  }

  /**
   * The stream made no progress in either direction for the idle timeout (checked lazily: activity
   * only records a time). Envoy's answer: 504 once the request is complete, 408 while it is not,
   * a reset once the response has started; flag SI.
   */
  onIdleTimer(): void {
    this.idleTimer = null;
    if (this.done) return;
    const left = this.activityAt + this.idleMs - performance.now();
    if (left > 1) {
      this.idleTimer = setTimeout(onStreamIdleTimer, left, this);
      return;
    }
    this.hcm.countStreamIdleTimeout();
    const complete = this.body !== null ? this.body.complete : this.req.complete;
    const status = complete ? 504 : 408;
    if (this.router !== null) return this.router.abandon(status, 'stream timeout', Flags.streamIdleTimeout);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.localReply(status, 'stream timeout', Flags.streamIdleTimeout);
  }

  armRequestTimer(ms: number): void {
    this.requestTimer = setTimeout(onRequestTimer, ms, this);
  }

  /** The request did not arrive whole within request_timeout: 408 (a reset once the response started). */
  onRequestTimer(): void {
    this.requestTimer = null;
    if (this.done) return;
    const complete = this.body !== null ? this.body.complete : this.req.complete;
    if (complete) return;
    if (this.router !== null) return this.router.abandon(408, 'request timeout', Flags.downstreamProtocolError);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.localReply(408, 'request timeout', Flags.downstreamProtocolError);
  }

  onBodyProgress(): void {
    this.activityAt = performance.now();
    this.router?.onBodyProgress();
  }

  onBodyComplete(): void {
    this.router?.onBodyComplete();
  }

  sendHeaders(status: number, headers: Record<string, string | string[]>): void {
    this.activityAt = performance.now();
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
    try {
      (this.res as http.ServerResponse).writeHead(status, headers);
    } catch (err) {
      // A header the downstream codec refuses (e.g. invalid characters): answer 502 instead.
      this.res.removeHeader?.('content-length');
      (this.res as http.ServerResponse).writeHead(502, { [RESPONSE_FLAGS_HEADER]: Flags.upstreamProtocolError });
      this.hcm.recordStats(this, 502, Flags.upstreamProtocolError, '');
    }
  }

  sendData(chunk: Buffer): boolean {
    this.activityAt = performance.now();
    return (this.res as http.ServerResponse).write(chunk);
  }

  onDrain(cb: () => void): void {
    this.res.once('drain', cb);
  }

  sendEnd(trailers: Record<string, string | string[] | undefined> | null): void {
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
    try {
      res.writeHead(status, h);
      this.responseEnded = true;
      res.end(body);
    } catch {
      this.resetByProxy = true;
      res.destroy();
    }
    this.finish(flag);
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
    this.finish(this.router?.flag ?? '');
  }

  private finish(flag: string): void {
    if (this.done) return;
    this.done = true;
    if (this.requestTimer !== null) clearTimeout(this.requestTimer);
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    this.hcm.finishFilters(this);
    this.hcm.recordStats(this, this.status, flag, this.grpcStatus || (this.isGrpc ? '' : '-'));
  }

  onDownstreamClose(): void {
    this.downstreamClosed = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (this.requestTimer !== null) clearTimeout(this.requestTimer);
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
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
