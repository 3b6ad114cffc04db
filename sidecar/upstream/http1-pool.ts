// The HTTP/1.1 pool for one endpoint: keep-alive connections reused last-in first-out, up to a connection
// limit beyond which requests wait; idle connections are swept; each open connection holds one unit of
// the cluster's max_connections.

import type * as net from 'node:net';
import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import type { ConnectionBreaker } from './upstream-connect';
import { Http1Connection, type Http1ConnectionOwner } from './http1-client';

/** A request waiting for a connection (the pool is at its connection limit). */
export interface Http1Waiter {
  onConnection(conn: Http1Connection): void;
}

export interface Http1PoolOptions {
  /** Connections this pool may open at once. */
  readonly maxConnections: number;
  /** Idle connections are closed after this long; 0 = never. */
  readonly idleTimeoutMs: number;
  /** A connection is closed after carrying this many requests (max_requests_per_connection); 0 = no limit. */
  readonly maxRequestsPerConnection?: number;
  readonly connectTimeoutMs: number;
  /** The cluster's circuit breaker: each open connection holds one of its `connections` units. */
  readonly breaker: ConnectionBreaker;
  /** Opens a TCP or TLS connection to the endpoint. */
  readonly connect: () => net.Socket;
  /** True for TLS: the connection is usable after 'secureConnect'. */
  readonly secure: boolean;
  /** Idle times, the idle sweep and connect timeouts (default systemClock). */
  readonly clock?: Clock;
}

/** Keep-alive connections to one endpoint, reused last-in first-out; waiters beyond the limit queue. */
export class Http1Pool implements Http1ConnectionOwner {
  private readonly idle: Http1Connection[] = [];
  private readonly all = new Set<Http1Connection>();
  private readonly waiters: Http1Waiter[] = [];
  private open = 0;
  private sweeper: Timer | null = null;
  private closed = false;
  private readonly clock: Clock;

  constructor(private readonly opts: Http1PoolOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** An idle or new connection, or null when the pool is at its limit (then `wait`). */
  acquire(): Http1Connection | null {
    const idle = this.idle;
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (!c.destroyed) {
        c.socket.ref();
        return c;
      }
    }
    if (this.open >= this.opts.maxConnections || this.closed) return null;
    return this.create();
  }

  wait(w: Http1Waiter): void {
    this.waiters.push(w);
  }

  cancelWait(w: Http1Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** A connection finished its exchange and can carry another request. */
  release(c: Http1Connection): void {
    const max = this.opts.maxRequestsPerConnection ?? 0;
    if (this.closed || (max > 0 && c.requests >= max)) {
      c.socket.destroy();
      return;
    }
    if (c.socket.isPaused()) c.socket.resume();
    const w = this.waiters.shift();
    if (w !== undefined) {
      w.onConnection(c);
      return;
    }
    c.idleSince = this.clock.now();
    // Like Node's agent: an idle keep-alive connection does not keep the process alive.
    c.socket.unref();
    this.idle.push(c);
    if (this.sweeper === null && this.opts.idleTimeoutMs > 0) this.startSweeper();
  }

  onClosed(c: Http1Connection): void {
    this.open--;
    this.opts.breaker.release('connections');
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    // A waiter gets a fresh connection in place of the one that went away.
    if (this.waiters.length > 0 && !this.closed && this.open < this.opts.maxConnections) {
      this.waiters.shift()!.onConnection(this.create());
    }
    if (this.open === 0 && this.sweeper !== null) {
      this.clock.clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private create(): Http1Connection {
    const o = this.opts;
    const socket = o.connect();
    this.open++;
    o.breaker.acquire('connections');
    const c = new Http1Connection(socket, this, o.secure, o.connectTimeoutMs, this.clock);
    this.all.add(c);
    return c;
  }

  private startSweeper(): void {
    const idleMs = this.opts.idleTimeoutMs;
    this.sweeper = this.clock
      .setInterval(() => {
        const cutoff = this.clock.now() - idleMs;
        for (const c of [...this.idle]) if (c.idleSince <= cutoff) c.socket.destroy();
      }, Math.min(Math.max(idleMs / 4, 100), 60_000))
      .unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweeper !== null) this.clock.clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of [...this.all]) c.socket.destroy();
    this.idle.length = 0;
    this.waiters.length = 0;
  }
}
