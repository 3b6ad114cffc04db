// An incremental HTTP/1.x response parser for the upstream client: status, headers, then a body framed
// by Content-Length, chunked encoding (with trailers) or the connection's close. Pure: bytes in, events out.

/**
 * Where the parser delivers one response. Header names are lower-case; set-cookie is always an array;
 * the header and trailer objects have no prototype.
 */
export interface ResponseSink {
  onResponseHead(status: number, headers: Record<string, string | string[]>): void;
  onResponseBody(chunk: Buffer): void;
  onResponseEnd(trailers: Record<string, string | string[]> | null): void;
}

/** Largest response head (status line and headers) accepted, like Envoy's max_response_headers_kb 60. */
export const MAX_HEAD_BYTES = 60 * 1024;

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no other control characters.
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const CRLF = 0x0a0d; // "\r\n" as a little-endian uint16

/** Header names are data: no prototype, so `constructor` or `__proto__` is a header like any other. */
function fieldMap(): Record<string, string | string[]> {
  return Object.create(null) as Record<string, string | string[]>;
}

export class ResponseParseError extends Error {
  readonly code = 'HPE_INVALID_RESPONSE';
}

export class Http1ResponseParser {
  private state = State.Done;
  private sink: ResponseSink | null = null;
  private head: Buffer | null = null;
  private headOnly = false;
  private remaining = 0;
  private pending: Buffer | null = null;
  /** After the response: whether the connection may carry another request. */
  keepAlive = false;

  /** Starts a response to a request; `headRequest` means no body follows whatever the headers say. */
  start(sink: ResponseSink, headRequest: boolean): void {
    this.sink = sink;
    this.state = State.Head;
    this.head = null;
    this.headOnly = headRequest;
    this.keepAlive = false;
  }

  /** True between the request's start and the end of its response. */
  get busy(): boolean {
    return this.state !== State.Done;
  }

  /** True when only the connection's end can finish the response (no length, not chunked). */
  get readsUntilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /** Stops delivering events (the attempt went away); the connection must not be reused. */
  detach(): void {
    this.sink = null;
    this.state = State.Done;
    this.head = null;
    this.pending = null;
    this.keepAlive = false;
  }

  /**
   * Feeds bytes. Returns the number of bytes consumed: less than `buf.length` only when the response
   * ended and bytes of something else follow. Throws ResponseParseError on malformed input.
   */
  execute(buf: Buffer): number {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.state) {
        case State.Head: {
          let data = buf;
          let from = pos;
          if (this.head !== null) {
            data = Buffer.concat([this.head, buf.subarray(pos)]);
            from = 0;
          }
          // Search from a little before the new bytes, in case "\r\n\r\n" straddles two reads.
          const searchFrom = this.head !== null ? Math.max(0, this.head.length - 3) : from;
          const end = data.indexOf('\r\n\r\n', searchFrom, 'latin1');
          if (end < 0) {
            if (data.length - from > MAX_HEAD_BYTES) throw new ResponseParseError('response headers too large');
            this.head = Buffer.from(data.subarray(from));
            return len;
          }
          if (end - from > MAX_HEAD_BYTES) throw new ResponseParseError('response headers too large');
          const consumedOfData = end + 4;
          const headText = data.toString('latin1', from, end);
          // Bytes of `buf` consumed: everything up to the end of the head.
          pos = this.head !== null ? pos + (consumedOfData - this.head.length) : consumedOfData;
          this.head = null;
          this.onHead(headText);
          break;
        }
        case State.Body: {
          const n = Math.min(this.remaining, len - pos);
          const chunk = pos === 0 && n === len ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.sink?.onResponseBody(chunk);
            this.end(null);
          } else {
            this.sink?.onResponseBody(chunk);
          }
          break;
        }
        case State.ChunkSize: {
          const line = this.line(buf, pos);
          if (line === null) return len;
          pos = line.next;
          const semi = line.text.indexOf(';');
          const hex = (semi >= 0 ? line.text.slice(0, semi) : line.text).trim();
          if (!/^[0-9a-fA-F]{1,15}$/.test(hex)) throw new ResponseParseError('invalid chunk size');
          const size = parseInt(hex, 16);
          if (size === 0) {
            this.state = State.Trailers;
            this.pending = null;
          } else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, len - pos);
          this.sink?.onResponseBody(buf.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          const line = this.line(buf, pos);
          if (line === null) return len;
          if (line.text !== '') throw new ResponseParseError('missing CRLF after chunk data');
          pos = line.next;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          let data = buf;
          let from = pos;
          if (this.pending !== null) {
            data = Buffer.concat([this.pending, buf.subarray(pos)]);
            from = 0;
          }
          // The trailer section ends with an empty line; with no trailers that is the very next CRLF.
          let end: number;
          if (data.length - from >= 2 && data.readUInt16LE(from) === CRLF) end = from;
          else {
            end = data.indexOf('\r\n\r\n', from, 'latin1');
            if (end < 0) {
              if (data.length - from > MAX_HEAD_BYTES) throw new ResponseParseError('response trailers too large');
              this.pending = Buffer.from(data.subarray(from));
              return len;
            }
            end += 2;
          }
          const text = data.toString('latin1', from, end === from ? from : end - 2);
          const consumedOfData = end + 2;
          pos = this.pending !== null ? pos + (consumedOfData - this.pending.length) : consumedOfData;
          this.pending = null;
          let trailers: Record<string, string | string[]> | null = null;
          if (text.length > 0) {
            trailers = fieldMap();
            this.fields(text, 0, trailers);
          }
          this.end(trailers);
          break;
        }
        case State.UntilClose: {
          this.sink?.onResponseBody(pos === 0 ? buf : buf.subarray(pos));
          return len;
        }
        case State.Done:
          return pos;
      }
    }
    return pos;
  }

  /** The connection ended: completes a response read until close, else reports a truncated one. */
  finish(): void {
    if (this.state === State.UntilClose) this.end(null);
    else if (this.state !== State.Done) throw new ResponseParseError('upstream closed the connection mid-response');
  }

  private line(buf: Buffer, pos: number): { text: string; next: number } | null {
    // Chunk-size lines are short; a line split across reads waits in `pending`.
    let data = buf;
    let from = pos;
    const pending = this.pending;
    if (pending !== null) {
      data = Buffer.concat([pending, buf.subarray(pos)]);
      from = 0;
    }
    const i = data.indexOf('\r\n', from, 'latin1');
    if (i < 0) {
      if (data.length - from > 4096) throw new ResponseParseError('chunk size line too long');
      this.pending = Buffer.from(data.subarray(from));
      return null;
    }
    const next = pending !== null ? pos + (i + 2 - pending.length) : i + 2;
    this.pending = null;
    return { text: data.toString('latin1', from, i), next };
  }

  private onHead(text: string): void {
    // Status line: HTTP/1.x SP 3DIGIT [SP reason]
    const eol = text.indexOf('\r\n');
    const statusLine = eol < 0 ? text : text.slice(0, eol);
    if (!statusLine.startsWith('HTTP/1.') || statusLine.length < 12 || statusLine.charCodeAt(8) !== 32) {
      throw new ResponseParseError('invalid status line');
    }
    const minor = statusLine.charCodeAt(7) - 48;
    const status = Number(statusLine.slice(9, 12));
    if ((minor !== 0 && minor !== 1) || !(status >= 100 && status <= 999) || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 32)) {
      throw new ResponseParseError('invalid status line');
    }
    const headers = fieldMap();
    if (eol >= 0) this.fields(text, eol + 2, headers);
    if (status < 200) {
      // Interim responses (100 Continue, 103 Early Hints) are dropped; the final one follows.
      if (status === 101) throw new ResponseParseError('unexpected 101 response');
      this.state = State.Head;
      return;
    }
    const conn = headers.connection;
    if (conn === undefined) this.keepAlive = minor === 1;
    else {
      const connText = (Array.isArray(conn) ? conn.join(',') : conn).toLowerCase();
      this.keepAlive = minor === 1 ? !/(^|,)\s*close\s*(,|$)/.test(connText) : /(^|,)\s*keep-alive\s*(,|$)/.test(connText);
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    const sink = this.sink;
    const noBody = this.headOnly || status === 204 || status === 304;
    if (noBody) {
      sink?.onResponseHead(status, headers);
      this.end(null);
      return;
    }
    if (te !== undefined) {
      if (cl !== undefined) throw new ResponseParseError('both content-length and transfer-encoding');
      const last = (Array.isArray(te) ? te.join(',') : te).split(',').pop()!.trim().toLowerCase();
      if (last === 'chunked') this.state = State.ChunkSize;
      else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
      sink?.onResponseHead(status, headers);
      return;
    }
    if (cl !== undefined) {
      if (Array.isArray(cl) || !/^\d{1,15}$/.test(cl)) throw new ResponseParseError('invalid content-length');
      const n = Number(cl);
      sink?.onResponseHead(status, headers);
      if (n === 0) this.end(null);
      else {
        this.remaining = n;
        this.state = State.Body;
      }
      return;
    }
    this.state = State.UntilClose;
    this.keepAlive = false;
    sink?.onResponseHead(status, headers);
  }

  /** Parses `name: value` lines from `from` to the end of `text` into `out`. */
  private fields(text: string, from: number, out: Record<string, string | string[]>): void {
    let p = from;
    const n = text.length;
    while (p < n) {
      let e = text.indexOf('\r\n', p);
      if (e < 0) e = n;
      const c0 = text.charCodeAt(p);
      if (c0 === 32 || c0 === 9) throw new ResponseParseError('obsolete header line folding');
      const colon = text.indexOf(':', p);
      if (colon < 0 || colon > e) throw new ResponseParseError('header line without a colon');
      const rawName = text.slice(p, colon);
      if (!TOKEN.test(rawName)) throw new ResponseParseError('invalid header name');
      const name = rawName.toLowerCase();
      let vs = colon + 1;
      let ve = e;
      while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
      while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
      const value = text.slice(vs, ve);
      if (BAD_VALUE.test(value)) throw new ResponseParseError('invalid header value');
      const prev = out[name];
      if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(prev)) prev.push(value);
      else if (name === 'content-length') {
        if (prev !== value) throw new ResponseParseError('conflicting content-length');
      } else if (value !== '') {
        // Repeated lines join as one list; an empty line adds no element (no "a, " with a trailing space).
        out[name] = prev === '' ? value : `${prev}, ${value}`;
      }
      p = e + 2;
    }
  }

  private end(trailers: Record<string, string | string[]> | null): void {
    this.state = State.Done;
    const sink = this.sink;
    this.sink = null;
    sink?.onResponseEnd(trailers);
  }
}
