// Mesh-wide metrics in the controller: connected sidecars + registry pods → scraper → aggregator → /api/stats and /api/targets.

import type { Clock } from '../../clock/clock';
import type { Logger } from '../../observability/logger';
import { StatsAggregator, type GoldenStats, type GroupView, type SeriesPoint } from './aggregator';
import { StatsScraper, type TargetHealth } from './scraper';
import type { ConnectedNodes, PodMeshState, StatsTarget, TargetSource } from './targets';

export interface MeshStatsOptions {
  /** Where targets come from; given the connected nodes when the controller's own source is used. */
  readonly source: (nodes: ConnectedNodes) => TargetSource;
  readonly clock: Clock;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly windowSize?: number;
  readonly logger?: Logger;
}

/** The JSON `/api/stats` serves (documented in docs/controller.md). */
export interface StatsDocument {
  readonly generatedAt: string;
  readonly intervalMs: number;
  /** The span the stats cover (at most windowSize − 1 intervals). */
  readonly windowMs: number;
  readonly targets: { readonly total: number; readonly up: number; readonly down: readonly { id: string; address: string; error: string | null }[] };
  readonly workloads: readonly WorkloadEntry[];
  readonly pods: readonly PodEntry[];
  readonly services: readonly { namespace: string; name: string; stats: GoldenStats }[];
  readonly edges: readonly EdgeEntry[];
}

export interface WorkloadEntry {
  readonly namespace: string;
  readonly name: string;
  readonly pods: { readonly total: number; readonly meshed: number };
  /** Inbound (reporter=destination); null before any traffic reached it. */
  readonly stats: GoldenStats | null;
  readonly series?: readonly SeriesPoint[];
}

export interface PodEntry {
  readonly namespace: string;
  readonly name: string;
  readonly workload: string;
  readonly meshed: boolean;
  readonly scrape: { readonly address: string; readonly up: boolean; readonly error: string | null } | null;
  readonly stats: GoldenStats | null;
}

export interface EdgeEntry {
  /** `ns/workload`, or `unknown` (a plaintext caller). */
  readonly source: string;
  readonly destination: string;
  /** The callers' SPIFFE IDs the destination's sidecar saw. */
  readonly clientIdentities: readonly string[];
  /** What the destination's pods present. */
  readonly serverIdentities: readonly string[];
  /** From the destination's side: all, none or part of the traffic over mTLS; null without inbound traffic. */
  readonly mtls: 'mtls' | 'plaintext' | 'mixed' | null;
  /** As the caller's sidecar saw it (reporter=source), and as the callee's did (reporter=destination). */
  readonly client: GoldenStats | null;
  readonly server: GoldenStats | null;
}

/** A Prometheus HTTP service discovery target group. */
export interface SdTargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

function split(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Pure: the /api/stats document from the aggregator's views, the registry's pods and the scrape health. */
export function statsDocument(input: {
  readonly views: readonly GroupView[];
  readonly pods: readonly PodMeshState[];
  readonly targets: readonly StatsTarget[];
  readonly health: readonly TargetHealth[];
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly at: number;
}): StatsDocument {
  const byKind = (k: GroupView['kind']): Map<string, GroupView> => new Map(input.views.filter((v) => v.kind === k).map((v) => [v.key, v]));
  const workloads = byKind('workload');
  const podViews = byKind('pod');
  const health = new Map(input.health.map((h) => [h.id, h]));
  const podsOf = new Map<string, PodMeshState[]>();
  for (const p of input.pods) {
    const k = `${p.namespace}/${p.workload}`;
    if (!podsOf.has(k)) podsOf.set(k, []);
    podsOf.get(k)!.push(p);
  }
  const workloadKeys = [...new Set([...podsOf.keys(), ...workloads.keys()])].sort();
  const targetsById = new Map(input.targets.map((t) => [t.id, t]));
  const edges = new Map<string, { source: string; destination: string; out?: GroupView; in?: GroupView }>();
  for (const v of input.views) {
    if (v.kind !== 'edge-in' && v.kind !== 'edge-out') continue;
    const e = edges.get(v.key) ?? { source: v.source!, destination: v.destination! };
    if (v.kind === 'edge-in') e.in = v;
    else e.out = v;
    edges.set(v.key, e);
  }
  const up = input.health.filter((h) => h.up).length;
  return {
    generatedAt: new Date(input.at).toISOString(),
    intervalMs: input.intervalMs,
    windowMs: input.windowMs,
    targets: {
      total: input.targets.length,
      up,
      down: input.health.filter((h) => !h.up).map((h) => ({ id: h.id, address: h.address, error: h.lastError })),
    },
    workloads: workloadKeys.map((k) => {
      const pods = podsOf.get(k) ?? [];
      const v = workloads.get(k);
      return { ...split(k), pods: { total: pods.length, meshed: pods.filter((p) => p.meshed).length }, stats: v?.stats ?? null, ...(v?.series ? { series: v.series } : {}) };
    }),
    pods: input.pods.map((p) => {
      const id = `${p.namespace}/${p.pod}`;
      const h = health.get(id);
      const t = targetsById.get(id);
      return {
        namespace: p.namespace,
        name: p.pod,
        workload: p.workload,
        meshed: p.meshed,
        scrape: t ? { address: t.address, up: h?.up ?? false, error: h?.lastError ?? null } : null,
        stats: podViews.get(id)?.stats ?? null,
      };
    }),
    services: input.views.filter((v) => v.kind === 'service').map((v) => ({ ...split(v.key), stats: v.stats })),
    edges: [...edges.values()]
      .sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination))
      .map((e) => {
        const share = e.in?.stats.mtlsShare ?? null;
        return {
          source: e.source,
          destination: e.destination,
          clientIdentities: e.in?.principals ?? [],
          serverIdentities: [...new Set((podsOf.get(e.destination) ?? []).filter((p) => p.meshed).map((p) => p.identity))].sort(),
          mtls: share === null ? null : share === 1 ? 'mtls' : share === 0 ? 'plaintext' : 'mixed',
          client: e.out?.stats ?? null,
          server: e.in?.stats ?? null,
        };
      }),
  };
}

/** Pure: Prometheus HTTP SD groups for the targets (one per sidecar, labelled with its pod). */
export function sdTargets(targets: readonly StatsTarget[]): SdTargetGroup[] {
  return targets.map((t) => ({
    targets: [t.address],
    // No `job`: a discovered job label would override the scrape config's job_name.
    labels: { __metrics_path__: t.path, namespace: t.identity.namespace, pod: t.identity.pod, workload: t.identity.workload },
  }));
}

export class MeshStats {
  private nodes: ConnectedNodes = () => [];
  readonly aggregator: StatsAggregator;
  readonly scraper: StatsScraper;
  private readonly source: TargetSource;

  constructor(private readonly o: MeshStatsOptions) {
    this.source = o.source(() => this.nodes());
    this.aggregator = new StatsAggregator({ windowSize: o.windowSize });
    this.scraper = new StatsScraper({
      source: this.source,
      aggregator: this.aggregator,
      clock: o.clock,
      intervalMs: o.intervalMs,
      timeoutMs: o.timeoutMs,
      concurrency: o.concurrency,
      logger: o.logger,
    });
  }

  /** The controller shows which nodes are connected (its own view, one node per key). */
  attachNodes(nodes: ConnectedNodes): void {
    this.nodes = nodes;
  }

  start(): void {
    this.scraper.start();
  }

  stop(): Promise<void> {
    return this.scraper.stop();
  }

  /** `/api/stats?window=S&series=0|1`: `window` seconds (default 60, at most the ring), series on by default. */
  document(query: URLSearchParams): StatsDocument {
    const maxMs = (this.aggregator.windowSize - 1) * this.scraper.intervalMs;
    const raw = query.get('window');
    const seconds = raw === null ? 60 : Number(raw.replace(/s$/, ''));
    if (!(seconds > 0)) throw new RangeError(`window: ${JSON.stringify(raw)} is not a positive number of seconds`);
    const windowMs = Math.min(maxMs, seconds * 1000);
    return statsDocument({
      // Time series for workloads only: edges and pods are many, and the table reads the window.
      views: [
        ...this.aggregator.view({ kind: 'workload', windowMs, series: query.get('series') !== '0' }),
        ...this.aggregator.view({ windowMs }).filter((v) => v.kind !== 'workload'),
      ],
      pods: this.source.pods(),
      targets: this.source.targets(),
      health: this.scraper.targetHealth(),
      intervalMs: this.scraper.intervalMs,
      windowMs,
      at: this.o.clock.wallNow(),
    });
  }

  sdTargets(): SdTargetGroup[] {
    return sdTargets(this.source.targets());
  }
}
