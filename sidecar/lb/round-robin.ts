// Weighted round robin: plain rotation for equal weights, earliest-deadline-first scheduling otherwise.

import { EdfScheduler } from './edf-scheduler';
import type { HostChooser } from './host-chooser';
import type { LbHost } from './types';

/** Start offsets are drawn from at most this many picks so that building stays cheap. */
const MAX_START_SKIP = 65536;

/**
 * Envoy's ROUND_ROBIN. With equal weights it is a rotation; with unequal weights host i's k-th
 * turn has deadline k / w_i and the earliest deadline goes first (ties by host order), so the
 * sequence repeats every W = Σ w_i picks and any W consecutive picks give host i exactly w_i.
 * The start position is random so that many workers balancing over the same hosts do not move
 * in lock step.
 */
export class RoundRobinChooser implements HostChooser {
  private readonly hosts: readonly LbHost[];
  private readonly weights: Float64Array | null;
  private readonly turns: Float64Array | null;
  private readonly edf: EdfScheduler | null;
  private cursor = 0;

  constructor(hosts: readonly LbHost[], random: () => number) {
    this.hosts = hosts.slice();
    const n = hosts.length;
    let equal = true;
    let total = 0;
    for (const h of hosts) {
      if (h.weight !== hosts[0]!.weight) equal = false;
      total += h.weight;
    }
    if (equal || n < 2) {
      this.weights = null;
      this.turns = null;
      this.edf = null;
      this.cursor = Math.floor(random() * n);
      return;
    }
    this.weights = new Float64Array(n);
    this.turns = new Float64Array(n);
    this.edf = new EdfScheduler(n);
    for (let i = 0; i < n; i++) {
      const w = hosts[i]!.weight;
      this.weights[i] = w;
      this.turns[i] = 1;
      this.edf.push(i, 1 / w, i);
    }
    const skip = Math.floor(random() * Math.min(total, MAX_START_SKIP));
    for (let i = 0; i < skip; i++) this.next();
  }

  choose(): LbHost | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    if (this.edf === null) {
      const host = this.hosts[this.cursor]!;
      this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
      return host;
    }
    return this.hosts[this.next()]!;
  }

  private next(): number {
    const edf = this.edf!;
    const turns = this.turns!;
    const i = edf.pop();
    const k = ++turns[i]!;
    // k / w rather than a running sum: equal deadlines of different hosts stay exactly equal.
    edf.push(i, k / this.weights![i]!, i);
    return i;
  }
}
