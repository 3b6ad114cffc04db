// Protocol detection from a connection's first bytes: HTTP/2 preface, HTTP/1.x request line, TLS
// ClientHello (with SNI and ALPN), else opaque TCP.
//
// Pure: the caller buffers what has arrived and calls `sniff` again on 'need_more'. It never asks
// for more than SNIFF_MAX_BYTES (a ClientHello larger than that, or one split oddly enough to need
// more, is 'opaque'). A ClientHello may span several TLS records; they are reassembled.

export type SniffedProtocol = 'http1' | 'http2' | 'tls' | 'opaque' | 'need_more';

export interface SniffResult {
  readonly protocol: SniffedProtocol;
  /** SNI host name from the ClientHello, when present. */
  readonly serverName?: string;
  /** ALPN protocols offered by the client, in its order. */
  readonly alpn?: string[];
  /** Index of the space after the HTTP/1 method (so the method is `buf.toString('latin1', 0, end)`). */
  readonly httpMethodEnd?: number;
}

/** The most bytes sniffing ever waits for. */
export const SNIFF_MAX_BYTES = 16 * 1024;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Request methods known to HTTP/1 parsers (RFC 9110, WebDAV and friends). */
const HTTP_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT',
  'MKACTIVITY', 'CHECKOUT', 'MERGE', 'MSEARCH', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE',
  'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'QUERY',
].map((m) => Buffer.from(m, 'latin1'));
const LONGEST_METHOD = Math.max(...HTTP_METHODS.map((m) => m.length));

const NEED_MORE: SniffResult = Object.freeze({ protocol: 'need_more' });
const OPAQUE: SniffResult = Object.freeze({ protocol: 'opaque' });
const HTTP2: SniffResult = Object.freeze({ protocol: 'http2' });
const TLS_NO_INFO: SniffResult = Object.freeze({ protocol: 'tls' });

export function sniff(buf: Buffer): SniffResult {
  if (buf.length === 0) return NEED_MORE;
  // Only the first SNIFF_MAX_BYTES count, however many have arrived: the answer must not depend on
  // how the bytes were split into reads.
  if (buf.length > SNIFF_MAX_BYTES) buf = buf.subarray(0, SNIFF_MAX_BYTES);
  const first = buf[0];
  if (first === 0x16) return sniffTls(buf);
  if (first === 0x50 /* P */) {
    const n = Math.min(buf.length, H2_PREFACE.length);
    if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return n === H2_PREFACE.length ? HTTP2 : NEED_MORE;
  }
  return sniffHttp1(buf);
}

function sniffHttp1(buf: Buffer): SniffResult {
  let partial = false;
  for (let i = 0; i < HTTP_METHODS.length; i++) {
    const m = HTTP_METHODS[i];
    const n = Math.min(buf.length, m.length);
    if (buf.compare(m, 0, n, 0, n) !== 0) continue;
    if (buf.length > m.length) {
      if (buf[m.length] === 0x20) return { protocol: 'http1', httpMethodEnd: m.length };
    } else {
      partial = true; // a prefix of the method, or the method without its space yet
    }
  }
  return partial && buf.length <= LONGEST_METHOD ? NEED_MORE : OPAQUE;
}

/** Reassembles the ClientHello from consecutive handshake records and parses it. */
function sniffTls(buf: Buffer): SniffResult {
  // Record header: type(1) = 22, version(2) = 3.x, length(2); then handshake type 1 = ClientHello.
  if (buf.length >= 2 && buf[1] !== 0x03) return OPAQUE;
  if (buf.length >= 3 && buf[2] > 0x04) return OPAQUE;
  if (buf.length >= 6 && buf[5] !== 0x01) return OPAQUE;
  const frags: Buffer[] = [];
  let have = 0;
  let bodyLen = -1;
  let offset = 0;
  for (;;) {
    if (offset + 5 > buf.length) return buf.length >= SNIFF_MAX_BYTES ? OPAQUE : NEED_MORE;
    if (buf[offset] !== 0x16 || buf[offset + 1] !== 0x03) return OPAQUE;
    const recLen = buf.readUInt16BE(offset + 3);
    if (recLen === 0 || recLen > 16384) return OPAQUE;
    const start = offset + 5;
    const end = start + recLen;
    if (end > buf.length) return end > SNIFF_MAX_BYTES ? OPAQUE : NEED_MORE;
    frags.push(buf.subarray(start, end));
    have += recLen;
    offset = end;
    if (bodyLen < 0 && have >= 4) {
      // The handshake header, read once (it is almost always inside the first record).
      const head = frags.length === 1 ? frags[0] : Buffer.concat(frags, have);
      if (head[0] !== 0x01) return OPAQUE;
      bodyLen = head.readUIntBE(1, 3);
      if (bodyLen + 4 > SNIFF_MAX_BYTES) return OPAQUE;
    }
    if (bodyLen >= 0 && have >= bodyLen + 4) {
      const hs = frags.length === 1 ? frags[0] : Buffer.concat(frags, have);
      return parseClientHello(hs.subarray(4, 4 + bodyLen));
    }
  }
}

/** Extracts SNI and ALPN from a ClientHello body; 'opaque' when it does not parse. */
function parseClientHello(b: Buffer): SniffResult {
  let p = 2 + 32; // client_version, random
  if (p + 1 > b.length) return OPAQUE;
  p += 1 + b[p]; // session_id
  if (p + 2 > b.length) return OPAQUE;
  p += 2 + b.readUInt16BE(p); // cipher_suites
  if (p + 1 > b.length) return OPAQUE;
  p += 1 + b[p]; // compression_methods
  if (p > b.length) return OPAQUE;
  if (p === b.length) return TLS_NO_INFO; // no extensions
  if (p + 2 > b.length) return OPAQUE;
  const extEnd = p + 2 + b.readUInt16BE(p);
  if (extEnd > b.length) return OPAQUE;
  p += 2;
  let serverName: string | undefined;
  let alpn: string[] | undefined;
  while (p < extEnd) {
    if (p + 4 > extEnd) return OPAQUE;
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const start = p + 4;
    const end = start + len;
    if (end > extEnd) return OPAQUE;
    if (type === 0x0000) {
      const name = parseServerName(b, start, end);
      if (name === null) return OPAQUE;
      serverName = name || undefined;
    } else if (type === 0x0010) {
      const protos = parseAlpn(b, start, end);
      if (protos === null) return OPAQUE;
      alpn = protos;
    }
    p = end;
  }
  if (serverName === undefined && alpn === undefined) return TLS_NO_INFO;
  return { protocol: 'tls', serverName, alpn };
}

/** server_name extension: list of (type, name); returns the host_name entry ('' if none). */
function parseServerName(b: Buffer, start: number, end: number): string | null {
  if (start + 2 > end) return null;
  const listEnd = start + 2 + b.readUInt16BE(start);
  if (listEnd > end) return null;
  let p = start + 2;
  while (p < listEnd) {
    if (p + 3 > listEnd) return null;
    const type = b[p];
    const len = b.readUInt16BE(p + 1);
    if (p + 3 + len > listEnd) return null;
    if (type === 0) return b.toString('latin1', p + 3, p + 3 + len);
    p += 3 + len;
  }
  return '';
}

/** ALPN extension: 2-byte list length, then length-prefixed protocol names. */
function parseAlpn(b: Buffer, start: number, end: number): string[] | null {
  if (start + 2 > end) return null;
  const listEnd = start + 2 + b.readUInt16BE(start);
  if (listEnd > end) return null;
  const out: string[] = [];
  let p = start + 2;
  while (p < listEnd) {
    const len = b[p];
    if (len === 0 || p + 1 + len > listEnd) return null;
    out.push(b.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
  return out;
}
