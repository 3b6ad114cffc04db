// What the stats scraper scrapes: registry pods joined with the sidecars connected over ADS (pure but for the live node set).

import { PORT_METRICS } from '../../mesh/constants';
import type { MeshModel, PodObject } from '../model/types';
import type { NodeInfo } from '../types';
import type { TargetIdentity, WorkloadResolver } from './classify';
import { NO_RESOLVER } from './classify';

/** One sidecar's metrics endpoint. */
export interface StatsTarget {
  /** `ns/pod`: stable across reconnects of the same pod. */
  readonly id: string;
  /** `host:port` (IPv6 in brackets). */
  readonly address: string;
  readonly path: string;
  readonly identity: TargetIdentity;
}

/** A registry pod and whether a sidecar of it is connected. */
export interface PodMeshState {
  readonly namespace: string;
  readonly pod: string;
  readonly workload: string;
  readonly ips: readonly string[];
  readonly serviceAccount: string;
  /** `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`: what its sidecar presents. */
  readonly identity: string;
  readonly meshed: boolean;
}

/** Where targets come from; the registry + ADS one below, or another (a static list, a benchmark). */
export interface TargetSource {
  targets(): readonly StatsTarget[];
  /** Every pod the registry knows, meshed or not (for MESHED counts); may be empty. */
  pods(): readonly PodMeshState[];
  /** Who runs behind services and identities. */
  resolver(): WorkloadResolver;
}

export const STATS_PATH = '/stats/prometheus';

/**
 * The workload a pod belongs to, named as its sidecar names itself: its owner's (the Deployment behind a
 * ReplicaSet), else the app label, else app.kubernetes.io/name, else its service account.
 */
export function podWorkload(pod: Pick<PodObject, 'labels' | 'serviceAccountName'> & { readonly workload?: string | null }): string {
  return pod.workload || pod.labels.app || pod.labels['app.kubernetes.io/name'] || pod.serviceAccountName || 'unknown';
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The nodes connected over ADS right now (one per node key: a pod's sidecar). */
export type ConnectedNodes = () => readonly NodeInfo[];

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The metrics port a node announces (metadata STATS_PORT), else the mesh's 15090. */
export function statsPortOf(node: NodeInfo, fallback = PORT_METRICS): number {
  const raw = node.metadata.STATS_PORT;
  const n = typeof raw === 'number' ? raw : /^\d+$/.test(str(raw)) ? Number(raw) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}

/** Pods of the model, each once (the model indexes them by every IP). */
function modelPods(model: MeshModel): PodObject[] {
  const seen = new Map<string, PodObject>();
  for (const p of model.podsByIp.values()) seen.set(`${p.namespace}/${p.name}`, p);
  return [...seen.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Services and SPIFFE IDs → the one workload behind them (none when pods of several workloads share one). */
export function resolverFromModel(model: MeshModel): WorkloadResolver {
  const one = (m: Map<string, Set<string>>): Map<string, string> => new Map([...m].filter(([, s]) => s.size === 1).map(([k, s]) => [k, [...s][0]]));
  const byPrincipal = new Map<string, Set<string>>();
  for (const p of modelPods(model)) {
    const id = `spiffe://${model.trustDomain}/ns/${p.namespace}/sa/${p.serviceAccountName}`;
    if (!byPrincipal.has(id)) byPrincipal.set(id, new Set());
    byPrincipal.get(id)!.add(`${p.namespace}/${podWorkload(p)}`);
  }
  const byService = new Map<string, Set<string>>();
  for (const s of model.services) {
    const set = new Set<string>();
    for (const port of s.ports) {
      for (const e of port.endpoints) {
        const pod = model.podsByIp.get(e.ip);
        if (pod) set.add(`${pod.namespace}/${podWorkload(pod)}`);
      }
    }
    if (set.size > 0) byService.set(`${s.namespace}/${s.name}`, set);
  }
  const principals = one(byPrincipal);
  const services = one(byService);
  return {
    serviceWorkload: (ns, name) => services.get(`${ns}/${name}`) ?? null,
    principalWorkload: (id) => principals.get(id) ?? null,
  };
}

/** The controller's own source: the registry's pods, scraped when their sidecar is connected over ADS. */
export class RegistryTargetSource implements TargetSource {
  private cachedModel: MeshModel | null = null;
  private cachedResolver: WorkloadResolver = NO_RESOLVER;

  constructor(
    private readonly model: () => MeshModel | null,
    private readonly nodes: ConnectedNodes,
  ) {}

  /** Registry pods with the connected node that is theirs (by namespace and POD_NAME, else by pod IP). */
  private joined(): { pod: PodObject; node: NodeInfo | null }[] {
    const model = this.model();
    if (model === null) return [];
    const byName = new Map<string, NodeInfo>();
    const byIp = new Map<string, NodeInfo>();
    for (const n of this.nodes()) {
      if (n.kind === 'grpc') continue;
      const ns = str(n.metadata.NAMESPACE);
      const pod = str(n.metadata.POD_NAME);
      if (ns && pod) byName.set(`${ns}/${pod}`, n);
      const ip = str(n.metadata.POD_IP) || str(n.metadata.INSTANCE_IPS).split(',')[0];
      if (ip) byIp.set(ip.trim(), n);
    }
    return modelPods(model).map((pod) => ({ pod, node: byName.get(`${pod.namespace}/${pod.name}`) ?? pod.ips.map((ip) => byIp.get(ip)).find((n) => n !== undefined) ?? null }));
  }

  targets(): StatsTarget[] {
    const out: StatsTarget[] = [];
    for (const { pod, node } of this.joined()) {
      if (node === null || pod.ips.length === 0) continue;
      out.push({
        id: `${pod.namespace}/${pod.name}`,
        address: hostPort(pod.ips[0], statsPortOf(node)),
        path: STATS_PATH,
        identity: { namespace: pod.namespace, pod: pod.name, workload: podWorkload(pod) },
      });
    }
    return out;
  }

  pods(): PodMeshState[] {
    const td = this.model()?.trustDomain ?? 'cluster.local';
    return this.joined().map(({ pod, node }) => ({
      namespace: pod.namespace,
      pod: pod.name,
      workload: podWorkload(pod),
      ips: pod.ips,
      serviceAccount: pod.serviceAccountName,
      identity: `spiffe://${td}/ns/${pod.namespace}/sa/${pod.serviceAccountName}`,
      meshed: node !== null,
    }));
  }

  resolver(): WorkloadResolver {
    const model = this.model();
    if (model === null) return NO_RESOLVER;
    if (model !== this.cachedModel) {
      this.cachedModel = model;
      this.cachedResolver = resolverFromModel(model);
    }
    return this.cachedResolver;
  }
}
