// One upstream HTTP/1.1 connection: carries one request at a time, parses its response with one parser
// and one set of socket listeners (nothing per request), and tells its pool when it is free or gone.

import type * as net from 'node:net';
import type { Clock, Timer } from '../../src/clock/clock';
import { Http1ResponseParser, type ResponseSink } from './http1-response-parser';

/** The request currently driving a connection (an upstream attempt). */
export interface Http1ConnectionUser extends ResponseSink {
  /** The connection failed before the response ended (connect failure, reset, malformed response). */
  onConnectionError(kind: 'connect_failure' | 'connect_timeout' | 'reset' | 'protocol_error', err: Error): void;
}

/** What a connection tells the pool that opened it. */
export interface Http1ConnectionOwner {
  /** The exchange finished and the connection can carry another request. */
  release(c: Http1Connection): void;
  /** The socket closed. */
  onClosed(c: Http1Connection): void;
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
  private connectTimer: Timer | null = null;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Http1ConnectionOwner,
    secure: boolean,
    connectTimeoutMs: number,
    private readonly clock: Clock,
  ) {
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (err: Error) => {
      if (this.error === null) this.error = err;
    });
    socket.on('close', () => this.onClose());
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      if (this.connectTimer !== null) {
        clock.clearTimeout(this.connectTimer);
        this.connectTimer = null;
      }
    });
    if (connectTimeoutMs > 0) {
      this.connectTimer = clock.setTimeout(() => {
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
    if (this.connectTimer !== null) this.clock.clearTimeout(this.connectTimer);
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
