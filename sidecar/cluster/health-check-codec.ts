// Wire helpers for active health checks: the gRPC health protobuf messages and TCP reply matching.

/** Every block appears in `data`, in order (Envoy's TCP health check matching). */
export function matchesInOrder(data: Buffer, blocks: readonly Buffer[]): boolean {
  let pos = 0;
  for (const b of blocks) {
    const i = data.indexOf(b, pos);
    if (i < 0) return false;
    pos = i + b.length;
  }
  return true;
}

/** A gRPC length-prefixed message holding HealthCheckRequest{ service = 1 }. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body: Buffer[] = [];
  if (name.length > 0) body.push(Buffer.from([0x0a]), encodeVarint(name.length), name);
  const msg = Buffer.concat(body);
  const frame = Buffer.alloc(5);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(msg.length, 1);
  return Buffer.concat([frame, msg]);
}

/** The `status` of the first HealthCheckResponse in a gRPC body (0 UNKNOWN when unset), or -1 if malformed. */
export function decodeHealthCheckResponse(body: Buffer): number {
  if (body.length < 5 || body[0] !== 0) return -1; // compressed messages are not negotiated
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) return -1;
  const msg = body.subarray(5, 5 + len);
  let status = 0;
  let i = 0;
  while (i < msg.length) {
    const [tag, a] = readVarint(msg, i);
    if (a < 0) return -1;
    i = a;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const [v, b] = readVarint(msg, i);
      if (b < 0) return -1;
      i = b;
      if (field === 1) status = v;
    } else if (wire === 2) {
      const [l, b] = readVarint(msg, i);
      if (b < 0 || b + l > msg.length) return -1;
      i = b + l;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      return -1;
    }
  }
  return i === msg.length ? status : -1;
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** [value, next offset]; offset -1 when truncated. Values above 2^31 are not needed here. */
function readVarint(buf: Buffer, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (let i = at; i < buf.length && shift < 64; i++) {
    const b = buf[i];
    if (shift < 31) v |= (b & 0x7f) << shift;
    shift += 7;
    if ((b & 0x80) === 0) return [v >>> 0, i + 1];
  }
  return [0, -1];
}
