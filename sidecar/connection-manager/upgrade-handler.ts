// Requests node:http hands over raw: HTTP/1.1 Upgrade (WebSocket and the like) and CONNECT. An
// upgrade is routed and filtered like any request, then tunnelled (upgrade.ts); an ignored h2c
// upgrade is served again as plain HTTP/1.1.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { HttpFilterContext } from '../filters/types';
import { Flags, RESPONSE_FLAGS_HEADER } from '../http/local-reply';
import { newRequestId, upstreamRequestHeaders } from '../http/headers';
import { PEER_METADATA_HEADER } from '../../src/observability/istio-labels';
import { requestHeaderEdits, rewriteRequest } from '../router/route-actions';
import { checkRequestHead } from './request-head';
import { headWithoutH2cUpgrade, isH2cUpgrade } from './h2c-upgrade';
import { chooseCluster } from './cluster-choice';
import { applyForwardingHeaders } from './forwarding-headers';
import { proxyUpgrade } from './upgrade';
import type { RequestHandler } from './request-handler';
import type { H1Server } from './stream-state';

export class UpgradeHandler {
  constructor(
    private readonly requests: RequestHandler,
    /** The HTTP/1.1 server, to serve an ignored h2c upgrade again. */
    private readonly h1: H1Server,
  ) {}

  onUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const rh = this.requests;
    const { config, deps } = rh;
    if (isH2cUpgrade(req.headers.upgrade)) {
      // Ignored as Envoy does: the head is parsed again without the upgrade and served as HTTP/1.1.
      socket.unshift(Buffer.concat([headWithoutH2cUpgrade(req.method ?? 'GET', req.url ?? '/', req.httpVersion, req.rawHeaders), head]));
      this.h1.emit('connection', socket);
      return;
    }
    const checked = checkRequestHead(req, false, rh.headLimits);
    if (checked.kind === 'reject') {
      deps.metrics.downstreamProtocolErrors.labels(deps.listenerName, checked.code).inc();
      return this.rawReply(req, socket, checked.status, Flags.downstreamProtocolError, `${checked.message}\n`);
    }
    if (checked.authority !== null) {
      req.headers.host = checked.authority;
      req.url = checked.path ?? '/';
    }
    const info = rh.connectionOf(req);
    const table = rh.routesFor();
    const authority = rh.normalizeTarget(req, req.headers, req.headers.host ?? '', info);
    const vh = table?.selectVirtualHost(authority) ?? null;
    const path = req.url ?? '/';
    const route = vh !== null && table !== null ? table.matchRoute(vh, { path, method: req.method ?? 'GET', headers: req.headers, isGrpc: false }, deps.random) : null;
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const action = route?.action;
    // A route's upgrade_configs add to the connection manager's (disabling one per route is rejected).
    const allowed = config.upgradeTypes.includes(upgrade) || (action?.kind === 'route' && action.upgradeTypes?.includes(upgrade) === true);
    if (!route || action?.kind !== 'route' || !allowed) {
      return this.rawReply(req, socket, route ? 403 : 404, route ? Flags.unauthorized : Flags.noRoute);
    }
    // An upgrade is a request like any other: the HTTP filters judge it first (RBAC, rate limit, fault).
    const ctx: HttpFilterContext = {
      request: { method: req.method ?? 'GET', scheme: info.secure ? 'https' : 'http', authority, path, headers: req.headers },
      downstream: info.downstream,
      route,
      now: deps.now,
      random: deps.random,
    };
    if (rh.filters.length > 0) socket.once('close', () => rh.finishFilterContext(ctx));
    this.runFilters(req, ctx, socket, 0, () => {
      const clusterName = chooseCluster(action, req.headers, deps.random);
      const cluster = clusterName ? deps.clusters.get(clusterName) : undefined;
      if (!cluster) return this.rawReply(req, socket, 503, Flags.noClusterFound);
      const target = rewriteRequest(action, route, path, authority, cluster);
      const out = upstreamRequestHeaders(req.headers, true);
      // The same forwarding headers as a plain request (x-request-id, X-Forwarded-Proto/For, no client XFCC);
      // the mesh's metadata header is never passed on from a client.
      applyForwardingHeaders(out, config, { remoteAddress: info.downstream.remoteAddress, secure: info.secure }, newRequestId);
      delete out[PEER_METADATA_HEADER];
      requestHeaderEdits(out, route, vh, table?.config ?? null);
      // An upgraded stream is idle when no byte moves either way (stream_idle_timeout / route idle_timeout).
      const idleMs = action.idleTimeoutMs ?? config.streamIdleTimeoutMs;
      proxyUpgrade(req, socket, head, cluster, target, out, info.secure, deps.metrics, idleMs, () => rh.countStreamIdleTimeout(), rh.clock);
    });
  }

  /** CONNECT: Ferry tunnels nothing (no connect_matcher routes), so, as Envoy, 404 NR and close. */
  onConnect(req: http.IncomingMessage, socket: net.Socket): void {
    this.rawReply(req, socket, 404, Flags.noRoute);
  }

  /** The filter chain for an upgrade request: a local reply is written on the socket, a delay waits. */
  private runFilters(req: http.IncomingMessage, ctx: HttpFilterContext, socket: net.Socket, i: number, proceed: () => void): void {
    const rh = this.requests;
    for (; i < rh.filters.length; i++) {
      const d = rh.filters[i].decodeHeaders(ctx);
      if (d.action === 'reply') {
        rh.countFilterReply(d.reply.flag);
        return this.rawReply(req, socket, d.reply.status, d.reply.flag, d.reply.body, d.reply.headers);
      }
      if (d.delayMs !== undefined && d.delayMs > 0) {
        rh.deps.metrics.faultsInjected.labels('delay').inc();
        const next = i + 1;
        rh.clock.setTimeout(() => {
          if (!socket.destroyed) this.runFilters(req, ctx, socket, next, proceed);
        }, d.delayMs);
        return;
      }
    }
    proceed();
  }

  /** A local reply on a connection Node handed over raw (upgrade, CONNECT): written, closed, counted. */
  private rawReply(req: http.IncomingMessage, socket: net.Socket, status: number, flag: string, body = '', headers?: Readonly<Record<string, string>>): void {
    const rh = this.requests;
    const principal = rh.connectionOf(req).downstream.peerPrincipal ?? '';
    rh.stats.for('').record({
      protocol: 'http', code: status, flags: flag, grpcStatus: '-', peerPrincipal: principal, security: principal ? 'mutual_tls' : 'none',
      peer: null, peerKey: '', upstreamPrincipal: '', seconds: 0, requestBytes: 0, responseBytes: Buffer.byteLength(body),
    });
    socket.on('error', () => socket.destroy());
    let extra = body === '' ? '' : 'content-type: text/plain\r\n';
    if (headers) for (const k in headers) extra += `${k}: ${headers[k]}\r\n`;
    // A response to HEAD has no body (RFC 9110 §9.3.2): its length is announced, the bytes are not sent.
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\nserver: ${rh.config.serverName}\r\n${RESPONSE_FLAGS_HEADER}: ${flag}\r\n\r\n${req.method === 'HEAD' ? '' : body}`,
    );
  }
}
