// What the xDS simulator reads from responses, without decoding them whole: EDS names of clusters, RDS names of listeners, a changed address.

/** A protobuf wire-format reader over one message: just enough to walk top-level fields. */
interface Field {
  readonly number: number;
  readonly wireType: number;
  /** Varint value (wire type 0). */
  readonly varint: number;
  /** Payload of a length-delimited field (wire type 2). */
  readonly bytes: Uint8Array | null;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new RangeError('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
}

/** The top-level fields of a protobuf message, in order. Throws on malformed input. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    if (wireType === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      yield { number, wireType, varint: v, bytes: null };
    } else if (wireType === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new RangeError('truncated field');
      yield { number, wireType, varint: 0, bytes: buf.subarray(p2, p2 + len) };
      pos = p2 + len;
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new RangeError(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder();

/** Cluster.DiscoveryType EDS. */
const EDS = 3;

/**
 * The EDS resource name a Ferry sidecar subscribes to for this encoded envoy.config.cluster.v3.Cluster:
 * eds_cluster_config.service_name, else the cluster's name; null when the cluster is not EDS.
 * (Cluster: name = 1, type = 2, eds_cluster_config = 3; EdsClusterConfig: service_name = 2.)
 */
export function clusterEdsName(cluster: Uint8Array): string | null {
  let name = '';
  let type = 0;
  let serviceName = '';
  for (const f of fields(cluster)) {
    if (f.number === 1 && f.bytes) name = utf8.decode(f.bytes);
    else if (f.number === 2 && f.wireType === 0) type = f.varint;
    else if (f.number === 3 && f.bytes) {
      for (const g of fields(f.bytes)) if (g.number === 2 && g.bytes) serviceName = utf8.decode(g.bytes);
    }
  }
  return type === EDS ? serviceName || name : null;
}

/** Route configuration names (HCM `rds.route_config_name`) anywhere in a decoded Listener (proto3 JSON, either key style). */
export function listenerRdsNames(listener: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'rds' && typeof x === 'object' && x !== null) {
        const r = x as Record<string, unknown>;
        const name = r['route_config_name'] ?? r['routeConfigName'];
        if (typeof name === 'string' && name !== '') out.push(name);
      } else walk(x);
    }
  };
  walk(listener);
  return [...new Set(out)].sort();
}

/**
 * The bytes of `address` as SocketAddress.address (field 2, length-delimited) is encoded: tag, length,
 * text. The length byte makes the match exact (10.250.0.1 does not match inside 10.250.0.12).
 */
export function addressMarker(address: string): Buffer {
  const text = Buffer.from(address, 'utf8');
  if (text.length > 127) throw new RangeError('address too long for a one-byte length');
  return Buffer.concat([Buffer.from([(2 << 3) | 2, text.length]), text]);
}

/** True when any of the encoded resources carries `marker`. */
export function resourcesContain(resources: readonly { readonly value: Uint8Array }[], marker: Buffer): boolean {
  for (const r of resources) {
    const v = r.value;
    if (Buffer.from(v.buffer, v.byteOffset, v.byteLength).indexOf(marker) >= 0) return true;
  }
  return false;
}

// ─── requests, pre-encoded ───
// A real sidecar repeats the same subscription in every ACK; the simulator encodes each part once
// (node, names) and writes the bytes, so 250 streams in one process do not measure protobufjs.

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** One length-delimited field: tag, length, bytes. */
export function lengthDelimited(field: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([...varintBytes(field * 8 + 2), ...varintBytes(v.length)]), v]);
}

/** DiscoveryRequest.resource_names (field 3) for `names`. */
export function encodeResourceNames(names: readonly string[]): Buffer {
  return Buffer.concat(names.map((n) => lengthDelimited(3, n)));
}

/**
 * A DiscoveryRequest from parts: `nodeField` is an encoded request holding only the node (field 2),
 * `namesField` from encodeResourceNames. Fields in number order, as protobufjs writes them.
 */
export function encodeRequest(version: string, nodeField: Buffer, namesField: Buffer, typeUrl: string, nonce: string): Buffer {
  const parts = [nodeField, namesField, lengthDelimited(4, typeUrl)];
  if (version !== '') parts.unshift(lengthDelimited(1, version));
  if (nonce !== '') parts.push(lengthDelimited(5, nonce));
  return Buffer.concat(parts);
}
