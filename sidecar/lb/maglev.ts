// Maglev consistent hashing: a prime-sized lookup table filled from per-host offset/skip permutations.

import { mod64, type HostChooser } from './host-chooser';
import type { LbHost } from './types';
import { xxh64Into } from './xxhash64';

export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

/**
 * Envoy's MAGLEV (the Maglev paper's table, with weights).
 *
 * Building: host h prefers table slots in the order (offset + j·skip) mod M, where offset is
 * xxHash64(h.key, seed 0) mod M and skip is xxHash64(h.key, seed 1) mod (M − 1) + 1; M is prime,
 * so every host's sequence visits every slot. Rounds go over the hosts in order and each host
 * claims its next free preferred slot; with weights, a host claims its m-th slot only in a round
 * r with r·w ≥ m·w_max, so the heaviest hosts claim one slot per round and a host's share of
 * the table is proportional to its weight.
 *
 * Picking: table[hash mod M]; with no request hash, a random slot. A re-pick (attempt k > 0)
 * looks up hash XOR (2^64 − k), as Envoy does, to land far from the first slot.
 */
export class MaglevChooser implements HostChooser {
  private readonly hosts: readonly LbHost[];
  private readonly random: () => number;
  private readonly table: Uint32Array;
  private readonly tableSize: number;

  /** `tableSize`: a prime (validated with the cluster's config). */
  constructor(hosts: readonly LbHost[], tableSize: number, random: () => number) {
    this.hosts = hosts.slice();
    this.random = random;
    this.tableSize = tableSize;
    const n = hosts.length;
    this.table = new Uint32Array(n === 0 ? 0 : tableSize);
    if (n === 0) return;

    const offsets = new Float64Array(n);
    const skips = new Float64Array(n);
    const next = new Float64Array(n);
    const claimed = new Float64Array(n);
    const digest = new Uint32Array(2);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const key = hosts[i]!.key;
      xxh64Into(key, 0, digest);
      offsets[i] = mod64(digest[0]!, digest[1]!, tableSize);
      xxh64Into(key, 1, digest);
      skips[i] = mod64(digest[0]!, digest[1]!, tableSize - 1) + 1;
      maxWeight = Math.max(maxWeight, hosts[i]!.weight);
    }
    const taken = new Uint8Array(tableSize);
    let filled = 0;
    for (let round = 1; filled < tableSize; round++) {
      for (let i = 0; i < n && filled < tableSize; i++) {
        if (round * hosts[i]!.weight < (claimed[i]! + 1) * maxWeight) continue;
        let slot = (offsets[i]! + next[i]! * skips[i]!) % tableSize;
        while (taken[slot] === 1) {
          next[i]!++;
          slot = (offsets[i]! + next[i]! * skips[i]!) % tableSize;
        }
        taken[slot] = 1;
        this.table[slot] = i;
        next[i]!++;
        claimed[i]!++;
        filled++;
      }
    }
  }

  choose(hasHash: boolean, hashHigh: number, hashLow: number, attempt: number): LbHost | null {
    const size = this.table.length;
    if (size === 0) return null;
    let slot: number;
    if (!hasHash) {
      slot = Math.floor(this.random() * size);
    } else if (attempt > 0) {
      slot = mod64((hashHigh ^ 0xffffffff) >>> 0, (hashLow ^ ~(attempt - 1)) >>> 0, this.tableSize);
    } else {
      slot = mod64(hashHigh, hashLow, this.tableSize);
    }
    return this.hosts[this.table[slot]!]!;
  }
}
