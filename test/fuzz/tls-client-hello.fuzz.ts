// Fuzz target: the TLS ClientHello reader (SNI and ALPN) inside protocol sniffing.
//
// Input: a flags byte, then either (bit 0 clear) the bytes of a connection, seeded with ClientHellos
// from node:tls, or (bit 0 set) a description of a ClientHello that the target builds: session id,
// cipher suites, a server name, ALPN protocols, other extensions, padding, and how the handshake is cut into
// TLS records. Asserted, besides what holds for any sniff: a ClientHello built here is read back
// with exactly the server name and protocols it carries, however it is cut into records.

import { SNIFF_MAX_BYTES } from '../../sidecar/listener/sniff';
import { ByteReader, invariant } from './support/fuzz-support';
import { checkSniff } from './support/sniff-checks';

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

function u24(n: number): Buffer {
  return Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

/** Printable, non-empty: what a client puts in SNI and ALPN. */
function name(r: ByteReader, max: number): string {
  const s = r.str(max).replace(/[^\x21-\x7e]/g, 'a');
  return s === '' ? 'x' : s;
}

interface Built {
  readonly bytes: Buffer;
  readonly serverName: string | undefined;
  readonly alpn: string[] | undefined;
}

function build(r: ByteReader): Built {
  const sessionId = r.bytes(r.u8() % 33);
  const ciphers = Buffer.concat(Array.from({ length: 1 + (r.u8() % 16) }, () => u16(r.u16())));
  const exts: Buffer[] = [];
  const extras = r.u8() % 6;
  const placeSni = r.u8() % (extras + 1);
  const placeAlpn = r.u8() % (extras + 1);
  let serverName: string | undefined;
  let alpn: string[] | undefined;
  const withSni = r.bool();
  const withAlpn = r.bool();
  for (let i = 0; i <= extras; i++) {
    if (withSni && i === placeSni) {
      serverName = name(r, 255);
      const host = Buffer.from(serverName, 'latin1');
      const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
      exts.push(extension(0x0000, Buffer.concat([u16(entry.length), entry])));
    }
    if (withAlpn && i === placeAlpn) {
      alpn = Array.from({ length: 1 + (r.u8() % 4) }, () => name(r, 32));
      const list = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
      exts.push(extension(0x0010, Buffer.concat([u16(list.length), list])));
    }
    if (i < extras) {
      // Any other extension (supported_versions, key_share, GREASE, …): type not 0 or 16.
      let type = r.u16();
      if (type === 0x0000 || type === 0x0010) type = 0x0a0a;
      exts.push(extension(type, r.bytes(r.u8())));
    }
  }
  // The padding extension (RFC 7685) clients use to reach a size: zeros, up to about 20 KB here.
  const padding = r.u16() % 20_000;
  if (padding > 0) exts.push(extension(0x0015, Buffer.alloc(padding)));
  const extBlock = Buffer.concat(exts);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.concat([r.bytes(32), Buffer.alloc(32)]).subarray(0, 32),
    Buffer.from([sessionId.length]),
    sessionId,
    u16(ciphers.length),
    ciphers,
    Buffer.from([1, 0]),
    u16(extBlock.length),
    extBlock,
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01]), u24(body.length), body]);
  // Cut the handshake into records of sizes the input chooses (at least one byte each).
  const records: Buffer[] = [];
  for (let at = 0; at < handshake.length; ) {
    const size = Math.min(handshake.length - at, 1 + (r.remaining > 0 ? r.u16() % 2048 : handshake.length));
    const frag = handshake.subarray(at, at + size);
    records.push(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(frag.length), frag]));
    at += size;
  }
  return { bytes: Buffer.concat(records), serverName, alpn };
}

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  if ((data[0] & 1) === 0) {
    checkSniff(data.subarray(1));
    return;
  }
  const built = build(new ByteReader(data.subarray(1)));
  const r = checkSniff(built.bytes);
  // Sniffing reads at most SNIFF_MAX_BYTES: a ClientHello whose records end past that is opaque.
  if (built.bytes.length > SNIFF_MAX_BYTES) {
    invariant(r.protocol === 'opaque', `a ClientHello in ${built.bytes.length} bytes of records sniffs as ${r.protocol}`);
    return;
  }
  invariant(r.protocol === 'tls', `a well-formed ClientHello sniffs as ${r.protocol}`);
  invariant(r.serverName === built.serverName, `server name ${JSON.stringify(built.serverName)} read as ${JSON.stringify(r.serverName)}`);
  invariant(JSON.stringify(r.alpn) === JSON.stringify(built.alpn), `ALPN ${JSON.stringify(built.alpn)} read as ${JSON.stringify(r.alpn)}`);
}
