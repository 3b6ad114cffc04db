// Least request: power of N choices for equal weights, EDF over weight / (active + 1)^bias otherwise.

import { EdfScheduler } from './edf-scheduler';
import type { HostChooser } from './host-chooser';
import type { LbHost } from './types';

export interface LeastRequestOptions {
  /** Hosts sampled per pick when weights are equal (Envoy's choice_count, default 2). */
  readonly choiceCount: number;
  /** Exponent of the active-request penalty when weights differ (default 1.0; 0 = weighted round robin). */
  readonly activeRequestBias: number;
}

/**
 * Envoy's LEAST_REQUEST.
 *
 * Equal weights: sample `choiceCount` hosts uniformly (with replacement) and take the one with
 * the fewest active requests; on a tie the first sampled wins.
 *
 * Unequal weights: an EDF schedule in which a host, when picked, is queued again with the
 * effective weight `weight / (activeRequests + 1)^bias` read at that moment, so busy hosts come
 * round less often. Like Envoy, the effective weight is sampled when a host is (re)queued, not
 * re-evaluated for every pick.
 */
export class LeastRequestChooser implements HostChooser {
  private readonly hosts: readonly LbHost[];
  private readonly random: () => number;
  private readonly choiceCount: number;
  private readonly bias: number;
  private readonly edf: EdfScheduler | null;
  private sequence = 0;

  constructor(hosts: readonly LbHost[], options: LeastRequestOptions, random: () => number) {
    this.hosts = hosts.slice();
    this.random = random;
    this.choiceCount = Math.max(1, Math.floor(options.choiceCount));
    this.bias = options.activeRequestBias;
    let equal = true;
    for (const h of hosts) if (h.weight !== hosts[0]!.weight) equal = false;
    if (equal || hosts.length < 2) {
      this.edf = null;
      return;
    }
    this.edf = new EdfScheduler(hosts.length);
    for (let i = 0; i < hosts.length; i++) this.edf.push(i, 1 / this.effectiveWeight(i), this.sequence++);
  }

  choose(): LbHost | null {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return null;
    if (n === 1) return hosts[0]!;
    const edf = this.edf;
    if (edf !== null) {
      const i = edf.pop();
      edf.push(i, edf.now + 1 / this.effectiveWeight(i), this.sequence++);
      return hosts[i]!;
    }
    let best = hosts[Math.floor(this.random() * n)]!;
    for (let c = 1; c < this.choiceCount; c++) {
      const candidate = hosts[Math.floor(this.random() * n)]!;
      if (candidate.stats.activeRequests < best.stats.activeRequests) best = candidate;
    }
    return best;
  }

  private effectiveWeight(i: number): number {
    const host = this.hosts[i]!;
    const bias = this.bias;
    if (bias === 0) return host.weight;
    const active = host.stats.activeRequests + 1;
    return host.weight / (bias === 1 ? active : Math.pow(active, bias));
  }
}
