// The HTTP/2 abuse guard of a connection manager: per downstream session, an early-reset budget, and a liveness probe.
//
// A client that opens streams and resets them before their response (rapid reset) is closed with
// GOAWAY (ENHANCE_YOUR_CALM) once its budget is spent. On a connection that has not yet had a
// response complete, or while its client is in debt, new requests wait one turn of the event loop
// before they are routed, so a reset that arrived in the same read cancels them before any upstream
// request starts. A session that stopped answering PING
// (Node leaves a session its HTTP/2 library shut down without destroying it) is destroyed, so its
// socket is released. See docs/decisions/0013-http2-abuse-limits.md.

import type { Clock, Timer } from '../../src/clock/clock';
import * as http2 from 'node:http2';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { Logger } from '../../src/observability/logger';
import { FerryError } from '../../src/errors';
import { DEFAULT_RESET_BUDGET, ResetBudget, type ResetBudgetConfig } from './reset-budget';

export type AbuseReason = 'early_resets' | 'unresponsive';

/** Why the proxy destroyed a downstream HTTP/2 session (the session's 'error'). */
export class AbusiveConnectionError extends FerryError {
  constructor(readonly reason: AbuseReason) {
    super('FERRY_ERR_H2_ABUSE', `HTTP/2 connection closed by the proxy: ${reason}`);
  }
}

export interface H2AbuseGuardDeps {
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  /** Reset-budget refills and the probe interval. */
  readonly clock: Clock;
  readonly listenerName: string;
  readonly resetBudget?: ResetBudgetConfig;
  /** How often quiet sessions are probed with a PING; one left unanswered until the next probe closes its session. */
  readonly probeIntervalMs?: number;
}

/** Sessions with no stream opened or closed for this long are sent a PING. */
export const DEFAULT_PROBE_INTERVAL_MS = 10_000;

/** One downstream HTTP/2 session's accounting. */
export class H2SessionGuard {
  private readonly budget: ResetBudget;
  private earlyResets = 0;
  private streams = 0;
  /** Streams whose response completed: until one has, the client has not shown it waits for answers. */
  private completed = 0;
  /** Streams opened or closed since the last probe round. */
  private activity = 0;
  private pingOutstanding = false;
  private closed = false;

  constructor(
    private readonly session: http2.ServerHttp2Session,
    private readonly owner: H2AbuseGuard,
    private readonly remote: string,
  ) {
    this.budget = new ResetBudget(owner.resetBudget, owner.deps.clock.now());
  }

  /** A stream was opened by the client (before the request is handed to the connection manager). */
  onStream(): void {
    this.streams++;
    this.activity++;
  }

  /** A request's stream closed; `early` when the client reset it before its response completed. */
  onStreamClosed(early: boolean): void {
    this.activity++;
    if (!early) {
      this.completed++;
      return;
    }
    // Streams closed because the whole connection went away are not the client's resets.
    if (this.closed || this.session.destroyed) return;
    this.earlyResets++;
    if (!this.budget.onEarlyReset(this.owner.deps.clock.now())) this.close('early_resets');
  }

  /**
   * True while no response on this connection has completed yet, or while the client owes early
   * resets: a new request then waits a turn of the event loop before it is routed.
   */
  deferDispatch(): boolean {
    if (this.completed === 0) return true;
    return this.earlyResets > 0 && this.budget.suspicious(this.owner.deps.clock.now());
  }

  /** @internal one probe round (see H2AbuseGuard). */
  probe(): void {
    if (this.closed || this.session.destroyed) return;
    if (this.activity > 0) {
      // Streams come and go: the session is alive.
      this.activity = 0;
      this.pingOutstanding = false;
      return;
    }
    if (this.pingOutstanding) return this.close('unresponsive');
    this.pingOutstanding = true;
    try {
      this.session.ping((err) => {
        if (!err) this.pingOutstanding = false;
      });
    } catch {
      // The session is closing; the next round finds it destroyed.
    }
  }

  private close(reason: AbuseReason): void {
    if (this.closed) return;
    this.closed = true;
    const deps = this.owner.deps;
    deps.metrics.downstreamAbuseClosed.labels(deps.listenerName, reason).inc();
    deps.logger.warn('closing an abusive HTTP/2 connection', {
      listener: deps.listenerName,
      reason,
      remote: this.remote,
      streams: this.streams,
      early_resets: this.earlyResets,
    });
    // GOAWAY with ENHANCE_YOUR_CALM, then the session's streams are cancelled and the socket closed
    // (the session emits the error, which the connection manager's session listener absorbs).
    this.session.destroy(new AbusiveConnectionError(reason), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

/** The guards of one connection manager's HTTP/2 sessions, and the timer that probes them. */
export class H2AbuseGuard {
  readonly resetBudget: ResetBudgetConfig;
  private readonly sessions = new Map<http2.Http2Session, H2SessionGuard>();
  /** Each stream's guard: a stream reset early may be destroyed (and have lost its session) before its request is seen. */
  private readonly streams = new WeakMap<http2.Http2Stream, H2SessionGuard>();
  private timer: Timer | null = null;
  private readonly probeIntervalMs: number;

  constructor(readonly deps: H2AbuseGuardDeps) {
    this.resetBudget = deps.resetBudget ?? DEFAULT_RESET_BUDGET;
    this.probeIntervalMs = deps.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  }

  /** Starts guarding a new server session; forgotten when it closes. */
  attach(session: http2.ServerHttp2Session, remote: string): H2SessionGuard {
    const g = new H2SessionGuard(session, this, remote);
    this.sessions.set(session, g);
    // Ahead of the compatibility layer's listener, which turns the stream into a request.
    session.prependListener('stream', (stream: http2.ServerHttp2Stream) => {
      this.streams.set(stream, g);
      g.onStream();
    });
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.stopTimer();
    });
    if (this.timer === null) {
      this.timer = this.deps.clock.setInterval(() => this.probeAll(), this.probeIntervalMs);
      this.timer.unref();
    }
    return g;
  }

  /** The guard of a stream's session, or null for a stream this connection manager does not know. */
  of(stream: http2.Http2Stream | undefined): H2SessionGuard | null {
    return stream === undefined ? null : (this.streams.get(stream) ?? null);
  }

  get size(): number {
    return this.sessions.size;
  }

  private probeAll(): void {
    for (const g of this.sessions.values()) g.probe();
  }

  private stopTimer(): void {
    if (this.timer !== null) this.deps.clock.clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stopTimer();
    this.sessions.clear();
  }
}
