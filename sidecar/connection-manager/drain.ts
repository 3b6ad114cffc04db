// Draining a connection manager's downstream connections: HTTP/2 sessions get GOAWAY (and are
// drained when idle for idle_timeout), HTTP/1.1 responses carry `Connection: close`, and idle
// HTTP/1.1 connections are closed after a grace period.

import * as http2 from 'node:http2';
import type * as http from 'node:http';
import type { HttpConnectionManagerConfig } from '../../src/config/types';
import type { Clock, Timer } from '../../src/clock/clock';
import type { H1Server } from './stream-state';

/** How long a draining connection manager leaves idle HTTP/1.1 connections open (see drain()). */
export const DRAIN_IDLE_GRACE_MS = 1_000;

export class Drainer {
  private draining = false;
  private readonly sessions = new Set<http2.Http2Session>();
  private idleCloseTimer: Timer | null = null;

  constructor(
    private readonly config: HttpConnectionManagerConfig,
    private readonly clock: Clock,
    private readonly h1: H1Server,
  ) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** A new HTTP/2 session: drained with the rest, drained alone when idle, closed at once while draining. */
  track(s: http2.Http2Session): void {
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    this.watchIdle(s);
    if (this.draining) s.close();
  }

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
    this.idleCloseTimer = this.clock.setTimeout(() => this.h1.closeIdleConnections(), DRAIN_IDLE_GRACE_MS);
    this.idleCloseTimer.unref();
  }

  /** Draining ends in a close: no timer left, every session destroyed. */
  close(): void {
    this.draining = true;
    this.clock.clearTimeout(this.idleCloseTimer);
    for (const s of this.sessions) s.destroy();
  }

  /**
   * HTTP/2 draining: one GOAWAY naming the last stream taken (session.close()), so the streams taken
   * finish and one the client sent after it is refused at once, provably unprocessed, for the client
   * to retry on a new connection. Envoy first sends a shutdown notice (last stream 2^31-1) and the
   * final GOAWAY drain_timeout later, but Node's HTTP/2 codec takes no new stream after any GOAWAY it
   * has sent: a stream racing the notice would hang until the final GOAWAY and only then be refused.
   * drain_timeout bounds the drain instead: a session still carrying streams that long after its
   * GOAWAY is closed with them.
   */
  private drainSession(s: http2.Http2Session): void {
    if (s.closed || s.destroyed) return;
    s.close();
    this.clock
      .setTimeout(() => {
        if (!s.destroyed) s.destroy();
      }, this.config.drainTimeoutMs)
      .unref();
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
}
