// A raw HTTP/1.1 client for conformance tests: writes exact bytes, reads back every response and whether the server closed.

import * as net from 'node:net';
import * as tls from 'node:tls';

export interface RawResponse {
  readonly status: number;
  /** Header lines, names lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface RawExchange {
  /** Every response in order, 1xx included. */
  readonly responses: readonly RawResponse[];
  /** The server closed (or reset) the connection before the wait ended. */
  readonly closed: boolean;
  /** Bytes after the last complete response that do not make one. */
  readonly trailing: string;
}

/** A part sent once `afterResponses` responses (1xx included) have arrived, or after `orAfterMs`. */
export interface LaterPart {
  readonly afterResponses: number;
  readonly orAfterMs: number;
  readonly data: string;
}

export interface RawSendOptions {
  /** Stop waiting once this many final (non-1xx) responses have arrived and the line is quiet. */
  readonly finals?: number;
  /** Methods of the requests in order, so a HEAD response is read without a body. */
  readonly methods?: readonly string[];
  /** Longest wait for anything (ms). */
  readonly timeoutMs?: number;
  /** How long the line must be quiet after the last expected response (ms). */
  readonly settleMs?: number;
  /** Speak TLS (these options, e.g. ALPN and the CA) instead of plain TCP. */
  readonly tls?: tls.ConnectionOptions;
}

export function header(r: RawResponse, name: string): string | undefined {
  return r.headers.find(([n]) => n === name)?.[1];
}

/** Parses as many whole responses as `buf` holds. */
function parseResponses(buf: Buffer, methods: readonly string[], closed: boolean): { responses: RawResponse[]; rest: Buffer } {
  const out: RawResponse[] = [];
  let at = 0;
  let finals = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) break;
    const status = Number(m[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
    });
    let bodyStart = end + 4;
    let body = '';
    const informational = status >= 100 && status < 200;
    const head = (methods[finals] ?? 'GET') === 'HEAD';
    if (!informational && !head && status !== 204 && status !== 304) {
      const cl = headers.find(([n]) => n === 'content-length')?.[1];
      const te = headers.find(([n]) => n === 'transfer-encoding')?.[1];
      if (te !== undefined && /chunked/i.test(te)) {
        const parts: Buffer[] = [];
        let p = bodyStart;
        let done = false;
        for (;;) {
          const eol = buf.indexOf('\r\n', p);
          if (eol < 0) break;
          const size = parseInt(buf.subarray(p, eol).toString('latin1'), 16);
          p = eol + 2;
          if (size === 0) {
            const tEnd = buf.indexOf('\r\n\r\n', p - 2);
            if (tEnd < 0) break;
            p = tEnd + 4;
            done = true;
            break;
          }
          if (buf.length < p + size + 2) break;
          parts.push(buf.subarray(p, p + size));
          p += size + 2;
        }
        if (!done) break;
        body = Buffer.concat(parts).toString('latin1');
        bodyStart = p;
      } else if (cl !== undefined) {
        const n = Number(cl);
        if (buf.length < bodyStart + n) break;
        body = buf.subarray(bodyStart, bodyStart + n).toString('latin1');
        bodyStart += n;
      } else {
        if (!closed) break; // read until close
        body = buf.subarray(bodyStart).toString('latin1');
        bodyStart = buf.length;
      }
    }
    out.push({ status, headers, body });
    if (!informational) finals++;
    at = bodyStart;
  }
  return { responses: out, rest: buf.subarray(at) };
}

/** Connects to 127.0.0.1:port, writes each part in order, and reads until done (see RawSendOptions). */
export function rawExchange(port: number, parts: readonly (string | Buffer | LaterPart)[], o: RawSendOptions = {}): Promise<RawExchange> {
  const finals = o.finals ?? 1;
  const timeoutMs = o.timeoutMs ?? 2_000;
  const settleMs = o.settleMs ?? 100;
  const methods = o.methods ?? [];
  return new Promise((resolve) => {
    const socket = o.tls ? tls.connect({ ...o.tls, port, host: '127.0.0.1' }) : net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let closed = false;
    let settle: NodeJS.Timeout | null = null;
    const finish = (): void => {
      clearTimeout(overall);
      if (settle) clearTimeout(settle);
      if (waitTimer) clearTimeout(waitTimer);
      socket.destroy();
      const { responses, rest } = parseResponses(buf, methods, closed);
      resolve({ responses, closed, trailing: rest.toString('latin1') });
    };
    const overall = setTimeout(finish, timeoutMs);
    let next = 0;
    let waitTimer: NodeJS.Timeout | null = null;
    const sendFrom = (seen: number): void => {
      while (next < parts.length && !closed) {
        const p = parts[next];
        if (typeof p === 'string' || Buffer.isBuffer(p)) {
          socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
          next++;
          continue;
        }
        if (seen < p.afterResponses) {
          if (waitTimer === null) {
            const at = next;
            waitTimer = setTimeout(() => {
              waitTimer = null;
              if (next === at) {
                socket.write(Buffer.from(p.data, 'latin1'));
                next++;
                sendFrom(Infinity);
              }
            }, p.orAfterMs);
          }
          return;
        }
        if (waitTimer !== null) clearTimeout(waitTimer);
        waitTimer = null;
        socket.write(Buffer.from(p.data, 'latin1'));
        next++;
      }
    };
    const check = (): void => {
      if (closed) return finish();
      const { responses } = parseResponses(buf, methods, false);
      sendFrom(responses.length);
      if (next === parts.length && responses.filter((r) => r.status >= 200).length >= finals) {
        if (settle) clearTimeout(settle);
        settle = setTimeout(finish, settleMs);
      }
    };
    socket.on(o.tls ? 'secureConnect' : 'connect', () => sendFrom(0));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      check();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      check();
    });
  });
}
