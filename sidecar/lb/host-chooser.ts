// The per-priority building block of a picker: chooses one host from a fixed list of hosts.

import type { LbHost } from './types';

/**
 * Chooses among hosts fixed at construction; the list never changes, so a chooser can be shared
 * by a picker that outlives later updates. Policy state (a round-robin cursor, an EDF schedule)
 * lives inside and advances on each call.
 *
 * The request hash arrives split into uint32 halves (`hashHigh`, `hashLow`) so that hash-based
 * choosers need no BigInt arithmetic; `hasHash` is false when the request carries none.
 * `attempt` is 0 for the first choice and counts re-picks made to avoid excluded hosts.
 */
export interface HostChooser {
  choose(hasHash: boolean, hashHigh: number, hashLow: number, attempt: number): LbHost | null;
}

/** (high × 2^32 + low) mod m for 1 ≤ m < 2^31, exact in doubles. */
export function mod64(high: number, low: number, m: number): number {
  const h = ((high % m) * 65536) % m;
  return ((h * 65536) % m + low) % m;
}
