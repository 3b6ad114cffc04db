// Allocates ClusterIPs for Services that have none: a hash of namespace/name into a CIDR, probing on collision.

import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ConfigError } from '../../errors';

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Allocation {
  readonly service: string;
  readonly clusterIP: string;
}

/**
 * Deterministic and stable: a service keeps its address across reloads while it exists, and the
 * first choice for `ns/name` is always the same, so restarts give the same addresses unless two
 * names collide. Addresses given explicitly in the registry are never handed out.
 */
export class ClusterIpAllocator {
  readonly cidr: string;
  private readonly base: number;
  private readonly size: number;
  private readonly byService = new Map<string, string>();

  constructor(cidr = '10.96.0.0/16') {
    const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
    if (!m || !isIPv4(m[1]) || Number(m[2]) > 30 || Number(m[2]) < 8) {
      throw new ConfigError('serviceCidr', `${cidr} is not an IPv4 CIDR between /8 and /30`);
    }
    const bits = Number(m[2]);
    this.size = 2 ** (32 - bits);
    this.base = toInt(m[1]) - (toInt(m[1]) % this.size);
    this.cidr = `${toIp(this.base)}/${bits}`;
  }

  contains(ip: string): boolean {
    if (!isIPv4(ip)) return false;
    const n = toInt(ip);
    return n >= this.base && n < this.base + this.size;
  }

  /**
   * Assigns addresses to `wanting` (keys `ns/name`), avoiding `taken` (explicit clusterIPs).
   * Allocations of services no longer wanting one are released. Returns key → address.
   */
  allocate(wanting: readonly string[], taken: ReadonlySet<string>): ReadonlyMap<string, string> {
    const want = new Set(wanting);
    for (const k of [...this.byService.keys()]) {
      if (!want.has(k) || taken.has(this.byService.get(k)!)) this.byService.delete(k);
    }
    const used = new Set<string>([...taken, ...this.byService.values()]);
    // Usable offsets: 1 .. size-2 (not the network or broadcast address).
    const usable = this.size - 2;
    for (const k of [...want].sort()) {
      if (this.byService.has(k)) continue;
      const h = createHash('sha256').update(k).digest().readUInt32BE(0);
      let found: string | null = null;
      for (let i = 0; i < usable; i++) {
        const ip = toIp(this.base + 1 + ((h + i) % usable));
        if (!used.has(ip)) {
          found = ip;
          break;
        }
      }
      if (found === null) throw new ConfigError('serviceCidr', `${this.cidr} is exhausted (${k} needs an address)`);
      used.add(found);
      this.byService.set(k, found);
    }
    return new Map(this.byService);
  }

  /** Current allocations, sorted by service, for /debug. */
  list(): Allocation[] {
    return [...this.byService].sort(([a], [b]) => (a < b ? -1 : 1)).map(([service, clusterIP]) => ({ service, clusterIP }));
  }
}
