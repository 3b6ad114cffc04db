// Uniform random choice; weights are ignored, as in Envoy's RANDOM policy.

import type { HostChooser } from './host-chooser';
import type { LbHost } from './types';

export class RandomChooser implements HostChooser {
  private readonly hosts: readonly LbHost[];
  private readonly random: () => number;

  constructor(hosts: readonly LbHost[], random: () => number) {
    this.hosts = hosts.slice();
    this.random = random;
  }

  choose(): LbHost | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    return this.hosts[Math.floor(this.random() * n)]!;
  }
}
