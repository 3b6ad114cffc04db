// Filter chain selection: which of a listener's filter chains serves a new connection.
//
// Envoy's order of criteria, each level narrowing to its most specific match before the next is
// looked at (no backtracking: once a level picks its most specific value, a miss below it falls to
// the default chain, not to a less specific branch): destination port (a chain naming the port
// beats a port-less one), destination IP (longest prefix), server name (exact, then the longest
// `*.suffix` wildcard), transport protocol, application protocols (the client's list in its
// order), source IP (longest prefix), source port. Chains with the same criteria are a config error.

import type { CidrRange, FilterChainConfig, ListenerConfig } from '../../src/config/types';
import { ConfigError } from '../../src/errors';
import { Cidr, parseIp, type IpAddress } from '../../src/net/cidr';

/** What the listener knows about a connection when it chooses a chain. */
export interface ConnectionInfo {
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly serverName: string | null;
  readonly transportProtocol: 'raw_buffer' | 'tls';
  readonly applicationProtocols: readonly string[];
}

interface Leaf {
  readonly chain: FilterChainConfig;
  readonly index: number;
}

/** One IP level: entries sorted longest prefix first, the catch-all (no ranges) last. */
class IpTable<T> {
  private readonly entries: { cidr: Cidr | null; key: string; node: T }[] = [];
  specific = false;

  getOrCreate(cidr: Cidr | null, make: () => T): T {
    const key = cidr === null ? '*' : cidr.toString();
    for (const e of this.entries) if (e.key === key) return e.node;
    const node = make();
    this.entries.push({ cidr, key, node });
    if (cidr !== null) this.specific = true;
    this.entries.sort((a, b) => (b.cidr?.prefixLen ?? -1) - (a.cidr?.prefixLen ?? -1));
    return node;
  }

  lookup(ip: IpAddress | null): T | undefined {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const c = entries[i].cidr;
      if (c === null || (ip !== null && c.contains(ip))) return entries[i].node;
    }
    return undefined;
  }
}

type SourcePortLevel = Map<number, Leaf>;
type SourceIpLevel = IpTable<SourcePortLevel>;
type AlpnLevel = Map<string, SourceIpLevel>;
type TransportLevel = Map<string, AlpnLevel>;
interface ServerNameLevel {
  readonly names: Map<string, TransportLevel>;
  wildcards: boolean;
}
type DestinationIpLevel = IpTable<ServerNameLevel>;

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

export class FilterChainMatcher {
  readonly listener: ListenerConfig;
  private readonly ports = new Map<number, DestinationIpLevel>();

  constructor(listener: ListenerConfig) {
    this.listener = listener;
    listener.filterChains.forEach((chain, index) => this.add(chain, index));
  }

  /** The chain for a connection: the most specific match, else the default chain, else null. */
  select(conn: ConnectionInfo): FilterChainConfig | null {
    const leaf = this.find(conn);
    return leaf !== undefined ? leaf.chain : this.listener.defaultFilterChain;
  }

  private find(conn: ConnectionInfo): Leaf | undefined {
    const dst = this.ports.get(conn.destinationPort) ?? this.ports.get(0);
    if (dst === undefined) return undefined;
    const names = dst.lookup(dst.specific ? parseIp(conn.destinationIp) : null);
    if (names === undefined) return undefined;
    const transports = lookupServerName(names, conn.serverName);
    if (transports === undefined) return undefined;
    const alpn = transports.get(conn.transportProtocol) ?? transports.get('');
    if (alpn === undefined) return undefined;
    let src: SourceIpLevel | undefined;
    const offered = conn.applicationProtocols;
    for (let i = 0; i < offered.length && src === undefined; i++) src = alpn.get(offered[i]);
    if (src === undefined) src = alpn.get('');
    if (src === undefined) return undefined;
    const srcPorts = src.lookup(src.specific ? parseIp(conn.sourceIp) : null);
    if (srcPorts === undefined) return undefined;
    return srcPorts.get(conn.sourcePort) ?? srcPorts.get(0);
  }

  private add(chain: FilterChainConfig, index: number): void {
    const m = chain.match;
    const path = `listeners.${this.listener.name}.filter_chains[${index}].filter_chain_match`;
    const dstRanges = cidrsOf(m.prefixRanges, `${path}.prefix_ranges`);
    const srcRanges = cidrsOf(m.sourcePrefixRanges, `${path}.source_prefix_ranges`);
    const serverNames = m.serverNames.length > 0 ? m.serverNames.map((n) => n.toLowerCase()) : [''];
    const alpns = m.applicationProtocols.length > 0 ? m.applicationProtocols : [''];
    const srcPorts = m.sourcePorts.length > 0 ? m.sourcePorts : [0];
    const leaf: Leaf = { chain, index };

    const dst = getOrCreate(this.ports, m.destinationPort ?? 0, () => new IpTable<ServerNameLevel>());
    for (const dstCidr of dstRanges) {
      const names = dst.getOrCreate(dstCidr, () => ({ names: new Map(), wildcards: false }));
      for (const name of serverNames) {
        if (name.startsWith('*.')) names.wildcards = true;
        const transports = getOrCreate(names.names, name, () => new Map() as TransportLevel);
        const alpnLevel = getOrCreate(transports, m.transportProtocol ?? '', () => new Map() as AlpnLevel);
        for (const alpn of alpns) {
          const srcLevel = getOrCreate(alpnLevel, alpn, () => new IpTable<SourcePortLevel>());
          for (const srcCidr of srcRanges) {
            const ports = srcLevel.getOrCreate(srcCidr, () => new Map<number, Leaf>());
            for (const port of srcPorts) {
              const existing = ports.get(port);
              if (existing !== undefined) {
                throw new ConfigError(
                  path,
                  `filter chain ${chain.name || index} has the same match as filter_chains[${existing.index}]` +
                    `${existing.chain.name ? ` (${existing.chain.name})` : ''}`,
                );
              }
              ports.set(port, leaf);
            }
          }
        }
      }
    }
  }
}

/** Exact name, then `*.b.c` wildcards from the longest suffix, then the chains without names. */
function lookupServerName(level: ServerNameLevel, serverName: string | null): TransportLevel | undefined {
  if (serverName) {
    const sni = serverName.toLowerCase();
    const exact = level.names.get(sni);
    if (exact !== undefined) return exact;
    if (level.wildcards) {
      for (let dot = sni.indexOf('.'); dot >= 0; dot = sni.indexOf('.', dot + 1)) {
        const w = level.names.get(`*${sni.slice(dot)}`);
        if (w !== undefined) return w;
      }
    }
  }
  return level.names.get('');
}

function cidrsOf(ranges: readonly CidrRange[], path: string): (Cidr | null)[] {
  if (ranges.length === 0) return [null];
  return ranges.map((r, i) => {
    const c = Cidr.parse(r.address, r.prefixLen);
    if (c === null) throw new ConfigError(`${path}[${i}]`, `not a valid CIDR range: ${r.address}/${r.prefixLen}`);
    return c;
  });
}

/**
 * Whether a chain is chosen, or served, by what the client sends first: it matches on server name,
 * transport protocol or application protocols, or it is a plaintext HTTP connection manager with the
 * AUTO codec (which must see whether the HTTP/2 preface comes).
 */
export function chainReadsFirstBytes(chain: FilterChainConfig): boolean {
  const m = chain.match;
  return (
    m.serverNames.length > 0 ||
    m.transportProtocol !== null ||
    m.applicationProtocols.length > 0 ||
    (chain.tls === null && chain.network.kind === 'http_connection_manager' && chain.network.codecType === 'AUTO')
  );
}

/** Where a connection was going, as far as chain selection can know before reading a byte. */
export interface Destination {
  readonly ip: string;
  readonly port: number;
}

/**
 * Whether the listener must read the first bytes (TLS ClientHello, HTTP/2 preface, HTTP request
 * line) before it can choose and start a chain: some chain — the default one included — reads them
 * (chainReadsFirstBytes). With a destination, only the chains that could serve it count (destination
 * port and prefix ranges), so server-first protocols on other ports never wait.
 */
export function needsInspection(listener: ListenerConfig, destination?: Destination): boolean {
  const addr = destination === undefined ? null : parseIp(unmappedIPv4(destination.ip));
  const all = listener.defaultFilterChain ? [...listener.filterChains, listener.defaultFilterChain] : listener.filterChains;
  for (const fc of all) {
    if (!chainReadsFirstBytes(fc)) continue;
    if (destination !== undefined && !couldServe(fc, destination.port, addr)) continue;
    return true;
  }
  return false;
}

/** The destination port and prefix ranges of a chain admit the connection (an unparsable address is not excluded). */
function couldServe(fc: FilterChainConfig, port: number, addr: IpAddress | null): boolean {
  const m = fc.match;
  if (m.destinationPort !== null && m.destinationPort !== port) return false;
  if (m.prefixRanges.length === 0 || addr === null) return true;
  return m.prefixRanges.some((r) => Cidr.parse(r.address, r.prefixLen)?.contains(addr) === true);
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (a dual-stack listener's view of an IPv4 peer). */
function unmappedIPv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
