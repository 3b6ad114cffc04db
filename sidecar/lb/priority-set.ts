// Priority levels and the panic threshold: decides how traffic splits across priorities and which hosts each balances over.

import type { HostSet, LbHost } from './types';

/** One priority level as the balancer sees it after an update. */
export interface PriorityLevel {
  readonly priority: number;
  /** Every host at this priority. */
  readonly hosts: readonly LbHost[];
  readonly healthyHosts: readonly LbHost[];
  /** min(100, ⌊overprovisioning% × healthy / total⌋); 0 for an empty level. */
  readonly health: number;
  /** Integer percent of requests sent to this level; the loads of all levels sum to 100. */
  readonly load: number;
  /** True when the level balances over all of its hosts regardless of health. */
  readonly panic: boolean;
  /** The hosts to balance over: `hosts` in panic, else `healthyHosts`. */
  readonly targets: readonly LbHost[];
}

export interface PriorityPlan {
  /** Levels 0..max priority present, dense (a missing priority is an empty level). */
  readonly levels: readonly PriorityLevel[];
  /** min(100, Σ health). */
  readonly normalizedTotalHealth: number;
  /** Every level is in panic: load follows host counts instead of health. */
  readonly totalPanic: boolean;
}

/**
 * Envoy's priority-load and panic computation for healthy hosts (counts, not weights).
 *
 * Implemented, following Envoy's documented behaviour:
 * - health of level P = min(100, ⌊overprovisioningFactor% × healthy_P / total_P⌋);
 * - normalized total health T = min(100, Σ health); when T > 0, level P gets
 *   min(remaining, ⌊health_P × 100 / T⌋) in priority order — i.e. load spills from P0 to
 *   lower priorities as health drops, and is scaled up when T < 100 — with the rounding
 *   remainder added to the first level with non-zero health;
 * - panic: never while T = 100; otherwise level P is in panic when its healthy percentage
 *   (100 × healthy / total, without overprovisioning; 0 for an empty level) is below the
 *   threshold (capped at 100; 0 disables panic). A level in panic balances over all its hosts;
 * - total panic: when every level is in panic the load is split by host count instead (the
 *   remainder to the first non-empty level);
 * - with panic disabled and no healthy host anywhere, P0 gets 100 % and its (empty) healthy set
 *   answers "no host".
 *
 * Not implemented: degraded hosts and degraded load, excluded hosts, weighted priority health,
 * per-priority panic thresholds, fail_traffic_on_panic, locality-weighted and zone-aware
 * routing, and retry priority plugins.
 */
export function planPriorities(set: HostSet, overprovisioningFactor: number, panicThreshold: number): PriorityPlan {
  let maxPriority = 0;
  for (const h of set.hosts) maxPriority = Math.max(maxPriority, h.priority);
  const count = maxPriority + 1;
  const hosts: LbHost[][] = [];
  const healthy: LbHost[][] = [];
  for (let p = 0; p < count; p++) {
    hosts.push([]);
    healthy.push([]);
  }
  for (const h of set.hosts) {
    hosts[h.priority]!.push(h);
    if (set.healthy.has(h.key)) healthy[h.priority]!.push(h);
  }

  const health: number[] = [];
  let sum = 0;
  for (let p = 0; p < count; p++) {
    const total = hosts[p]!.length;
    const value = total === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * healthy[p]!.length) / total));
    health.push(value);
    sum += value;
  }
  const normalizedTotalHealth = Math.min(100, sum);

  const load: number[] = new Array<number>(count).fill(0);
  if (normalizedTotalHealth > 0) {
    let remaining = 100;
    let firstAvailable = -1;
    for (let p = 0; p < count; p++) {
      const share = Math.min(remaining, Math.floor((health[p]! * 100) / normalizedTotalHealth));
      load[p] = share;
      remaining -= share;
      if (health[p]! > 0 && firstAvailable === -1) firstAvailable = p;
    }
    load[firstAvailable]! += remaining;
  }

  const threshold = Math.min(100, panicThreshold);
  const panic: boolean[] = new Array<boolean>(count).fill(false);
  let totalPanic = false;
  if (threshold <= 0) {
    if (normalizedTotalHealth === 0) load[0] = 100;
  } else if (normalizedTotalHealth < 100) {
    totalPanic = true;
    for (let p = 0; p < count; p++) {
      const total = hosts[p]!.length;
      const healthyPercent = total === 0 ? 0 : (100 * healthy[p]!.length) / total;
      panic[p] = healthyPercent < threshold;
      totalPanic &&= panic[p]!;
    }
    if (totalPanic) {
      const allHosts = set.hosts.length;
      load.fill(0);
      if (allHosts === 0) {
        load[0] = 100;
      } else {
        let remaining = 100;
        let firstNonEmpty = -1;
        for (let p = 0; p < count; p++) {
          const share = Math.floor((100 * hosts[p]!.length) / allHosts);
          load[p] = share;
          remaining -= share;
          if (hosts[p]!.length > 0 && firstNonEmpty === -1) firstNonEmpty = p;
        }
        load[firstNonEmpty]! += remaining;
      }
    }
  }

  const levels: PriorityLevel[] = [];
  for (let p = 0; p < count; p++) {
    levels.push({
      priority: p,
      hosts: hosts[p]!,
      healthyHosts: healthy[p]!,
      health: health[p]!,
      load: load[p]!,
      panic: panic[p]!,
      targets: panic[p] ? hosts[p]! : healthy[p]!,
    });
  }
  return { levels, normalizedTotalHealth, totalPanic };
}
