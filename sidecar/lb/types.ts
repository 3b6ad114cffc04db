// The load-balancer contract: balancers own endpoint state and publish an immutable picker.

/** One upstream endpoint as a balancer sees it. `stats` is live and shared with the data path. */
export interface LbHost {
  /** "ip:port", unique inside a cluster. */
  readonly key: string;
  readonly weight: number; // ≥ 1
  readonly priority: number; // 0 = highest
  readonly stats: { activeRequests: number };
}

/** What the data path passes to a pick. */
export interface PickContext {
  /** 64-bit-ish request hash from hash_policy (RING_HASH/MAGLEV), or null for none. */
  readonly hash: bigint | null;
  /** Hosts to avoid if possible (retry previous_hosts); may be empty. */
  readonly exclude: ReadonlySet<string> | null;
  /** Number of times the picker may re-pick to avoid an excluded host (Envoy default 1). */
  readonly maxExcludeAttempts: number;
}

export interface Picker {
  /** Synchronous; null means no host is available (the caller answers 503 UH). */
  pick(ctx: PickContext): LbHost | null;
}

/** The hosts a balancer may choose from, already filtered for health and ejection. */
export interface HostSet {
  /** Every host of the cluster with its current usability. */
  readonly hosts: readonly LbHost[];
  readonly healthy: ReadonlySet<string>; // keys of hosts that are healthy and not ejected
}

export interface LoadBalancer {
  /** Replace the host set (health change, ejection, EDS update); rebuilds the picker. */
  update(set: HostSet): void;
  readonly picker: Picker;
}
