// A minimal, strict DER reader and writer for the signing hot path (PKCS#10 in, X.509 TBSCertificate out).

/** DER is not well-formed: indefinite or non-minimal length, truncated, trailing bytes, wrong tag. */
export class DerError extends Error {}

export const TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
});

/** One tag-length-value: `start`/`end` bound the content inside `buf`. */
export interface Tlv {
  readonly tag: number;
  readonly buf: Buffer;
  /** Offset of the tag byte. */
  readonly offset: number;
  /** Content bounds. */
  readonly start: number;
  readonly end: number;
}

/** Reads one TLV at `offset`, not past `limit`. Only low tag numbers (< 31) exist in what we read. */
export function readTlv(buf: Buffer, offset: number, limit: number = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated header');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used here');
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length');
    if (n > 3) throw new DerError('length too large');
    if (start + n > limit) throw new DerError('truncated length');
    if (buf[start] === 0) throw new DerError('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    if (len < 0x80) throw new DerError('non-minimal length');
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError('truncated content');
  return { tag, buf, offset, start, end };
}

/** Reads a TLV that must have `tag`. */
export function expect(buf: Buffer, offset: number, limit: number, tag: number): Tlv {
  const t = readTlv(buf, offset, limit);
  if (t.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** The children of a constructed TLV; they must fill it exactly. */
export function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let at = t.start;
  while (at < t.end) {
    const c = readTlv(t.buf, at, t.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

/** Parses a whole buffer as exactly one TLV (no trailing bytes). */
export function readWhole(buf: Buffer): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw new DerError('trailing bytes');
  return t;
}

export function content(t: Tlv): Buffer {
  return t.buf.subarray(t.start, t.end);
}

/** The full encoding (tag, length, content). */
export function raw(t: Tlv): Buffer {
  return t.buf.subarray(t.offset, t.end);
}

/** Encodes an OID given in dotted form (used once per constant, not per request). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const stack: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) stack.unshift((v & 0x7f) | 0x80);
    bytes.push(...stack);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
}

/** Encodes a TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** A non-negative INTEGER from big-endian bytes, minimally encoded. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return v[0] & 0x80 ? tlv(TAG.INTEGER, Buffer.from([0]), v) : tlv(TAG.INTEGER, v);
}

/** X.509 Time: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5); whole seconds. */
export function time(date: Date): Buffer {
  const y = date.getUTCFullYear();
  const p = (n: number): string => String(n).padStart(2, '0');
  const rest = `${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${p(y % 100)}${rest}`, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}

/** PEM armour with 64-character lines and a final newline. */
export function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** The DER inside the first PEM block labelled `label`, or undefined. */
export function fromPem(pem: string, label: string): Buffer | undefined {
  const begin = `-----BEGIN ${label}-----`;
  const endMark = `-----END ${label}-----`;
  const a = pem.indexOf(begin);
  if (a < 0) return undefined;
  const b = pem.indexOf(endMark, a + begin.length);
  if (b < 0) return undefined;
  const b64 = pem.slice(a + begin.length, b).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}
