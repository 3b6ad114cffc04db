// The Kubernetes registry: @kubernetes/client-node informers (list+watch, re-list on 410 Gone, back-off) feeding the model.

import { systemClock, type Clock, type Timer } from '../../clock/clock';
import { Logger, rootLogger } from '../../observability/logger';
import { buildMeshModel } from '../model/build-model';
import { KINDS, ObjectStore } from '../model/object-store';
import type { MeshModel, MeshObjectKind } from '../model/types';
import type { ChangeTimes } from '../types';
import type { Registry } from './registry';

type K8s = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });
type KubeConfig = InstanceType<K8s['KubeConfig']>;
type RawObject = { metadata?: { name?: string; namespace?: string } } & Record<string, unknown>;
type ListFn = () => Promise<{ metadata?: { resourceVersion?: string }; items: RawObject[] }>;

export interface KubernetesRegistryOptions {
  /** A kubeconfig file; without it, in-cluster config when running in a pod, else the default kubeconfig. */
  kubeconfig?: string;
  /** An already-loaded KubeConfig (tests, embedding). */
  kubeConfig?: KubeConfig;
  clusterDomain?: string;
  trustDomain?: string;
  /** Quiet period after an event before the model is rebuilt (default 20 ms; the controller debounces model changes again). */
  debounceMs?: number;
  /** Back-off after a failed list or watch: initial and maximum delay (default 500 ms, 30 s), jittered. */
  backoffMs?: { initial: number; max: number };
  random?: () => number;
  logger?: Logger;
  /** Time and timers (default systemClock); event times are its now(), the controller's clock. */
  clock?: Clock;
}

interface Resource {
  kind: MeshObjectKind;
  path: string;
  /** HTTPRoute and the Ferry CRDs may not be installed: a 404 counts as an empty list. */
  optional: boolean;
  list: (k: K8s, kc: KubeConfig) => ListFn;
}

function custom(group: string, version: string, plural: string): Resource['list'] {
  return (k, kc) => {
    const api = kc.makeApiClient(k.CustomObjectsApi);
    return () => api.listClusterCustomObject({ group, version, plural });
  };
}

/** The watched resources: cluster-wide list and watch paths. */
export const RESOURCES: readonly Resource[] = [
  { kind: 'Namespace', path: '/api/v1/namespaces', optional: false, list: (k, kc) => { const a = kc.makeApiClient(k.CoreV1Api); return () => a.listNamespace() as never; } },
  { kind: 'Service', path: '/api/v1/services', optional: false, list: (k, kc) => { const a = kc.makeApiClient(k.CoreV1Api); return () => a.listServiceForAllNamespaces() as never; } },
  { kind: 'Pod', path: '/api/v1/pods', optional: false, list: (k, kc) => { const a = kc.makeApiClient(k.CoreV1Api); return () => a.listPodForAllNamespaces() as never; } },
  {
    kind: 'EndpointSlice',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    optional: false,
    list: (k, kc) => { const a = kc.makeApiClient(k.DiscoveryV1Api); return () => a.listEndpointSliceForAllNamespaces() as never; },
  },
  { kind: 'HTTPRoute', path: '/apis/gateway.networking.k8s.io/v1/httproutes', optional: true, list: custom('gateway.networking.k8s.io', 'v1', 'httproutes') },
  { kind: 'TrafficPolicy', path: '/apis/ferry.io/v1alpha1/trafficpolicies', optional: true, list: custom('ferry.io', 'v1alpha1', 'trafficpolicies') },
  { kind: 'AccessPolicy', path: '/apis/ferry.io/v1alpha1/accesspolicies', optional: true, list: custom('ferry.io', 'v1alpha1', 'accesspolicies') },
];

function statusOf(err: unknown): number | null {
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  const c = e?.statusCode ?? e?.code;
  return typeof c === 'number' ? c : null;
}

interface Watched {
  resource: Resource;
  informer: { start(): Promise<void>; stop(): Promise<void> };
  synced: boolean;
  failures: number;
  lists: number;
  lastError: string | null;
  retry: Timer | null;
}

export class KubernetesRegistry implements Registry {
  private readonly store = new ObjectStore();
  private readonly log: Logger;
  private readonly watched: Watched[] = [];
  /** Objects whose latest version failed validation: key → error (the previous valid version stays). */
  private readonly invalid = new Map<string, string>();
  private current: MeshModel | null = null;
  private onChange: ((m: MeshModel, times?: ChangeTimes) => void) | null = null;
  /** When the watch events behind the next rebuild happened (null: none pending). */
  private eventTimes: { first: number; last: number } | null = null;
  private timer: Timer | null = null;
  private stopped = false;
  private builds = 0;
  private readonly clock: Clock;

  constructor(private readonly options: KubernetesRegistryOptions = {}) {
    this.log = options.logger ?? rootLogger.child('registry');
    this.clock = options.clock ?? systemClock;
  }

  get model(): MeshModel | null {
    return this.current;
  }

  async start(onChange: (model: MeshModel, times?: ChangeTimes) => void): Promise<void> {
    const k8s: K8s = await import('@kubernetes/client-node');
    const kc = this.options.kubeConfig ?? new k8s.KubeConfig();
    if (!this.options.kubeConfig) {
      if (this.options.kubeconfig) kc.loadFromFile(this.options.kubeconfig);
      else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else kc.loadFromDefault();
    }
    let resolveSynced!: () => void;
    const allSynced = new Promise<void>((r) => (resolveSynced = r));
    const markSynced = (w: Watched) => {
      if (w.synced) return;
      w.synced = true;
      if (this.watched.every((x) => x.synced)) resolveSynced();
    };
    for (const resource of RESOURCES) {
      const list = resource.list(k8s, kc);
      const w: Watched = { resource, informer: null as never, synced: false, failures: 0, lists: 0, lastError: null, retry: null };
      const listFn: ListFn = async () => {
        try {
          const out = await list();
          w.lists++;
          w.failures = 0;
          w.lastError = null;
          // The informer adds the items right after this promise settles (in microtasks); count the
          // resource as synced only after that, so the first model has them.
          setImmediate(() => markSynced(w));
          return out;
        } catch (e) {
          if (resource.optional && statusOf(e) === 404) {
            if (!w.synced) this.log.warn('resource not installed; treating it as empty', { kind: resource.kind, path: resource.path });
            markSynced(w);
          }
          throw e;
        }
      };
      const informer = k8s.makeInformer(kc, resource.path, listFn as never);
      w.informer = informer;
      informer.on('add', (o) => this.upsert(resource.kind, o as unknown as RawObject));
      informer.on('update', (o) => this.upsert(resource.kind, o as unknown as RawObject));
      informer.on('delete', (o) => this.remove(resource.kind, o as unknown as RawObject));
      informer.on('error', (err: unknown) => this.failed(w, err));
      this.watched.push(w);
    }
    this.onChange = onChange;
    await Promise.all(this.watched.map((w) => w.informer.start()));
    await allSynced;
    if (this.stopped) return;
    this.rebuild();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.onChange = null;
    if (this.timer) this.clock.clearTimeout(this.timer);
    for (const w of this.watched) {
      if (w.retry) this.clock.clearTimeout(w.retry);
      await w.informer.stop();
    }
  }

  debug(): Record<string, unknown> {
    return {
      source: 'kubernetes',
      modelVersion: this.current?.version ?? null,
      objects: this.store.size,
      builds: this.builds,
      resources: this.watched.map((w) => ({
        kind: w.resource.kind,
        path: w.resource.path,
        synced: w.synced,
        lists: w.lists,
        consecutiveFailures: w.failures,
        lastError: w.lastError,
      })),
      invalidObjects: Object.fromEntries(this.invalid),
      warnings: this.current?.warnings ?? [],
    };
  }

  private upsert(kind: MeshObjectKind, raw: RawObject): void {
    const key = `${kind}/${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`;
    try {
      this.store.put(KINDS[kind].parse(raw));
      this.invalid.delete(key);
    } catch (e) {
      const msg = (e as Error).message;
      this.invalid.set(key, msg);
      this.log.warn('invalid object ignored; its previous version (if any) stays', { error: msg });
      return;
    }
    this.schedule();
  }

  private remove(kind: MeshObjectKind, raw: RawObject): void {
    const ns = kind === 'Namespace' ? '' : (raw.metadata?.namespace ?? '');
    this.invalid.delete(`${kind}/${ns}/${raw.metadata?.name ?? ''}`);
    if (this.store.delete(kind, ns, raw.metadata?.name ?? '')) this.schedule();
  }

  /** A failed list or watch: the informer has stopped; start it again after a jittered, growing delay. */
  private failed(w: Watched, err: unknown): void {
    if (this.stopped) return;
    w.failures++;
    const status = statusOf(err);
    w.lastError = `${status ?? ''} ${(err as Error)?.message ?? String(err)}`.trim();
    const { initial, max } = this.options.backoffMs ?? { initial: 500, max: 30_000 };
    const random = this.options.random ?? Math.random;
    const ceiling = Math.min(max, initial * 2 ** Math.min(w.failures - 1, 20));
    const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
    if (!(w.resource.optional && status === 404)) {
      this.log.warn('list/watch failed; retrying', { kind: w.resource.kind, error: w.lastError, delayMs: delay });
    }
    w.retry = this.clock.setTimeout(() => {
      w.retry = null;
      if (!this.stopped) void w.informer.start().catch((e: unknown) => this.failed(w, e));
    }, delay);
  }

  private schedule(): void {
    if (!this.current || this.stopped) return; // the first model is built once everything has synced
    const now = this.clock.now();
    if (this.eventTimes) this.eventTimes.last = now;
    else this.eventTimes = { first: now, last: now };
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.rebuild();
    }, this.options.debounceMs ?? 20);
  }

  private rebuild(): void {
    const events = this.eventTimes;
    this.eventTimes = null;
    const model = buildMeshModel(this.store.list(), { clusterDomain: this.options.clusterDomain, trustDomain: this.options.trustDomain, previous: this.current });
    this.builds++;
    if (this.current && this.current.version === model.version) return;
    this.current = model;
    this.onChange?.(model, events ? { firstEventAt: events.first, lastEventAt: events.last } : undefined);
  }
}

/** The factory `ferry controller --registry kubernetes` looks up: kubeconfig path (null: in-cluster/default). */
export function createKubernetesRegistry(opts: { kubeconfig: string | null; logger?: Logger; clock?: Clock }): KubernetesRegistry {
  return new KubernetesRegistry({ kubeconfig: opts.kubeconfig ?? undefined, logger: opts.logger, clock: opts.clock });
}
