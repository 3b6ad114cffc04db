// The active health checker: probes each endpoint of a cluster over HTTP/1.1, HTTP/2, TCP or gRPC health.
//
// One session per endpoint runs probe → result → wait → probe. Decisions (thresholds, intervals, jitter) come
// from the pure HealthCheckStateMachine; this file only does I/O. A refused connection, a reset or a timeout
// is a failed check, never an unhandled error. `stop()` clears every timer and destroys every probe socket.
//
// Probe details (Envoy's behaviour):
// - HTTP: GET `path`, Host = configured host or the cluster name, user-agent Ferry-HealthChecker/1. A status in
//   expected_statuses (default [200, 201)) passes, one in retriable_statuses counts towards the threshold, any
//   other fails at once. reuse_connection keeps one keep-alive connection (HTTP/2: one session) per endpoint.
// - TCP: connect; with `send`, write it and wait until every `receive` block has arrived, in order. A connect-only
//   check closes the connection once connected.
// - gRPC: grpc.health.v1.Health/Check over HTTP/2 with HealthCheckRequest{service}; passes on
//   grpc-status 0 and status SERVING (1).

import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import * as http from 'node:http';
import * as https from 'node:https';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { tlsConnectOptions } from '../upstream/upstream-connect';
import type { WorkloadIdentity } from '../tls/workload-identity';
import type { HealthCheckConfig, SocketAddress, UpstreamTlsConfig } from '../../src/config/types';
import { HealthCheckStateMachine, HostHealthState, type HealthCheckResult } from './health-check-state';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, matchesInOrder } from './health-check-codec';

export const HEALTH_CHECK_USER_AGENT = 'Ferry-HealthChecker/1';

export interface HealthCheckTarget {
  readonly key: string;
  readonly address: SocketAddress;
  /** Endpoint health_check_config.port_value; null = the endpoint's own port. */
  readonly healthCheckPort: number | null;
}

export interface HealthCheckerOptions {
  readonly clusterName: string;
  readonly tls?: UpstreamTlsConfig | null;
  /** The workload identity, when the cluster's TLS names it (SDS `default` / `ROOTCA`). */
  readonly identity?: WorkloadIdentity | null;
  /** Called when a host becomes healthy or unhealthy (and, with `false`, when its first check fails). */
  onTransition(key: string, healthy: boolean): void;
  /** Whether the cluster has carried traffic recently (else no_traffic_interval applies). */
  hasTraffic(): boolean;
  readonly random: () => number;
  /** Check intervals and timeouts (default systemClock). */
  readonly clock?: Clock;
  /** Optional: every completed check, with the host's health after it (e.g. to un-eject outliers on a pass). */
  onCheck?(key: string, result: HealthCheckResult, healthy: boolean): void;
}

type Check = HealthCheckConfig['check'];

class Session {
  readonly state: HostHealthState;
  timer: Timer | null = null;
  probeTimer: Timer | null = null;
  /** Ends the probe in flight (destroying its socket/stream); null when none. */
  abortProbe: (() => void) | null = null;
  probeSeq = 0;
  agent: http.Agent | null = null;
  h2: http2.ClientHttp2Session | null = null;
  tcp: net.Socket | null = null;
  closed = false;

  constructor(
    readonly target: HealthCheckTarget,
    state: HostHealthState,
  ) {
    this.state = state;
  }

  get host(): string {
    return this.target.address.host;
  }

  get port(): number {
    return this.target.healthCheckPort ?? this.target.address.port;
  }

  destroyConnections(): void {
    this.agent?.destroy();
    this.agent = null;
    this.h2?.destroy();
    this.h2 = null;
    this.tcp?.destroy();
    this.tcp = null;
  }
}

export class HealthChecker {
  private readonly sm: HealthCheckStateMachine;
  private readonly sessions = new Map<string, Session>();
  private running = false;

  private readonly clock: Clock;

  constructor(
    readonly config: HealthCheckConfig,
    private readonly opts: HealthCheckerOptions,
  ) {
    this.sm = new HealthCheckStateMachine(config);
    this.clock = opts.clock ?? systemClock;
  }

  /** Replaces the probed endpoints; keeps the state of endpoints that stay. */
  setHosts(hosts: readonly HealthCheckTarget[]): void {
    const keep = new Set<string>();
    for (const t of hosts) {
      keep.add(t.key);
      const s = this.sessions.get(t.key);
      if (s !== undefined && s.host === t.address.host && s.port === (t.healthCheckPort ?? t.address.port)) continue;
      if (s !== undefined) this.close(s);
      const next = new Session(t, this.sm.newHost());
      this.sessions.set(t.key, next);
      if (this.running) this.schedule(next, this.sm.initialDelayMs(this.opts.random));
    }
    for (const [key, s] of this.sessions) {
      if (!keep.has(key)) {
        this.close(s);
        this.sessions.delete(key);
      }
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const s of this.sessions.values()) this.schedule(s, this.sm.initialDelayMs(this.opts.random));
  }

  stop(): void {
    this.running = false;
    for (const s of this.sessions.values()) {
      this.close(s);
      // A later start() probes again from the current state.
      s.closed = false;
    }
  }

  /** Current active health of a host: true healthy, false unhealthy (including pending its first check). */
  isHealthy(key: string): boolean {
    return this.sessions.get(key)?.state.healthy ?? false;
  }

  hostState(key: string): Readonly<HostHealthState> | null {
    return this.sessions.get(key)?.state ?? null;
  }

  // ───────────── scheduling ─────────────

  private close(s: Session): void {
    s.closed = true;
    s.probeSeq++;
    if (s.timer !== null) this.clock.clearTimeout(s.timer);
    if (s.probeTimer !== null) this.clock.clearTimeout(s.probeTimer);
    s.timer = s.probeTimer = null;
    const abort = s.abortProbe;
    s.abortProbe = null;
    abort?.();
    s.destroyConnections();
  }

  private schedule(s: Session, delayMs: number): void {
    if (s.timer !== null) this.clock.clearTimeout(s.timer);
    s.timer = this.clock.setTimeout(() => {
      s.timer = null;
      this.probe(s);
    }, delayMs);
    s.timer.unref();
  }

  private probe(s: Session): void {
    if (!this.running || s.closed) return;
    const seq = ++s.probeSeq;
    const finish = (result: HealthCheckResult): void => {
      if (seq !== s.probeSeq || s.closed) return;
      s.probeSeq++; // later callbacks of this probe are ignored
      if (s.probeTimer !== null) this.clock.clearTimeout(s.probeTimer);
      s.probeTimer = null;
      s.abortProbe = null;
      this.onResult(s, result);
    };
    s.probeTimer = this.clock.setTimeout(() => {
      s.probeTimer = null;
      const abort = s.abortProbe;
      finish('timeout');
      abort?.(); // Envoy closes the connection of a timed-out check
    }, this.config.timeoutMs);
    s.probeTimer.unref();
    const check = this.config.check;
    try {
      switch (check.kind) {
        case 'http':
          if (check.http2) this.probeHttp2(s, check, finish);
          else this.probeHttp1(s, check, finish);
          break;
        case 'tcp':
          this.probeTcp(s, check, finish);
          break;
        case 'grpc':
          this.probeGrpc(s, check, finish);
          break;
      }
    } catch {
      finish('network_fail');
    }
  }

  private onResult(s: Session, result: HealthCheckResult): void {
    const t = this.sm.record(s.state, result);
    if (t === 'became_healthy') this.opts.onTransition(s.target.key, true);
    else if (t === 'became_unhealthy' || t === 'confirmed_unhealthy') this.opts.onTransition(s.target.key, false);
    this.opts.onCheck?.(s.target.key, result, s.state.healthy);
    // A failed check, or any check without reuse_connection, starts the next probe on a fresh connection.
    if (result !== 'pass' || !this.config.reuseConnection) s.destroyConnections();
    if (this.running && !s.closed) this.schedule(s, this.sm.nextIntervalMs(s.state, this.opts.random, this.opts.hasTraffic()));
  }

  // ───────────── TLS ─────────────

  /**
   * The cluster's upstream TLS for a probe (the same options data connections use, workload identity
   * included); throws MissingIdentityError before the first workload certificate.
   */
  private tlsOptions(s: Session, alpn: string[]): tls.ConnectionOptions | null {
    const t = this.opts.tls;
    if (!t) return null;
    const o = tlsConnectOptions(t, { host: s.host, port: s.port }, this.opts.identity ?? null);
    // The probe's codec decides ALPN (an HTTP/1.1 check must not negotiate h2); TCP checks offer the cluster's.
    o.ALPNProtocols = alpn.length > 0 ? alpn : [...t.alpnProtocols];
    return o;
  }

  /** tlsOptions, or false after failing the probe (no workload certificate yet). */
  private tlsOrFail(s: Session, alpn: string[], finish: (r: HealthCheckResult) => void): tls.ConnectionOptions | null | false {
    try {
      return this.tlsOptions(s, alpn);
    } catch {
      finish('network_fail');
      return false;
    }
  }

  // ───────────── HTTP/1.1 ─────────────

  private probeHttp1(
    s: Session,
    check: Extract<Check, { kind: 'http' }>,
    finish: (r: HealthCheckResult) => void,
  ): void {
    const tlsOpts = this.tlsOrFail(s, ['http/1.1'], finish);
    if (tlsOpts === false) return;
    if (this.config.reuseConnection && s.agent === null) {
      s.agent = tlsOpts
        ? new https.Agent({ ...tlsOpts, keepAlive: true, maxSockets: 1 })
        : new http.Agent({ keepAlive: true, maxSockets: 1 });
    }
    const headers: http.OutgoingHttpHeaders = {
      host: check.host ?? defaultAuthority(this.opts.clusterName, s),
      'user-agent': HEALTH_CHECK_USER_AGENT,
    };
    if (!this.config.reuseConnection) headers.connection = 'close';
    addHeaders(headers, check.requestHeadersToAdd);
    const options: https.RequestOptions = {
      host: s.host,
      port: s.port,
      method: 'GET',
      path: check.path,
      headers,
      agent: s.agent ?? false,
      ...(tlsOpts ?? {}),
    };
    const req = (tlsOpts ? https : http).request(options, (res) => {
      const result = statusResult(res.statusCode ?? 0, check);
      res.on('error', () => finish('network_fail'));
      res.on('end', () => finish(result));
      res.on('aborted', () => finish('network_fail'));
      res.resume();
    });
    req.on('error', () => finish('network_fail'));
    s.abortProbe = () => req.destroy();
    req.end();
  }

  // ───────────── HTTP/2 and gRPC ─────────────

  private h2Session(s: Session): http2.ClientHttp2Session {
    const existing = s.h2;
    if (existing !== null && !existing.closed && !existing.destroyed) return existing;
    const tlsOpts = this.tlsOptions(s, ['h2']);
    const host = net.isIPv6(s.host) ? `[${s.host}]` : s.host;
    const session = tlsOpts
      ? http2.connect(`https://${host}:${s.port}`, tlsOpts as http2.SecureClientSessionOptions)
      : http2.connect(`http://${host}:${s.port}`);
    session.on('error', () => {
      if (s.h2 === session) s.h2 = null;
    });
    session.on('close', () => {
      if (s.h2 === session) s.h2 = null;
    });
    session.on('goaway', () => {
      if (s.h2 === session) s.h2 = null;
    });
    session.unref();
    s.h2 = session;
    return session;
  }

  private h2Request(
    s: Session,
    headers: http2.OutgoingHttpHeaders,
    finish: (r: HealthCheckResult) => void,
  ): http2.ClientHttp2Stream {
    const session = this.h2Session(s);
    const stream = session.request(headers);
    stream.on('error', () => finish('network_fail'));
    stream.on('close', () => {
      // A stream closed without a decided result (RST_STREAM, session died) is a network failure.
      finish('network_fail');
    });
    s.abortProbe = () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      if (!this.config.reuseConnection) session.destroy();
    };
    return stream;
  }

  private probeHttp2(
    s: Session,
    check: Extract<Check, { kind: 'http' }>,
    finish: (r: HealthCheckResult) => void,
  ): void {
    if (this.opts.tls && this.tlsOrFail(s, ['h2'], finish) === false) return;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'GET',
      ':path': check.path,
      ':authority': check.host ?? defaultAuthority(this.opts.clusterName, s),
      'user-agent': HEALTH_CHECK_USER_AGENT,
    };
    addHeaders(headers, check.requestHeadersToAdd);
    let result: HealthCheckResult = 'network_fail';
    const stream = this.h2Request(s, headers, (r) => finish(r === 'network_fail' ? result : r));
    stream.on('response', (h) => {
      result = statusResult(Number(h[':status']), check);
    });
    stream.on('end', () => finish(result));
    stream.resume();
    stream.end();
  }

  private probeGrpc(s: Session, check: Extract<Check, { kind: 'grpc' }>, finish: (r: HealthCheckResult) => void): void {
    if (this.opts.tls && this.tlsOrFail(s, ['h2'], finish) === false) return;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      ':authority': check.authority ?? defaultAuthority(this.opts.clusterName, s),
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': HEALTH_CHECK_USER_AGENT,
    };
    let httpStatus = 0;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    let decided: HealthCheckResult | null = null;
    const decide = (): HealthCheckResult => {
      if (httpStatus !== 200) return 'fail';
      if (grpcStatus !== '0') return 'fail';
      return decodeHealthCheckResponse(Buffer.concat(chunks)) === 1 ? 'pass' : 'fail';
    };
    const stream = this.h2Request(s, headers, (r) => finish(decided ?? r));
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      const g = h['grpc-status'];
      if (g !== undefined) grpcStatus = String(g); // trailers-only response
    });
    stream.on('trailers', (h) => {
      const g = h['grpc-status'];
      if (g !== undefined) grpcStatus = String(g);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      decided = decide();
      finish(decided);
    });
    stream.end(encodeHealthCheckRequest(check.serviceName));
  }

  // ───────────── TCP ─────────────

  private probeTcp(s: Session, check: Extract<Check, { kind: 'tcp' }>, finish: (r: HealthCheckResult) => void): void {
    let sock = s.tcp;
    const fresh = sock === null || sock.destroyed;
    if (fresh) {
      const tlsOpts = this.tlsOrFail(s, [], finish);
      if (tlsOpts === false) return;
      sock = tlsOpts
        ? tls.connect({ ...tlsOpts, host: s.host, port: s.port })
        : net.connect({ host: s.host, port: s.port });
      s.tcp = sock;
      const own = sock;
      own.on('error', () => {
        if (s.tcp === own) s.tcp = null;
      });
      own.on('close', () => {
        if (s.tcp === own) s.tcp = null;
      });
    }
    const socket = sock!;
    let received: Buffer = Buffer.alloc(0);
    const onError = (): void => finish('network_fail');
    const onClose = (): void => finish('network_fail');
    const onData = (d: Buffer): void => {
      received = received.length === 0 ? d : Buffer.concat([received, d]);
      if (matchesInOrder(received, check.receive)) {
        cleanup();
        if (!this.config.reuseConnection) destroy();
        finish('pass');
      }
    };
    const cleanup = (): void => {
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
    };
    const destroy = (): void => {
      cleanup();
      socket.destroy();
      if (s.tcp === socket) s.tcp = null;
    };
    socket.on('error', onError);
    socket.on('close', onClose);
    s.abortProbe = destroy;
    const onReady = (): void => {
      if (check.receive.length === 0) {
        // Connect-only (or send-only) check: connected is enough; close as Envoy does.
        if (check.send) socket.write(check.send);
        destroy();
        finish('pass');
        return;
      }
      socket.on('data', onData);
      if (check.send) socket.write(check.send);
    };
    if (fresh) socket.once(this.opts.tls ? 'secureConnect' : 'connect', onReady);
    else onReady();
  }
}

// ───────────── helpers ─────────────

/** RFC 3986 authority characters (reg-name, IP literal, port, userinfo), as nghttp2 checks them. */
const AUTHORITY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;

/**
 * Envoy's default Host / :authority of a check is the cluster's name. A name that is no valid
 * authority (a mesh's `outbound|8080||svc…`) would make a strict HTTP/2 server reset every check, and
 * the endpoint would stay unhealthy for a reason its app never saw: such a name gives way to the
 * endpoint's address.
 */
export function defaultAuthority(clusterName: string, endpoint: { readonly host: string; readonly port: number }): string {
  if (AUTHORITY_CHARS.test(clusterName)) return clusterName;
  return net.isIPv6(endpoint.host) ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

function statusResult(status: number, check: Extract<Check, { kind: 'http' }>): HealthCheckResult {
  if (inRanges(status, check.expectedStatuses)) return 'pass';
  if (inRanges(status, check.retriableStatuses)) return 'retriable_fail';
  return 'fail';
}

function inRanges(status: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [start, end] of ranges) if (status >= start && status < end) return true;
  return false;
}

function addHeaders(
  headers: Record<string, string | string[] | number | undefined>,
  add: Extract<Check, { kind: 'http' }>['requestHeadersToAdd'],
): void {
  for (const h of add) {
    const cur = headers[h.name];
    if (h.action === 'overwrite' || cur === undefined) headers[h.name] = h.value;
    else if (h.action === 'append') headers[h.name] = Array.isArray(cur) ? [...cur, h.value] : [String(cur), h.value];
  }
}
