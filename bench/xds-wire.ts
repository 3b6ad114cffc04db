// What the xDS simulator reads from responses, without decoding them whole: the response header, EDS names of clusters, RDS names of listeners, a changed address.

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
    } else if (wireType === 1 || wireType === 5) {
      pos += wireType === 1 ? 8 : 4;
      if (pos > buf.length) throw new RangeError('truncated fixed-width field');
    } else {
      throw new RangeError(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);

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

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The route_config_name of an encoded HttpConnectionManager using RDS (rds = 3; Rds.route_config_name = 2), else null. */
function hcmRdsName(hcm: Uint8Array): string | null {
  for (const f of fields(hcm)) {
    if (f.number !== 3 || !f.bytes) continue;
    for (const g of fields(f.bytes)) if (g.number === 2 && g.bytes && g.bytes.length > 0) return utf8.decode(g.bytes);
  }
  return null;
}

/**
 * Route configuration names (HCM `rds.route_config_name`) in an encoded envoy.config.listener.v3.Listener,
 * sorted and deduplicated: every network filter of filter_chains (3) and default_filter_chain (25) whose
 * typed_config (FilterChain.filters = 3, Filter.typed_config = 4, Any: type_url = 1, value = 2) is an HCM.
 */
export function listenerRdsNames(listener: Uint8Array): string[] {
  const out = new Set<string>();
  for (const chain of fields(listener)) {
    if ((chain.number !== 3 && chain.number !== 25) || !chain.bytes) continue;
    for (const filter of fields(chain.bytes)) {
      if (filter.number !== 3 || !filter.bytes) continue;
      for (const typed of fields(filter.bytes)) {
        if (typed.number !== 4 || !typed.bytes) continue;
        let typeUrl = '';
        let value: Uint8Array | null = null;
        for (const a of fields(typed.bytes)) {
          if (a.number === 1 && a.bytes) typeUrl = utf8.decode(a.bytes);
          else if (a.number === 2 && a.bytes) value = a.bytes;
        }
        const name = typeUrl === HCM_TYPE && value ? hcmRdsName(value) : null;
        if (name !== null) out.add(name);
      }
    }
  }
  return [...out].sort();
}

/** The parts of a DiscoveryResponse the simulator reads, the resources left encoded. */
export interface ResponseHeader {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  /** The `value` of each resource Any, in order (views of the response bytes, not copies). */
  readonly resources: Uint8Array[];
}

/**
 * Reads an encoded DiscoveryResponse: version_info = 1, resources = 2 (Any: type_url = 1, value = 2),
 * type_url = 4, nonce = 5; other fields are skipped. Throws on malformed input.
 */
export function decodeResponseHeader(buf: Uint8Array): ResponseHeader {
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  const resources: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (!f.bytes) continue;
    if (f.number === 2) {
      let value: Uint8Array = EMPTY;
      for (const a of fields(f.bytes)) if (a.number === 2 && a.bytes) value = a.bytes;
      resources.push(value);
    } else if (f.number === 1) versionInfo = utf8.decode(f.bytes);
    else if (f.number === 4) typeUrl = utf8.decode(f.bytes);
    else if (f.number === 5) nonce = utf8.decode(f.bytes);
  }
  return { versionInfo, typeUrl, nonce, resources };
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

/** True when any of the encoded resources (Any values) carries `marker`. */
export function resourcesContain(resources: readonly Uint8Array[], marker: Buffer): boolean {
  for (const v of resources) {
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
