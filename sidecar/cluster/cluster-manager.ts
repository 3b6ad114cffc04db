// The cluster manager: every upstream cluster by name, started together and replaced on update.

import type { ClusterConfig } from '../../src/config/types';
import { UpstreamCluster, type ClusterDeps } from './upstream-cluster';

export class ClusterManager {
  private readonly clusters = new Map<string, UpstreamCluster>();

  constructor(private readonly deps: ClusterDeps) {}

  /** Adds (or replaces) clusters and waits until each has its first endpoints (DNS answered). */
  async addOrUpdate(configs: readonly ClusterConfig[]): Promise<void> {
    const started: Promise<void>[] = [];
    for (const cfg of configs) {
      const existing = this.clusters.get(cfg.name);
      if (existing && existing.config === cfg) continue;
      const cluster = new UpstreamCluster(cfg, this.deps);
      started.push(cluster.start());
      this.clusters.set(cfg.name, cluster);
      // The old cluster keeps its pools until in-flight requests finish; close it shortly after.
      if (existing) setTimeout(() => existing.close(), 5_000).unref();
    }
    await Promise.all(started);
  }

  remove(name: string): void {
    const c = this.clusters.get(name);
    if (!c) return;
    this.clusters.delete(name);
    setTimeout(() => c.close(), 5_000).unref();
  }

  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<UpstreamCluster> {
    return this.clusters.values();
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
  }
}
