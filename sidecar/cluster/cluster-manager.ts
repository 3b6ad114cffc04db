// The cluster manager: every upstream cluster by name — static ones from the bootstrap, dynamic
// ones from CDS — with their EDS assignments, replaced without dropping in-flight requests.

import { systemClock } from '../../src/clock/clock';
import type { ClusterConfig, LoadAssignmentConfig } from '../../src/config/types';
import { UpstreamCluster, type ClusterDeps } from './upstream-cluster';

/** How long a replaced or removed cluster keeps its pools for requests still in flight. */
const RETIRE_AFTER_MS = 30_000;

export class ClusterManager {
  private readonly clusters = new Map<string, UpstreamCluster>();
  private readonly dynamic = new Map<string, string>(); // name → raw config (to spot changes)
  /** The latest EDS assignment per service name, kept so a re-created cluster starts with it. */
  private readonly assignments = new Map<string, LoadAssignmentConfig>();

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
      const la = this.assignments.get(cfg.edsServiceName ?? cfg.name);
      if (cfg.type === 'EDS' && la) cluster.setLoadAssignment(la);
      if (existing) this.retire(existing);
    }
    await Promise.all(started);
  }

  /**
   * State of the world from CDS: `configs` is every dynamic cluster. Unchanged ones (same raw
   * resource) are kept with their endpoint state; changed ones are replaced; missing ones removed.
   */
  async setDynamic(configs: readonly { name: string; config: ClusterConfig; raw: string }[]): Promise<void> {
    const changed: ClusterConfig[] = [];
    const names = new Set<string>();
    for (const c of configs) {
      names.add(c.name);
      if (this.dynamic.get(c.name) !== c.raw) {
        this.dynamic.set(c.name, c.raw);
        changed.push(c.config);
      }
    }
    for (const name of [...this.dynamic.keys()]) {
      if (!names.has(name)) {
        this.dynamic.delete(name);
        this.remove(name);
      }
    }
    await this.addOrUpdate(changed);
  }

  /** EDS: a ClusterLoadAssignment for every cluster that uses this service name. */
  assign(serviceName: string, la: LoadAssignmentConfig): void {
    this.assignments.set(serviceName, la);
    for (const c of this.clusters.values()) {
      if (c.config.type === 'EDS' && (c.config.edsServiceName ?? c.config.name) === serviceName) c.setLoadAssignment(la);
    }
  }

  /** Service names of EDS clusters (what the xDS client subscribes to). */
  edsNames(): string[] {
    const out: string[] = [];
    for (const c of this.clusters.values()) if (c.config.type === 'EDS') out.push(c.config.edsServiceName ?? c.config.name);
    return out;
  }

  remove(name: string): void {
    const c = this.clusters.get(name);
    if (!c) return;
    this.clusters.delete(name);
    // Gone from the configuration: its endpoint counts must not linger in the metrics as if it served.
    c.dropGauges();
    this.retire(c);
  }

  private retire(c: UpstreamCluster): void {
    c.stopChecks();
    (this.deps.clock ?? systemClock).setTimeout(() => c.close(), RETIRE_AFTER_MS).unref();
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
