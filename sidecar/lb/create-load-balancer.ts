// Builds a cluster's load balancer: owns the host set and publishes a new immutable picker on every update.

import type { ClusterConfig } from '../../src/config/types';
import type { HostChooser } from './host-chooser';
import { mod64 } from './host-chooser';
import { LeastRequestChooser } from './least-request';
import { MaglevChooser } from './maglev';
import { planPriorities, type PriorityPlan } from './priority-set';
import { RandomChooser } from './random';
import { RingHashChooser } from './ring-hash';
import { RoundRobinChooser } from './round-robin';
import type { HostSet, LbHost, LoadBalancer, PickContext, Picker } from './types';

const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** Splits a request hash into uint32 halves without BigInt arithmetic (no allocation). */
const hashView = new DataView(new ArrayBuffer(8));

/** Answers "no host" until the first update. */
const EMPTY_PICKER: Picker = { pick: () => null };

/**
 * A picker over one snapshot of the host set. Everything it reads is its own (the host objects
 * and their live `stats` excepted), so it keeps answering from that snapshot after the balancer
 * has published a newer picker.
 */
class PriorityPicker implements Picker {
  constructor(
    private readonly choosers: readonly (HostChooser | null)[],
    /** Cumulative load per entry of `choosers`, ending at 100. */
    private readonly cumulative: Int32Array,
    private readonly hashed: boolean,
    private readonly random: () => number,
  ) {}

  pick(ctx: PickContext): LbHost | null {
    let hasHash = false;
    let high = 0;
    let low = 0;
    if (this.hashed && ctx.hash !== null) {
      hashView.setBigUint64(0, ctx.hash);
      high = hashView.getUint32(0);
      low = hashView.getUint32(4);
      hasHash = true;
    }
    const exclude = ctx.exclude;
    const attempts = exclude === null || exclude.size === 0 ? 0 : Math.max(0, ctx.maxExcludeAttempts);
    for (let attempt = 0; ; attempt++) {
      const host = this.pickOnce(hasHash, high, low, attempt);
      if (host === null || attempt >= attempts || !exclude!.has(host.key)) return host;
    }
  }

  private pickOnce(hasHash: boolean, high: number, low: number, attempt: number): LbHost | null {
    const choosers = this.choosers;
    let i = 0;
    if (choosers.length > 1) {
      // Hash-based policies pick the priority from the hash too (as Envoy does), so a key sticks.
      const r = hasHash ? mod64(high, low, 100) : Math.floor(this.random() * 100);
      const cumulative = this.cumulative;
      while (i < choosers.length - 1 && r >= cumulative[i]!) i++;
    }
    const chooser = choosers[i]!;
    return chooser === null ? null : chooser.choose(hasHash, high, low, attempt);
  }
}

class ClusterLoadBalancer implements LoadBalancer {
  picker: Picker = EMPTY_PICKER;
  /** The priority plan behind the current picker (for the admin page). */
  plan: PriorityPlan | null = null;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly random: () => number,
  ) {}

  update(set: HostSet): void {
    const cluster = this.cluster;
    const plan = planPriorities(
      set,
      cluster.loadAssignment?.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR,
      cluster.healthyPanicThreshold,
    );
    const choosers: (HostChooser | null)[] = [];
    const cumulative: number[] = [];
    let total = 0;
    for (const level of plan.levels) {
      if (level.load === 0) continue;
      total += level.load;
      choosers.push(level.targets.length === 0 ? null : this.chooser(level.targets));
      cumulative.push(total);
    }
    const hashed = cluster.lbPolicy === 'RING_HASH' || cluster.lbPolicy === 'MAGLEV';
    this.plan = plan;
    this.picker = new PriorityPicker(choosers, Int32Array.from(cumulative), hashed, this.random);
  }

  private chooser(hosts: readonly LbHost[]): HostChooser {
    const cluster = this.cluster;
    switch (cluster.lbPolicy) {
      case 'ROUND_ROBIN':
      case 'CLUSTER_PROVIDED': // the cluster (ORIGINAL_DST) chooses its host itself; rotation as a fallback
        return new RoundRobinChooser(hosts, this.random);
      case 'LEAST_REQUEST':
        return new LeastRequestChooser(hosts, cluster.leastRequest, this.random);
      case 'RANDOM':
        return new RandomChooser(hosts, this.random);
      case 'RING_HASH':
        return new RingHashChooser(hosts, cluster.ringHash, this.random);
      case 'MAGLEV':
        return new MaglevChooser(hosts, cluster.maglev.tableSize, this.random);
    }
  }
}

/**
 * Creates the balancer for a cluster. It starts empty (every pick answers null); each `update`
 * plans the priority levels (see priority-set.ts), builds one chooser per level that receives
 * load, and publishes a new picker. A pick re-picks up to `ctx.maxExcludeAttempts` times while
 * it lands on a host in `ctx.exclude`, then accepts the last host chosen. CLUSTER_PROVIDED (used
 * by ORIGINAL_DST clusters, which choose their host themselves) falls back to round robin.
 */
export function createLoadBalancer(cluster: ClusterConfig, random: () => number): LoadBalancer {
  // The settings were validated where the config was read (src/config/cluster.ts): never again here.
  return new ClusterLoadBalancer(cluster, random);
}
