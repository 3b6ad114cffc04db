// A minimal gRPC client stream over node:http2 for the xDS simulator: one session, one call, length-prefixed messages, status from trailers.
//
// The simulator holds 250 such calls per process, four processes on one core, where real sidecars each
// have their own CPU: a grpc-js client channel (call stack, filters, channel state, protobufjs decoding)
// costs about twice as much CPU per received message and ACK, which would land in the measured time.
// This client does only what an ADS stream needs: a POST with `content-type: application/grpc` and
// `te: trailers`; messages framed as 1 byte compressed flag (0), 4-byte big-endian length, the bytes;
// the call's outcome from `grpc-status` in the trailers (or in the headers of a trailers-only
// response). No compression, deadlines, retries, keepalive or name resolution.

import http2 from 'node:http2';
import net from 'node:net';
import { FerryError } from '../src/errors';

/** gRPC status UNIMPLEMENTED: the server has no such method. */
export const GRPC_UNIMPLEMENTED = 12;

const HEADER_BYTES = 5;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Per-stream receive window: an initial CDS/LDS response of ~1,000 services arrives without waiting for WINDOW_UPDATEs. */
const WINDOW_BYTES = 4 * 1024 * 1024;

/** The call ended with a non-zero grpc-status; `status` is the code, `details` the decoded grpc-message. */
export class GrpcStatusError extends FerryError {
  constructor(readonly status: number, readonly details: string) {
    super('FERRY_ERR_BENCH_GRPC_STATUS', `grpc-status ${status}${details ? `: ${details}` : ''}`);
  }
}

/** The stream broke below gRPC: HTTP status, framing, the connection, or an end without grpc-status. */
export class GrpcTransportError extends FerryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_BENCH_GRPC_TRANSPORT', message, options);
  }
}

/** One message as sent: flag 0, big-endian length, the bytes. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, HEADER_BYTES);
  return out;
}

/**
 * Splits received DATA chunks into gRPC messages, whatever the chunk boundaries: a message may span
 * chunks, a chunk may hold several. A message that arrives inside one chunk is a view of that chunk
 * (not copied); one that spans chunks is copied once, when complete.
 */
export class GrpcMessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the pending ones can yield something: a header, then header + message. */
  private needed = HEADER_BYTES;

  constructor(private readonly onMessage: (message: Buffer) => void, private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** Bytes received but not yet part of a whole message. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Takes one chunk; calls onMessage for each message it completes, in order. Throws GrpcTransportError on a bad frame. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let pos = 0;
    while (buf.length - pos >= HEADER_BYTES) {
      const flag = buf[pos]!;
      const len = buf.readUInt32BE(pos + 1);
      if (flag !== 0) throw new GrpcTransportError(`received a message with compressed flag ${flag}; this client asks for no compression`);
      if (len > this.maxMessageBytes) throw new GrpcTransportError(`received a message of ${len} bytes, over the ${this.maxMessageBytes}-byte limit`);
      if (buf.length - pos - HEADER_BYTES < len) break;
      this.onMessage(buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len));
      pos += HEADER_BYTES + len;
    }
    if (pos < buf.length) {
      const rest = buf.subarray(pos);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      this.needed = rest.length >= HEADER_BYTES ? HEADER_BYTES + rest.readUInt32BE(1) : HEADER_BYTES;
    } else {
      this.needed = HEADER_BYTES;
    }
  }
}

export interface GrpcStreamHandlers {
  /** One received message; a view of the received bytes. */
  onMessage(message: Buffer): void;
  /**
   * The call failed: GrpcStatusError for a non-zero grpc-status, GrpcTransportError otherwise. Called at
   * most once, never after close(); the session is closed afterwards.
   */
  onError(err: Error): void;
  /** The server ended the call with grpc-status 0. */
  onEnd?(): void;
}

export interface GrpcStreamOptions {
  /** Largest message accepted (default 64 MiB). */
  readonly maxMessageBytes?: number;
}

/**
 * A bidirectional gRPC call on its own HTTP/2 connection (as a separate pod would have): write()
 * sends a message, received messages go to the handlers. `target` is host:port, plain text.
 */
export class GrpcH2Stream {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly reader: GrpcMessageReader;
  private readonly sessionClosed: Promise<void>;
  /** The call's outcome from grpc-status, acted on once the server's side has ended and all its data is delivered. */
  private outcome: Error | 'ok' | null = null;
  /** Ended, failed or closed: nothing more reaches the handlers. */
  private finished = false;

  constructor(target: string, path: string, private readonly handlers: GrpcStreamHandlers, options: GrpcStreamOptions = {}) {
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new GrpcTransportError(`target "${target}": want host:port`);
    this.reader = new GrpcMessageReader((m) => {
      if (!this.finished) this.handlers.onMessage(m);
    }, options.maxMessageBytes);
    this.session = http2.connect(`http://${target}`, {
      // Each response is answered by a small ACK: without TCP_NODELAY it could wait for the peer's delayed ACK.
      createConnection: () => net.connect({ host, port, noDelay: true }),
      settings: { enablePush: false, initialWindowSize: WINDOW_BYTES },
    });
    this.sessionClosed = new Promise((resolve) => this.session.once('close', resolve));
    this.session.on('error', (err) => this.fail(new GrpcTransportError(`connection to ${target}: ${err.message}`, { cause: err })));
    this.session.on('connect', () => this.session.setLocalWindowSize(WINDOW_BYTES));

    this.stream = this.session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    this.stream.on('response', (headers) => this.onHeaders(headers));
    this.stream.on('trailers', (trailers) => {
      this.outcome = statusOf(trailers);
    });
    this.stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.fail(err instanceof Error ? err : new GrpcTransportError(String(err)));
      }
    });
    this.stream.on('error', (err) => this.fail(new GrpcTransportError(`${path} on ${target}: ${err.message}`, { cause: err })));
    // 'end': the server's side is done and all its data delivered (our side may still be open); 'close': both, or a reset.
    this.stream.on('end', () => this.settle(`${path} on ${target}`));
    this.stream.on('close', () => this.settle(`${path} on ${target}`));
  }

  /** Sends one message; false when HTTP/2 flow control is holding it (it is still queued). */
  write(message: Uint8Array): boolean {
    if (this.finished || this.stream.destroyed) return false;
    return this.stream.write(frameMessage(message));
  }

  /** Cancels the call if still open (RST_STREAM CANCEL) and closes the connection; resolves once it is closed. */
  close(): Promise<void> {
    this.finished = true;
    if (!this.stream.closed && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    if (!this.session.closed && !this.session.destroyed) this.session.close();
    return this.sessionClosed;
  }

  private onHeaders(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    const status = headers[':status'];
    if (status !== 200) {
      this.fail(new GrpcTransportError(`HTTP status ${status ?? '(none)'}, want 200`));
      return;
    }
    const contentType = String(headers['content-type'] ?? '');
    if (!contentType.startsWith('application/grpc')) {
      this.fail(new GrpcTransportError(`content-type "${contentType}", want application/grpc`));
      return;
    }
    if (headers['grpc-status'] !== undefined) this.outcome = statusOf(headers); // a trailers-only response
  }

  private settle(call: string): void {
    if (this.finished) return;
    const outcome = this.outcome;
    if (outcome === 'ok') {
      this.finished = true;
      this.handlers.onEnd?.();
      void this.close();
      return;
    }
    const code = this.stream.rstCode;
    this.fail(outcome ?? new GrpcTransportError(`${call}: stream closed without grpc-status${code ? ` (RST_STREAM code ${code})` : ''}`));
  }

  private fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.handlers.onError(err);
    void this.close();
  }
}

/** 'ok', or the error a trailer block's grpc-status stands for. */
function statusOf(trailers: http2.IncomingHttpHeaders): Error | 'ok' {
  const raw = trailers['grpc-status'];
  const status = Number(raw);
  if (raw === undefined || raw === '' || !Number.isInteger(status)) return new GrpcTransportError(`trailers without a valid grpc-status (${String(raw)})`);
  return status === 0 ? 'ok' : new GrpcStatusError(status, decodeGrpcMessage(trailers['grpc-message']));
}

/** grpc-message is percent-encoded; a malformed one is shown as received. */
function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const s = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
