// The load client's HTTP/2 requests over plaintext with prior knowledge (h2c): every request a stream on one shared connection.
//
// As HTTP/2 clients do, requests share one session; once it ends (GOAWAY, reset, error) the next
// request opens a new one. A stream's end is recorded as its status and response flag; a reset
// stream as `RST <code>` (REFUSED_STREAM, CANCEL, …) and a session error as its code, so a GOAWAY
// that cut streams shows as such, not as a generic error.

import * as http2 from 'node:http2';
import type { Exchange, Exchanger } from './exchange';
import { failed, flagOf } from './exchange';

export interface H2cOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly body: Buffer;
}

/** HTTP/2's error codes (RFC 9113 §7), by number. */
const H2_ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** The name of an RST_STREAM or GOAWAY error code (`REFUSED_STREAM`), or its number when unknown. */
export function h2ErrorName(code: number): string {
  return H2_ERRORS[code] ?? String(code);
}

export function h2cExchanger(o: H2cOptions): Exchanger {
  const authority = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
  const headers: http2.OutgoingHttpHeaders = { ':method': o.method, ':path': o.path };
  if (o.body.length > 0 || o.method === 'POST') headers['content-length'] = String(o.body.length);
  if (o.body.length > 0) headers['content-type'] = 'application/octet-stream';
  let session: http2.ClientHttp2Session | null = null;
  const sessions = new Set<http2.ClientHttp2Session>();

  const usable = (): http2.ClientHttp2Session => {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(authority);
    sessions.add(s);
    // A session that goes away is not reused; its open streams end with their own errors.
    const drop = (): void => {
      if (session === s) session = null;
    };
    s.on('goaway', drop);
    s.on('error', drop);
    s.on('close', () => {
      drop();
      sessions.delete(s);
    });
    session = s;
    return s;
  };

  return {
    send(x: Exchange) {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = usable().request(headers, { endStream: o.body.length === 0 });
      } catch (err) {
        // A session closing under us refuses new streams synchronously: a fresh one takes the next request.
        session = null;
        x.settle(failed((err as NodeJS.ErrnoException).code ?? 'ERR_HTTP2_REQUEST'));
        return () => undefined;
      }
      let status = 0;
      let flag = '';
      stream.once('response', (h) => {
        status = Number(h[':status'] ?? 0);
        flag = flagOf(h);
      });
      stream.resume();
      let ended = false;
      stream.once('end', () => (ended = true));
      // Decided at close, not at the body's end: node:http2 ends the body of a stream whose connection
      // was cut mid-answer as if it were complete, and only the stream's reset code tells (a body that
      // differs from its content-length it resets with PROTOCOL_ERROR itself). A server's reset with
      // NO_ERROR and no content-length cannot be told from a whole answer.
      stream.once('close', () => {
        if (status && ended && !stream.rstCode) return x.settle({ status, flag, error: '' });
        x.settle(failed(stream.rstCode ? `RST ${h2ErrorName(stream.rstCode)}` : 'ERR_HTTP2_STREAM_CLOSED', flag));
      });
      stream.once('error', (err: NodeJS.ErrnoException) => {
        // A reset from the peer is told by its code; a session's failure (ECONNREFUSED, GOAWAY, …) by the session's error.
        const reset = err.code === 'ERR_HTTP2_STREAM_ERROR' && stream.rstCode;
        const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code;
        x.settle(failed(reset ? `RST ${h2ErrorName(stream.rstCode)}` : cause ?? err.code ?? 'ERR_HTTP2_STREAM_ERROR', flag));
      });
      if (o.body.length > 0) stream.end(o.body);
      return () => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
    },
    close() {
      for (const s of sessions) s.destroy();
    },
  };
}
