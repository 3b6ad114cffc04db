// Decodes a DiscoveryRequest straight from the wire, leaving resource_names undecoded until asked.
//
// Most requests a controller reads are ACKs that repeat the subscription they sent before: a
// sidecar of a 1,000-service mesh names 1,000 clusters in every EDS ACK. Decoding those names into
// strings (and converting the message to proto3 JSON) cost more than everything else the controller
// does per ACK. Here the names stay raw bytes (`resourceNamesRaw`), which the stream compares with
// the previous request's bytes; only a changed subscription is decoded. The node, which clients
// repeat in every request, is decoded only when read (the server reads the first).

import { fromProtoObject, lookupType } from './protos';

const NODE = 'envoy.config.core.v3.Node';

/** A DiscoveryRequest in proto3 JSON names; `node` is proto3 JSON (metadata as plain JSON). */
export interface DiscoveryRequestMsg {
  versionInfo?: string;
  node?: Record<string, unknown>;
  resourceNames?: string[];
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: { code?: number; message?: string };
}

/** A DiscoveryRequest whose resource names and node are decoded on first use. */
export class WireDiscoveryRequest implements DiscoveryRequestMsg {
  versionInfo?: string;
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: { code?: number; message?: string };
  /** The resource_names fields as they were on the wire (empty when there are none). */
  readonly resourceNamesRaw: Buffer;
  private names: string[] | null = null;
  private nodeRaw: Buffer | null;
  private nodeValue: Record<string, unknown> | undefined;

  constructor(raw: Buffer, nodeRaw: Buffer | null) {
    this.resourceNamesRaw = raw;
    this.nodeRaw = nodeRaw;
  }

  get resourceNames(): string[] {
    if (this.names === null) this.names = decodeNames(this.resourceNamesRaw);
    return this.names;
  }

  set resourceNames(v: string[]) {
    this.names = v;
  }

  /** The node (clients repeat it in every request; a server reads it from the first). */
  get node(): Record<string, unknown> | undefined {
    if (this.nodeRaw !== null) {
      this.nodeValue = decodeNode(this.nodeRaw);
      this.nodeRaw = null;
    }
    return this.nodeValue;
  }

  set node(v: Record<string, unknown> | undefined) {
    this.nodeRaw = null;
    this.nodeValue = v;
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError('DiscoveryRequest: truncated varint');
      const b = this.buf[this.pos++];
      // Lengths and tags fit in 32 bits; higher bits of a 64-bit varint are skipped.
      if (shift < 32) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('DiscoveryRequest: varint too long');
    }
  }

  bytes(): Buffer {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.buf.length) throw new RangeError('DiscoveryRequest: truncated field');
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.pos += 8; break;
      case 2: this.bytes(); return;
      case 5: this.pos += 4; break;
      default: throw new RangeError(`DiscoveryRequest: unsupported wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) throw new RangeError('DiscoveryRequest: truncated field');
  }
}

function decodeNames(raw: Buffer): string[] {
  const out: string[] = [];
  const r = new Reader(raw);
  while (r.pos < raw.length) {
    r.varint(); // tag: field 3, wire type 2 (only those are kept)
    out.push(r.bytes().toString('utf8'));
  }
  return out;
}

function decodeStatus(buf: Buffer): { code?: number; message?: string } {
  const r = new Reader(buf);
  const out: { code?: number; message?: string } = {};
  while (r.pos < buf.length) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 0) out.code = r.varint() | 0;
    else if (field === 2 && wire === 2) out.message = r.bytes().toString('utf8');
    else r.skip(wire);
  }
  return out;
}

function decodeNode(buf: Buffer): Record<string, unknown> {
  const t = lookupType(NODE);
  const o = t.toObject(t.decode(buf), { json: true, defaults: false, enums: String, longs: String, bytes: String });
  return fromProtoObject(NODE, o);
}

/** envoy.service.discovery.v3.DiscoveryRequest bytes → a request with lazily decoded names and node. */
export function decodeDiscoveryRequestWire(buf: Buffer): WireDiscoveryRequest {
  const r = new Reader(buf);
  // [start, end) byte ranges of the resource_names fields; usually one contiguous run.
  const ranges: number[] = [];
  let versionInfo: string | undefined;
  let node: Buffer | undefined;
  let typeUrl: string | undefined;
  let responseNonce: string | undefined;
  let errorDetail: Buffer | undefined;
  while (r.pos < buf.length) {
    const start = r.pos;
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire !== 2 || field < 1 || field > 6) {
      r.skip(wire);
      continue;
    }
    if (field === 3) {
      // Skipped, not sliced: a thousand names cost a thousand varint reads.
      const end = r.varint() + r.pos;
      if (end > buf.length) throw new RangeError('DiscoveryRequest: truncated field');
      r.pos = end;
      if (ranges.length > 0 && ranges[ranges.length - 1] === start) ranges[ranges.length - 1] = end;
      else ranges.push(start, end);
      continue;
    }
    const value = r.bytes();
    switch (field) {
      case 1: versionInfo = value.toString('utf8'); break;
      case 2: node = value; break;
      case 4: typeUrl = value.toString('utf8'); break;
      case 5: responseNonce = value.toString('utf8'); break;
      case 6: errorDetail = value; break;
    }
  }
  let raw: Buffer;
  if (ranges.length === 0) raw = EMPTY;
  else if (ranges.length === 2) raw = buf.subarray(ranges[0], ranges[1]);
  else {
    const parts: Buffer[] = [];
    for (let i = 0; i < ranges.length; i += 2) parts.push(buf.subarray(ranges[i], ranges[i + 1]));
    raw = Buffer.concat(parts);
  }
  const req = new WireDiscoveryRequest(raw, node ?? null);
  if (versionInfo !== undefined) req.versionInfo = versionInfo;
  if (typeUrl !== undefined) req.typeUrl = typeUrl;
  if (responseNonce !== undefined) req.responseNonce = responseNonce;
  if (errorDetail !== undefined) req.errorDetail = decodeStatus(errorDetail);
  return req;
}

const EMPTY = Buffer.alloc(0);
