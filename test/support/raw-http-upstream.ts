// A raw-TCP HTTP/1.1 upstream for conformance tests: records every byte, frames requests strictly, answers fixed replies.
//
// It is deliberately stricter than any real server: a request it accepts is one a careful reader of
// RFC 9112 would call well-formed (CRLF only, token names, no folding, one Content-Length of digits
// or `Transfer-Encoding: chunked` alone, plain hex chunk sizes). Anything else is recorded as a
// violation, so a proxy that forwards odd framing, or lets a second request ride inside the first
// one's body, shows up as a violation or as one request too many.

import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

/** One request the upstream framed. */
export interface UpstreamRequest {
  readonly method: string;
  readonly target: string;
  /** Header lines as received: [name, value] with the name lower-cased. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  readonly trailers: readonly (readonly [string, string])[];
  /** The exact bytes of this request on the wire. */
  readonly raw: Buffer;
  readonly connection: number;
}

/** What the upstream saw since the last `take()`. */
export interface UpstreamRecord {
  readonly requests: readonly UpstreamRequest[];
  /** Bytes that are not a well-formed request, with the reason (the connection is closed then). */
  readonly violations: readonly string[];
  /** Connections that ended (or are still open) in the middle of a request: their pending bytes. */
  readonly partial: readonly { readonly connection: number; readonly bytes: number; readonly closed: boolean }[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.1$/;
const MAX_HEAD = 256 * 1024;

/** The replies, chosen by the request target's path. */
export const UPSTREAM_BODY = 'ok';
const OK = `HTTP/1.1 200 OK\r\ncontent-length: ${UPSTREAM_BODY.length}\r\nx-upstream: raw\r\n\r\n${UPSTREAM_BODY}`;
const OK_NO_BODY = `HTTP/1.1 200 OK\r\ncontent-length: ${UPSTREAM_BODY.length}\r\nx-upstream: raw\r\n\r\n`;
const REPLIES: Record<string, string> = {
  '/informational/100': `HTTP/1.1 100 Continue\r\n\r\n${OK}`,
  '/informational/103': `HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n${OK}`,
};

interface Conn {
  readonly id: number;
  readonly socket: net.Socket;
  buf: Buffer;
  closed: boolean;
  broken: boolean;
}

type Framed = { kind: 'need' } | { kind: 'bad'; reason: string } | { kind: 'request'; request: Omit<UpstreamRequest, 'connection'>; used: number };

function splitHeaderLine(line: string): [string, string] | string {
  const colon = line.indexOf(':');
  if (colon <= 0) return `header line without a name and colon: ${JSON.stringify(line.slice(0, 60))}`;
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return `header name is not a token: ${JSON.stringify(name.slice(0, 60))}`;
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  if (!FIELD_VALUE.test(value)) return `header ${name} has a control character in its value`;
  return [name.toLowerCase(), value];
}

/** Frames one request at the start of `buf`, strictly. */
function frame(buf: Buffer): Framed {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD) return { kind: 'bad', reason: 'request head over 256 KiB' };
    return { kind: 'need' };
  }
  const headText = buf.subarray(0, end).toString('latin1');
  const lines = headText.split('\r\n');
  for (const l of lines) if (l.includes('\r') || l.includes('\n')) return { kind: 'bad', reason: `bare CR or LF in the head: ${JSON.stringify(l.slice(0, 60))}` };
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m) return { kind: 'bad', reason: `not an HTTP/1.1 request line: ${JSON.stringify(lines[0].slice(0, 80))}` };
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    if (l.startsWith(' ') || l.startsWith('\t')) return { kind: 'bad', reason: 'obs-fold (a header line starting with whitespace)' };
    const h = splitHeaderLine(l);
    if (typeof h === 'string') return { kind: 'bad', reason: h };
    headers.push(h);
  }
  const hosts = headers.filter(([n]) => n === 'host');
  if (hosts.length !== 1) return { kind: 'bad', reason: `${hosts.length} Host header lines (exactly one is required)` };
  const cls = headers.filter(([n]) => n === 'content-length');
  const tes = headers.filter(([n]) => n === 'transfer-encoding');
  let at = end + 4;
  let body = Buffer.alloc(0);
  const trailers: [string, string][] = [];
  if (tes.length > 0) {
    if (cls.length > 0) return { kind: 'bad', reason: 'both Transfer-Encoding and Content-Length' };
    if (tes.length !== 1 || tes[0][1] !== 'chunked') return { kind: 'bad', reason: `Transfer-Encoding other than one plain "chunked": ${JSON.stringify(tes.map(([, v]) => v))}` };
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return buf.length - at > 64 ? { kind: 'bad', reason: 'chunk size line too long' } : { kind: 'need' };
      const sizeLine = buf.subarray(at, eol).toString('latin1');
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeLine)) return { kind: 'bad', reason: `chunk size line is not plain hex: ${JSON.stringify(sizeLine.slice(0, 40))}` };
      const size = parseInt(sizeLine, 16);
      at = eol + 2;
      if (size === 0) break;
      if (buf.length < at + size + 2) return { kind: 'need' };
      parts.push(buf.subarray(at, at + size));
      if (buf[at + size] !== 13 || buf[at + size + 1] !== 10) return { kind: 'bad', reason: 'chunk data not followed by CRLF' };
      at += size + 2;
    }
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return { kind: 'need' };
      const line = buf.subarray(at, eol).toString('latin1');
      at = eol + 2;
      if (line === '') break;
      const t = splitHeaderLine(line);
      if (typeof t === 'string') return { kind: 'bad', reason: `trailer: ${t}` };
      trailers.push(t);
    }
    body = Buffer.concat(parts);
  } else if (cls.length > 0) {
    if (cls.length !== 1 || !/^\d{1,15}$/.test(cls[0][1])) return { kind: 'bad', reason: `Content-Length other than one decimal number: ${JSON.stringify(cls.map(([, v]) => v))}` };
    const n = Number(cls[0][1]);
    if (buf.length < at + n) return { kind: 'need' };
    body = Buffer.from(buf.subarray(at, at + n));
    at += n;
  }
  return {
    kind: 'request',
    request: { method: m[1], target: m[2], headers, body, trailers, raw: Buffer.from(buf.subarray(0, at)) },
    used: at,
  };
}

function replyFor(r: Omit<UpstreamRequest, 'connection'>): string {
  const path = r.target.split('?')[0];
  if (r.method === 'HEAD' && path === '/head-with-body') return OK; // wrong on purpose: a body after a HEAD reply
  if (r.method === 'HEAD') return OK_NO_BODY;
  return REPLIES[path] ?? OK;
}

export class RawHttpUpstream {
  private server: net.Server | null = null;
  private readonly conns = new Set<Conn>();
  private nextId = 1;
  private requests: UpstreamRequest[] = [];
  private violations: string[] = [];
  private ended: { connection: number; bytes: number; closed: boolean }[] = [];
  port = 0;

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as AddressInfo).port;
  }

  private accept(socket: net.Socket): void {
    const c: Conn = { id: this.nextId++, socket, buf: Buffer.alloc(0), closed: false, broken: false };
    this.conns.add(c);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      if (c.broken) return;
      c.buf = Buffer.concat([c.buf, d]);
      this.drain(c);
    });
    socket.on('close', () => {
      c.closed = true;
      this.conns.delete(c);
      if (c.buf.length > 0 && !c.broken) this.ended.push({ connection: c.id, bytes: c.buf.length, closed: true });
    });
  }

  private drain(c: Conn): void {
    while (c.buf.length > 0) {
      const f = frame(c.buf);
      if (f.kind === 'need') return;
      if (f.kind === 'bad') {
        this.violations.push(`connection ${c.id}: ${f.reason}`);
        c.broken = true;
        c.socket.destroy();
        return;
      }
      c.buf = c.buf.subarray(f.used);
      this.requests.push({ ...f.request, connection: c.id });
      c.socket.write(replyFor(f.request));
    }
  }

  /** Connections still open with part of a request buffered (a proxy that aborts closes them). */
  get halfOpen(): number {
    let n = 0;
    for (const c of this.conns) if (c.buf.length > 0 && !c.broken) n++;
    return n;
  }

  /**
   * What arrived since the last call. Connections left in the middle of a request are closed, so
   * their bytes cannot run into the next case.
   */
  take(): UpstreamRecord {
    const partial = [...this.ended];
    for (const c of this.conns) {
      if (c.buf.length > 0) {
        partial.push({ connection: c.id, bytes: c.buf.length, closed: false });
        c.broken = true;
        c.socket.destroy();
      }
    }
    const out: UpstreamRecord = { requests: this.requests, violations: this.violations, partial };
    this.requests = [];
    this.violations = [];
    this.ended = [];
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
