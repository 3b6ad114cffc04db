// A lean HTTP/1.1 keep-alive client for upstream requests: pooled connections with one set of socket
// listeners each, one response parser each, and no per-request timers or listeners.

import type * as net from 'node:net';
import { Http1ResponseParser, type ResponseSink } from './http1-response-parser';

/** The request currently driving a connection (an upstream attempt). */
export interface Http1ConnectionUser extends ResponseSink {
  /** The connection failed before the response ended (connect failure, reset, malformed response). */
  onConnectionError(kind: 'connect_failure' | 'connect_timeout' | 'reset' | 'protocol_error', err: Error): void;
}

/** A request waiting for a connection (the pool is at its connection limit). */
export interface Http1Waiter {
  onConnection(conn: Http1Connection): void;
}

/**
 * The cluster's circuit breaker as an upstream pool sees it: every connection the pool opens holds one
 * unit of its `connections` kind (max_connections) until it closes.
 */
export interface ConnectionBreaker {
  /** Below max_connections: one more connection would be admitted. */
  canAcquire(kind: 'connections'): boolean;
  /** Counts a connection the pool opens (admission decided by the pool). */
  acquire(kind: 'connections'): void;
  release(kind: 'connections'): void;
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
}

class ConnectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

function uncork(socket: net.Socket): void {
  socket.uncork();
}

export class Http1Connection implements ResponseSink {
  readonly parser = new Http1ResponseParser();
  connected = false;
  user: Http1ConnectionUser | null = null;
  /** The request was written completely (the connection can be reused after the response). */
  requestEnded = false;
  idleSince = 0;
  /** Requests this connection has carried. */
  requests = 0;
  private responseEnded = false;
  private error: Error | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Http1ConnectionPool,
    secure: boolean,
    connectTimeoutMs: number,
  ) {
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (err: Error) => {
      if (this.error === null) this.error = err;
    });
    socket.on('close', () => this.onClose());
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      if (this.connectTimer !== null) {
        clearTimeout(this.connectTimer);
        this.connectTimer = null;
      }
    });
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => {
        this.connectTimer = null;
        if (!this.connected) socket.destroy(new ConnectTimeoutError(`connect timeout after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
    }
  }

  get destroyed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /** Binds a request: its response goes to `user`. */
  begin(user: Http1ConnectionUser, headRequest: boolean): void {
    this.user = user;
    this.requests++;
    this.requestEnded = false;
    this.responseEnded = false;
    this.parser.start(this, headRequest);
  }

  /** Writes request bytes; several writes in one tick leave in one system call. */
  write(data: string | Buffer): void {
    const s = this.socket;
    if (s.writableCorked === 0) {
      s.cork();
      process.nextTick(uncork, s);
    }
    if (typeof data === 'string') s.write(data, 'latin1');
    else s.write(data);
  }

  /** The request's user gives the connection up mid-exchange: it cannot be reused. */
  abandon(): void {
    this.user = null;
    this.parser.detach();
    this.socket.destroy();
  }

  // ─── ResponseSink (from the parser), forwarded to the user ───

  onResponseHead(status: number, headers: Record<string, string | string[]>): void {
    this.user?.onResponseHead(status, headers);
  }

  onResponseBody(chunk: Buffer): void {
    this.user?.onResponseBody(chunk);
  }

  onResponseEnd(trailers: Record<string, string | string[]> | null): void {
    this.responseEnded = true;
    const u = this.user;
    this.user = null;
    u?.onResponseEnd(trailers);
  }

  private onData(b: Buffer): void {
    if (!this.parser.busy) {
      // Bytes nobody asked for (an idle connection, or a response after the last one): drop the connection.
      this.socket.destroy();
      return;
    }
    let used: number;
    try {
      used = this.parser.execute(b);
    } catch (err) {
      const u = this.user;
      this.user = null;
      this.parser.detach();
      this.socket.destroy();
      u?.onConnectionError('protocol_error', err as Error);
      return;
    }
    if (this.responseEnded) {
      this.responseEnded = false;
      const reusable = used === b.length && this.parser.keepAlive && this.requestEnded && !this.destroyed;
      if (!reusable) this.socket.destroy();
      else this.pool.release(this);
    }
  }

  private onClose(): void {
    this.closed = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    const u = this.user;
    this.user = null;
    this.pool.onClosed(this);
    if (u === null) return;
    if (this.connected && this.parser.readsUntilClose) {
      this.parser.finish();
      return;
    }
    this.parser.detach();
    const err = this.error ?? new Error(this.connected ? 'upstream connection closed before the response ended' : 'upstream connection failed');
    if (!this.connected) u.onConnectionError(err instanceof ConnectTimeoutError ? 'connect_timeout' : 'connect_failure', err);
    else u.onConnectionError('reset', err);
  }
}

/** Keep-alive connections to one endpoint, reused last-in first-out; waiters beyond the limit queue. */
export class Http1ConnectionPool {
  private readonly idle: Http1Connection[] = [];
  private readonly all = new Set<Http1Connection>();
  private readonly waiters: Http1Waiter[] = [];
  private open = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: Http1PoolOptions) {}

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
    c.idleSince = Date.now();
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
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private create(): Http1Connection {
    const o = this.opts;
    const socket = o.connect();
    this.open++;
    o.breaker.acquire('connections');
    const c = new Http1Connection(socket, this, o.secure, o.connectTimeoutMs);
    this.all.add(c);
    return c;
  }

  private startSweeper(): void {
    const idleMs = this.opts.idleTimeoutMs;
    this.sweeper = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const c of [...this.idle]) if (c.idleSince <= cutoff) c.socket.destroy();
    }, Math.min(Math.max(idleMs / 4, 100), 60_000));
    this.sweeper.unref();
  }

  close(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of [...this.all]) c.socket.destroy();
    this.idle.length = 0;
    this.waiters.length = 0;
  }
}
