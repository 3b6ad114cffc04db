// What the connection manager knows about one downstream connection, kept beside its socket (or its
// HTTP/2 session) in a table rather than stamped onto it.

import type { FilterDownstream } from '../filters/types';

/** What the listener knows about a connection when it hands it over. */
export interface ConnectionInfo {
  readonly downstream: FilterDownstream;
  /** TLS was terminated on it. */
  readonly secure: boolean;
  /** 'h2' when TLS negotiated it, or when the listener saw the HTTP/2 preface. */
  readonly protocolHint: 'h2' | 'http/1.1' | null;
}

export class DownstreamConnection implements ConnectionInfo {
  /**
   * HTTP/1.1: the connection takes no further request (a refused head, a parser error, bytes after
   * `Connection: close`); later parser errors on it are neither answered nor counted again.
   */
  noMoreRequests = false;

  constructor(
    readonly downstream: FilterDownstream,
    readonly secure: boolean,
    readonly protocolHint: 'h2' | 'http/1.1' | null,
  ) {}

  static of(info: ConnectionInfo): DownstreamConnection {
    return new DownstreamConnection(info.downstream, info.secure, info.protocolHint);
  }
}

const NO_PEER: FilterDownstream = Object.freeze({ remoteAddress: '', remotePort: 0, localAddress: '', localPort: 0, peerPrincipal: null });

/**
 * The connections of one connection manager: HTTP/1.1 ones by their socket, HTTP/2 ones by their
 * session (node:http2 shows requests only a stand-in for the socket). Weak: an entry goes with its key.
 */
export class ConnectionTable {
  private readonly byKey = new WeakMap<object, DownstreamConnection>();

  set(key: object, conn: DownstreamConnection): void {
    this.byKey.set(key, conn);
  }

  /** The connection of a socket or session; one that came in some other way is an unknown, plaintext peer. */
  of(key: object): DownstreamConnection {
    let conn = this.byKey.get(key);
    if (conn === undefined) {
      conn = new DownstreamConnection(NO_PEER, false, null);
      this.byKey.set(key, conn);
    }
    return conn;
  }
}
