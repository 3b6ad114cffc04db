// The load client's optional "retry on a fresh connection": which failed attempts a well-behaved HTTP client repeats, and when.
//
// Only an attempt that provably was not processed is repeated, never one the server may have acted on:
//   - `connect refused`: ECONNREFUSED, the connection never opened, nothing was sent (any method);
//     undici's retry handler and gRPC's transparent retry repeat these.
//   - `reused connection closed`: the attempt went out on a kept-alive connection that then closed
//     (ECONNRESET, Node's "socket hang up") before one byte of the response arrived, and the method
//     is idempotent: the keep-alive race of RFC 9110 §9.2.2, which Go's net/http repeats the same way
//     (a reused connection, nothing read, an idempotent request) and Node documents for
//     `request.reusedSocket`. A server closing a kept-alive connection cannot have answered on it.
// Everything else is final: a timeout, a reset on a fresh connection or after response bytes, any
// HTTP status. A refused stream beyond an HTTP/2 GOAWAY's last stream ID is the same rule for HTTP/2
// clients (the sidecars' own pools); this client speaks HTTP/1.1, where `connection: close` on the
// last response already keeps it off a closing connection.
// Pure: the attempt's facts in, the reason (or null) out; the back-off is a function of the attempt.

export type FreshRetryReason = 'connect refused' | 'reused connection closed';

export interface FailedAttempt {
  /** The socket error code (ECONNREFUSED, ECONNRESET, …). */
  readonly code: string;
  readonly method: string;
  /** The attempt went out on a connection an earlier request had used (Node's `request.reusedSocket`). */
  readonly reusedConnection: boolean;
  /** Bytes the connection received after the attempt was written on it (0: no byte of a response). */
  readonly responseBytes: number;
}

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Why the attempt may be repeated on a fresh connection, or null when it must not be. */
export function freshRetryReason(a: FailedAttempt): FreshRetryReason | null {
  if (a.code === 'ECONNREFUSED') return 'connect refused';
  if (a.code === 'ECONNRESET' && a.reusedConnection && a.responseBytes === 0 && IDEMPOTENT.has(a.method)) return 'reused connection closed';
  return null;
}

/**
 * The wait before retry number `n` (1-based): a closed reused connection is retried at once (the
 * server is up, only that connection went); a refused connect backs off 25 ms doubling to 400 ms,
 * jittered to between half and all of that (`random` in [0, 1)), so a restarting server is polled,
 * not flooded, and the requests that waited for it do not all come back in the same instant.
 */
export function freshRetryDelayMs(reason: FreshRetryReason, n: number, random: () => number): number {
  if (!(n >= 1)) throw new RangeError(`retry number must be ≥ 1, got ${n}`);
  if (reason === 'reused connection closed') return 0;
  const ceiling = Math.min(400, 25 * 2 ** (n - 1));
  return ceiling / 2 + (ceiling / 2) * random();
}
