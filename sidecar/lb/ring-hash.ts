// Consistent hashing on a ketama-style ring: entries per host proportional to weight, lookup by binary search.

import type { HostChooser } from './host-chooser';
import type { LbHost } from './types';
import { xxh64Into } from './xxhash64';

export interface RingHashOptions {
  readonly minimumRingSize: number; // default 1024
  readonly maximumRingSize: number; // default 8M
}

/**
 * Envoy's RING_HASH with the xxHash64 hash function.
 *
 * Building: weights are normalized to sum to 1; the scale is chosen so that the lightest host
 * gets a whole number of entries and the ring holds at least `minimumRingSize` entries, capped
 * at `maximumRingSize`. Hosts are walked in order keeping running totals of wanted and placed
 * entries, and host h's j-th entry sits at xxHash64("<h.key>_<j>"). The ring is kept as
 * parallel typed arrays sorted by hash (64-bit hashes split into high/low halves).
 *
 * Picking: the first entry whose hash is ≥ the request hash, wrapping to the first entry; with
 * no request hash, a random entry. A re-pick (attempt k > 0) walks on from that entry to the k-th
 * following change of host, so it lands on a different host whenever the ring has more than one.
 *
 * Sizing, key format and hash follow Envoy's, so with the same hosts a key should map to the same
 * host as in an Envoy sidecar (not yet checked against a running Envoy). A consequence (Envoy's too): entries per host depend on the host count, so
 * removing one of five equal hosts moves its ≈ 20 % of keys plus ≈ 10 % between survivors, which
 * grow from 205 to 256 entries each. Maglev moves ≈ 20 % in that case.
 */
export class RingHashChooser implements HostChooser {
  private readonly hosts: readonly LbHost[];
  private readonly random: () => number;
  private readonly ringHigh: Uint32Array;
  private readonly ringLow: Uint32Array;
  private readonly ringHost: Uint32Array;

  /** `options`: ring sizes validated with the cluster's config (1 ≤ min ≤ max ≤ 8M). */
  constructor(hosts: readonly LbHost[], options: RingHashOptions, random: () => number) {
    const { minimumRingSize: min, maximumRingSize: max } = options;
    this.hosts = hosts.slice();
    this.random = random;
    const n = hosts.length;
    let total = 0;
    for (const h of hosts) total += h.weight;
    let minNormalized = 1;
    for (const h of hosts) minNormalized = Math.min(minNormalized, h.weight / total);
    const scale = n === 0 ? 0 : Math.min(Math.ceil(minNormalized * min) / minNormalized, max);

    const capacity = Math.ceil(scale) + n;
    const high = new Uint32Array(capacity);
    const low = new Uint32Array(capacity);
    const owner = new Uint32Array(capacity);
    const digest = new Uint32Array(2);
    let placed = 0;
    let wanted = 0;
    for (let i = 0; i < n; i++) {
      const key = hosts[i]!.key;
      wanted += (scale * hosts[i]!.weight) / total;
      for (let j = 0; placed < wanted && placed < capacity; j++, placed++) {
        xxh64Into(`${key}_${j}`, 0, digest);
        high[placed] = digest[0]!;
        low[placed] = digest[1]!;
        owner[placed] = i;
      }
    }
    const order = new Uint32Array(placed);
    for (let i = 0; i < placed; i++) order[i] = i;
    order.sort((a, b) => high[a]! - high[b]! || low[a]! - low[b]! || a - b);
    this.ringHigh = new Uint32Array(placed);
    this.ringLow = new Uint32Array(placed);
    this.ringHost = new Uint32Array(placed);
    for (let i = 0; i < placed; i++) {
      const e = order[i]!;
      this.ringHigh[i] = high[e]!;
      this.ringLow[i] = low[e]!;
      this.ringHost[i] = owner[e]!;
    }
  }

  /** Number of entries on the ring. */
  get size(): number {
    return this.ringHost.length;
  }

  choose(hasHash: boolean, hashHigh: number, hashLow: number, attempt: number): LbHost | null {
    const size = this.ringHost.length;
    if (size === 0) return null;
    let pos = hasHash ? this.lookup(hashHigh, hashLow) : Math.floor(this.random() * size);
    if (attempt > 0 && hasHash) {
      const ring = this.ringHost;
      for (let a = 0; a < attempt; a++) {
        const current = ring[pos]!;
        for (let steps = 0; steps < size && ring[pos] === current; steps++) pos = pos + 1 === size ? 0 : pos + 1;
      }
    }
    return this.hosts[this.ringHost[pos]!]!;
  }

  /** Index of the first entry with hash ≥ (high, low), wrapping to 0. */
  private lookup(high: number, low: number): number {
    const rh = this.ringHigh;
    const rl = this.ringLow;
    let lo = 0;
    let hi = rh.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const mh = rh[mid]!;
      if (mh < high || (mh === high && rl[mid]! < low)) lo = mid + 1;
      else hi = mid;
    }
    return lo === rh.length ? 0 : lo;
  }
}
