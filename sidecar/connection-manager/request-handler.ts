// The connection manager's request path: the head check, virtual host and route, the HTTP filters,
// then the route's action — a local reply, a redirect, or the router with the forwarding headers.

import type * as http from 'node:http';
import * as http2 from 'node:http2';
import type { HttpConnectionManagerConfig, RouteActionConfig, RouteConfig, VirtualHostConfig } from '../../src/config/types';
import { decodePeerMetadata, encodePeerMetadata, expectedPrincipal, isMeshCluster, PEER_METADATA_HEADER, type WorkloadLabels } from '../../src/observability/istio-labels';
import type { Clock } from '../../src/clock/clock';
import type { HttpFilter, HttpFilterContext, FilterRequest } from '../filters/types';
import { createHttpFilters } from '../filters/registry';
import { RouteTable } from '../router/route-table';
import { RouterStream, type RouterDeps } from '../router/router';
import { RequestBody, RETRY_BUFFER_LIMIT_BYTES } from '../router/request-body';
import { requestHeaderEdits, responseHeaderEdits, rewriteRequest, redirectLocation, requestHash } from '../router/route-actions';
import { Flags } from '../http/local-reply';
import { newRequestId, upstreamRequestHeaders } from '../http/headers';
import { RequestStatsTable } from './request-stats';
import { HEALTH_CHECK_USER_AGENT } from '../cluster/health-checker';
import { checkRequestHead, type HeadLimits, type HeadRejected } from './request-head';
import { normalizeRequestPath, stripHostPort } from './request-normalize';
import type { H2AbuseGuard } from './h2-abuse-guard';
import { chooseCluster } from './cluster-choice';
import { applyForwardingHeaders } from './forwarding-headers';
import type { ConnectionTable, DownstreamConnection } from './downstream-connection';
import { StreamState, type DownReq, type DownRes, type ResponseConflict, type StreamHost } from './stream-state';
import type { ConnectionManagerDeps } from './connection-manager-deps';
import type { AccessLogRecord } from '../../src/observability/access-log-format';
import { AccessLoggers } from '../../src/observability/access-logger';

const UNKNOWN_WORKLOAD: WorkloadLabels = Object.freeze({ workload: 'unknown', namespace: 'unknown' });

/** A request routed one turn of the event loop late (a new connection, or one suspect of rapid reset). */
function onDeferredForward(handler: RequestHandler, state: StreamState, route: RouteConfig, action: RouteActionConfig): void {
  handler.forward(state, route, action);
}

export class RequestHandler implements StreamHost {
  readonly clock: Clock;
  readonly filters: readonly HttpFilter[];
  readonly stats: RequestStatsTable;
  readonly headLimits: HeadLimits;
  private readonly staticRoutes: RouteTable | null;
  private readonly routerDeps: RouterDeps;
  /** normalize_path, merge_slashes or strip_*_host_port is set. */
  private readonly rewritesTarget: boolean;
  /** This workload's metadata for the exchange ('' when the proxy has no mesh identity). */
  private readonly selfMetadata: string;
  /** The HCM's access_log entries (null: none configured). */
  private readonly accessLogs: AccessLoggers | null;

  constructor(
    readonly config: HttpConnectionManagerConfig,
    readonly deps: ConnectionManagerDeps,
    clock: Clock,
    private readonly connections: ConnectionTable,
    private readonly h2Guard: H2AbuseGuard,
    private readonly isDraining: () => boolean,
  ) {
    this.clock = clock;
    const router = config.httpFilters.find((f) => f.kind === 'router');
    this.routerDeps = {
      metrics: deps.metrics,
      clock,
      random: deps.random,
      suppressEnvoyHeaders: router !== undefined && router.kind === 'router' && router.suppressEnvoyHeaders,
    };
    this.rewritesTarget = config.normalizePath || config.mergeSlashes || config.stripPortMode !== 'none';
    this.staticRoutes = config.routeConfig ? new RouteTable(config.routeConfig) : null;
    this.filters = createHttpFilters(config.httpFilters, { now: deps.now, random: deps.random });
    this.stats = new RequestStatsTable(deps.metrics, deps.reporter, deps.source ?? UNKNOWN_WORKLOAD);
    this.headLimits = { maxHeadersCount: config.maxRequestHeadersCount, maxHeadersBytes: config.maxRequestHeadersKb * 1024 };
    this.accessLogs = AccessLoggers.open(config.accessLogs);
    const self = deps.source ?? UNKNOWN_WORKLOAD;
    this.selfMetadata = self.principal && self.workload !== 'unknown' ? encodePeerMetadata(self) : '';
  }

  /** The connection a request came on: HTTP/2 by its session, HTTP/1.1 by its socket. */
  connectionOf(req: DownReq): DownstreamConnection {
    if (req instanceof http2.Http2ServerRequest) {
      const session = req.stream.session;
      if (session !== undefined) return this.connections.of(session);
    }
    return this.connections.of((req as http.IncomingMessage).socket);
  }

  routesFor(): RouteTable | null {
    if (this.staticRoutes) return this.staticRoutes;
    const name = this.config.rdsRouteConfigName;
    return name && this.deps.routeConfigByName ? this.deps.routeConfigByName(name) : null;
  }

  onRequest(req: DownReq, res: DownRes, protocol: string): void {
    const started = this.clock.now();
    const info = this.connectionOf(req);
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
    // A peer sidecar's health check (over mTLS, so from the mesh) is no call of its workload: counted
    // apart (its answer, a denial included), it would otherwise put every caller → every service on
    // the mesh's graph and in the denied count every few seconds.
    if (this.deps.reporter === 'destination' && headers['user-agent'] === HEALTH_CHECK_USER_AGENT && (info.downstream.peerPrincipal ?? '') !== '') state.healthCheck = true;
    if (isH2) state.guard = this.h2Guard.of((req as http2.Http2ServerRequest).stream);
    state.watchResponse();

    if (this.isDraining() && !isH2) res.setHeader('connection', 'close');

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
  normalizeTarget(req: DownReq, headers: Record<string, string | string[] | undefined>, authority: string, info: DownstreamConnection): string {
    if (!this.rewritesTarget) return authority;
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
        if (!state.healthCheck) this.countFilterReply(r.flag);
        return state.localReply(r.status, r.body, r.flag, r.headers, r.grpcStatus);
      }
      if (d.delayMs !== undefined && d.delayMs > 0) {
        this.deps.metrics.faultsInjected.labels('delay').inc();
        state.delayed = true;
        const next = i + 1;
        state.delayTimer = this.clock.setTimeout(() => {
          if (!state.done) this.runFilters(state, ctx, next);
        }, d.delayMs);
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
    const clusterName = chooseCluster(action, headers, this.deps.random);
    state.clusterName = clusterName ?? '';
    const cluster = clusterName ? this.deps.clusters.get(clusterName) : undefined;
    if (!cluster) return state.localReply(503, 'cluster not found', Flags.noClusterFound);

    const info = state.info;
    const out = upstreamRequestHeaders(headers, false);
    // The metadata exchange: an inbound request's caller metadata is read (trusted over mTLS only) and
    // never reaches the app; an outbound request carries this workload's only to mesh clusters.
    delete out[PEER_METADATA_HEADER];
    if (this.deps.reporter === 'destination') {
      this.takePeer(state, headers[PEER_METADATA_HEADER], info.downstream.peerPrincipal ?? '');
    } else {
      state.upstreamPrincipal = expectedPrincipal(cluster.config.tls);
      if (this.selfMetadata && isMeshCluster(cluster.config.tls)) out[PEER_METADATA_HEADER] = this.selfMetadata;
    }
    applyForwardingHeaders(out, this.config, { remoteAddress: info.downstream.remoteAddress, secure: info.secure }, newRequestId);
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
  private rejectHead(req: DownReq, res: DownRes, protocol: string, started: number, info: DownstreamConnection, v: HeadRejected): void {
    this.deps.metrics.downstreamProtocolErrors.labels(this.deps.listenerName, v.code).inc();
    const ct = req.headers['content-type'];
    const state = new StreamState(this, req, res, protocol, typeof ct === 'string' && ct.startsWith('application/grpc'), started, info);
    if (v.reset && protocol === 'HTTP/2') {
      // Envoy resets an HTTP/2 stream past its header limits (the codec's own backstop does the same).
      (res as http2.Http2ServerResponse).stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      this.recordStats(state, 0, Flags.downstreamProtocolError, state.isGrpc ? '' : '-');
      return;
    }
    state.watchResponse();
    if (protocol !== 'HTTP/2') info.noMoreRequests = true;
    const close: Record<string, string> = protocol === 'HTTP/2' ? {} : { connection: 'close' };
    if (v.status === 426) close.upgrade = 'HTTP/1.1';
    state.localReply(v.status, `${v.message}\n`, Flags.downstreamProtocolError, close);
  }

  countFilterReply(flag: string): void {
    if (flag === Flags.rateLimited) this.deps.metrics.localRateLimited.labels(this.config.statPrefix).inc();
    if (flag === Flags.faultInjected) this.deps.metrics.faultsInjected.labels('abort').inc();
    if (flag === Flags.rbacDenied) this.deps.metrics.authzDenied.labels(this.config.statPrefix).inc();
  }

  countStreamIdleTimeout(): void {
    this.deps.metrics.streamIdleTimeouts.labels(this.config.statPrefix).inc();
  }

  responseConflict(s: StreamState, kind: ResponseConflict, status: number): void {
    this.deps.metrics.responseConflicts.labels(this.config.statPrefix, kind).inc();
    this.deps.logger.error('upstream answer dropped: it does not fit the response already written (a proxy defect)', {
      kind,
      droppedStatus: status,
      answeredStatus: s.headersSent ? s.responseStatus : 0,
      method: s.req.method,
      path: s.req.url,
      cluster: s.clusterName,
      upstreamHost: s.router?.upstreamHostKey ?? '',
      attempts: s.router?.attemptCount ?? 0,
    });
  }

  private takePeer(s: StreamState, value: string | string[] | undefined, principal: string): void {
    const peer = decodePeerMetadata(value, principal);
    if (peer === null) return;
    s.peer = peer;
    s.peerKey = value as string;
  }

  recordStats(s: StreamState, status: number, flag: string, grpcStatus: string): void {
    const principal = s.info.downstream.peerPrincipal ?? '';
    const now = this.clock.now();
    if (s.healthCheck) this.deps.metrics.healthCheckRequests.labels(this.config.statPrefix, String(status)).inc();
    else this.stats.for(s.clusterName).record({
      protocol: s.isGrpc ? 'grpc' : 'http',
      code: status,
      flags: flag,
      grpcStatus,
      peerPrincipal: principal,
      security: principal ? 'mutual_tls' : 'none',
      peer: s.peer,
      peerKey: s.peerKey,
      upstreamPrincipal: s.upstreamPrincipal,
      seconds: (now - s.started) / 1000,
      requestBytes: s.body?.bytesReceived ?? 0,
      responseBytes: s.bytesSent,
    });
    if (this.accessLogs !== null) {
      const dropped = this.accessLogs.log(accessLogRecord(s, status, flag, now, this.clock.wallNow()));
      if (dropped > 0) this.deps.metrics.accessLogDropped.labels(this.config.statPrefix).inc(dropped);
    }
  }

  applyResponseHeaders(s: StreamState, headers: Record<string, string | string[]>): void {
    // The metadata exchange, answering side: the callee's sidecar answers a mesh caller with its own
    // metadata; the caller's sidecar reads it (checked against the cluster's expected identity) and
    // removes it, so no app sees it either way.
    const theirs = headers[PEER_METADATA_HEADER];
    delete headers[PEER_METADATA_HEADER];
    if (this.deps.reporter === 'destination') {
      if (s.peer !== null && this.selfMetadata) headers[PEER_METADATA_HEADER] = this.selfMetadata;
    } else if (theirs !== undefined && s.upstreamPrincipal) {
      this.takePeer(s, theirs, s.upstreamPrincipal);
    }
    if (s.route !== null && s.vhost !== null) responseHeaderEdits(headers, s.route, s.vhost, this.routesFor()?.config ?? null);
    // server_header_transformation OVERWRITE (the only mode accepted): every response names this proxy.
    headers.server = this.config.serverName;
    // Draining: an HTTP/1.1 response written after the drain started tells its client not to reuse the
    // connection, also for a request that arrived before it (HTTP/1.1 has no other way to say so).
    if (this.isDraining() && s.protocol !== 'HTTP/2') headers.connection = 'close';
  }

  finishFilters(s: StreamState): void {
    if (s.filterCtx !== null) this.finishFilterContext(s.filterCtx);
  }

  finishFilterContext(ctx: HttpFilterContext): void {
    for (const f of this.filters) f.onDone?.(ctx);
  }
}

/** `host:port`, IPv6 in brackets, IPv4-mapped addresses unmapped (as Envoy prints addresses). */
function hostPort(ip: string, port: number): string {
  const h = unmapIPv4(ip);
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** One finished request as its access-log line sees it. */
function accessLogRecord(s: StreamState, status: number, flag: string, now: number, wallNow: number): AccessLogRecord {
  const req = s.req;
  const h = req.headers as Record<string, string | string[] | undefined>;
  const pseudo: Record<string, string | undefined> = {
    ':method': req.method,
    ':path': (h[':path'] as string | undefined) ?? req.url,
    ':authority': (h[':authority'] as string | undefined) ?? (h.host as string | undefined),
    ':scheme': (h[':scheme'] as string | undefined) ?? (s.info.secure ? 'https' : 'http'),
  };
  const requestHeader = (name: string): string | undefined => {
    if (name in pseudo) return pseudo[name];
    const v = h[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const responseHeader = (name: string): string | undefined => {
    if (!s.headersSent) return undefined;
    const v = s.res.getHeader(name);
    return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
  };
  const d = s.info.downstream;
  return {
    startTimeMs: wallNow - (now - s.started),
    durationMs: now - s.started,
    ...(s.headersAt > 0 ? { responseHeadersMs: s.headersAt - s.started } : {}),
    protocol: s.protocol,
    responseCode: status,
    responseFlags: flag,
    bytesReceived: s.body?.bytesReceived ?? 0,
    bytesSent: s.bytesSent,
    requestHeader,
    responseHeader,
    ...(s.router !== null && s.router.upstreamHostKey ? { upstreamHost: s.router.upstreamHostKey, upstreamRequestAttemptCount: s.router.attemptCount } : {}),
    ...(s.clusterName ? { upstreamCluster: s.clusterName } : {}),
    downstreamRemoteAddress: hostPort(d.remoteAddress, d.remotePort),
    downstreamLocalAddress: hostPort(d.localAddress, d.localPort),
    ...(d.peerPrincipal ? { downstreamPeerUriSan: d.peerPrincipal } : {}),
    ...(s.route?.name ? { routeName: s.route.name } : {}),
  };
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (a dual-stack listener's view of an IPv4 peer). */
function unmapIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
}

function hasBody(h: Record<string, string | string[] | undefined>): boolean {
  const cl = h['content-length'];
  return (cl !== undefined && cl !== '0') || h['transfer-encoding'] !== undefined;
}
