// Builds the immutable MeshModel from validated objects: endpoints per service port, routes, effective policies.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { DEFAULT_TRUST_DOMAIN } from '../../mesh/constants';
import { deepFreeze } from '../../config/freeze';
import { attachRoutes } from './attach-routes';
import { DEFAULT_ACCESS, DEFAULT_CLUSTER_DOMAIN, DEFAULT_HEALTH_CHECK, DEFAULT_OUTLIER, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './defaults';
import type {
  AccessPolicyObject,
  EffectiveAccessPolicy,
  EffectiveTrafficPolicy,
  EndpointSliceObject,
  HttpRouteObject,
  MeshEndpoint,
  MeshHttpRoute,
  MeshModel,
  MeshObject,
  MeshPort,
  MeshService,
  NamespaceObject,
  PodObject,
  ServiceObject,
  TrafficPolicyObject,
} from './types';

export interface BuildOptions {
  clusterDomain?: string;
  trustDomain?: string;
  /**
   * The model this one replaces: services whose content did not change are the very same objects,
   * so translation caches keyed by service (and the snapshot cache's encodings) keep working.
   */
  previous?: MeshModel | null;
}

/** What a build knows of each service it produced: its content and the inputs it came from. */
interface Built {
  /** The service's JSON (Maps as entry lists), for the next build to compare. */
  readonly json: string;
  /** Short content hash (part of the model version). */
  readonly hash: string;
  readonly svc: ServiceObject;
  readonly slices: readonly EndpointSliceObject[];
  readonly traffic: TrafficPolicyObject | undefined;
  readonly access: AccessPolicyObject | undefined;
  readonly routesJson: string;
  /** Identifies the Pods (and domains) the endpoints were resolved against. */
  readonly podsEpoch: object;
}
const builtServices = new WeakMap<MeshService, Built>();

/** One epoch object per distinct set of Pod objects (by identity) and domains: equal epoch, equal Pod lookups. */
interface PodsEpoch {
  readonly pods: ReadonlyMap<string, PodObject>;
  readonly domains: string;
}
const epochs = new WeakMap<MeshModel, PodsEpoch>();

function sameInputs(b: Built, svc: ServiceObject, slices: readonly EndpointSliceObject[], traffic: TrafficPolicyObject | undefined, access: AccessPolicyObject | undefined, routesJson: string, epoch: object): boolean {
  if (b.svc !== svc || b.traffic !== traffic || b.access !== access || b.podsEpoch !== epoch || b.routesJson !== routesJson) return false;
  if (b.slices.length !== slices.length) return false;
  for (let i = 0; i < slices.length; i++) if (b.slices[i] !== slices[i]) return false;
  return true;
}

function sameObjects<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x instanceof Map ? [...x] : x));
}

function byName<T extends { namespace: string; name: string }>(a: T, b: T): number {
  return a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function effectiveTraffic(p: TrafficPolicyObject | undefined): EffectiveTrafficPolicy {
  if (!p) {
    return {
      source: null,
      loadBalancer: { type: 'RoundRobin', hashOn: null },
      connectionPool: null,
      outlierDetection: DEFAULT_OUTLIER,
      healthCheck: DEFAULT_HEALTH_CHECK,
      retries: DEFAULT_RETRIES,
      timeoutMs: DEFAULT_TIMEOUT_MS,
    };
  }
  const s = p.spec;
  return {
    source: `${p.namespace}/${p.name}`,
    loadBalancer: s.loadBalancer ?? { type: 'RoundRobin', hashOn: null },
    connectionPool: s.connectionPool,
    outlierDetection: s.outlierDetection ?? DEFAULT_OUTLIER,
    healthCheck: s.healthCheck === 'disabled' ? null : (s.healthCheck ?? DEFAULT_HEALTH_CHECK),
    retries: s.retries ?? DEFAULT_RETRIES,
    timeoutMs: s.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

function effectiveAccess(p: AccessPolicyObject | undefined): EffectiveAccessPolicy {
  if (!p) return DEFAULT_ACCESS;
  return {
    source: `${p.namespace}/${p.name}`,
    mtlsMode: p.spec.mtlsMode ?? null,
    allowedIdentities: p.spec.allowedIdentities,
    allowedNamespaces: p.spec.allowedNamespaces,
    rateLimit: p.spec.rateLimit,
  };
}

/** One policy per target: the oldest-named wins (sorted by name), the others are warnings. */
function pickPolicies<T extends { namespace: string; name: string; kind: string }>(
  list: T[],
  key: (p: T) => string,
  warnings: string[],
): Map<string, T> {
  const out = new Map<string, T>();
  for (const p of [...list].sort(byName)) {
    const k = key(p);
    const prev = out.get(k);
    if (prev) warnings.push(`${p.kind} ${p.namespace}/${p.name}: ignored, ${prev.kind} ${prev.namespace}/${prev.name} already targets ${k}`);
    else out.set(k, p);
  }
  return out;
}

function endpointsFor(
  svc: ServiceObject,
  portName: string,
  slices: readonly EndpointSliceObject[],
  pods: ReadonlyMap<string, PodObject>,
  podsByIp: ReadonlyMap<string, PodObject>,
  trustDomain: string,
): MeshEndpoint[] {
  const seen = new Map<string, MeshEndpoint>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const sp = slice.ports.find((p) => p.name === portName) ?? (slice.ports.length === 1 && svc.ports.length === 1 ? slice.ports[0] : undefined);
    if (!sp) continue;
    for (const e of slice.endpoints) {
      let pod: PodObject | undefined;
      if (e.targetRef && e.targetRef.kind === 'Pod') pod = pods.get(`${e.targetRef.namespace || slice.namespace}/${e.targetRef.name}`);
      for (const ip of e.addresses) {
        if (isIP(ip) === 0) continue;
        const p = pod ?? podsByIp.get(ip);
        const ep: MeshEndpoint = {
          ip,
          port: sp.port,
          ready: e.ready,
          serving: e.serving,
          terminating: e.terminating,
          zone: e.zone,
          pod: p ? { namespace: p.namespace, name: p.name } : e.targetRef?.kind === 'Pod' ? { namespace: e.targetRef.namespace || slice.namespace, name: e.targetRef.name } : null,
          identity: p ? `spiffe://${trustDomain}/ns/${p.namespace}/sa/${p.serviceAccountName}` : null,
        };
        const key = `${ip}|${sp.port}`;
        const prev = seen.get(key);
        // The same address in two slices (during a slice handover): the ready copy wins.
        if (!prev || (!prev.ready && ep.ready)) seen.set(key, ep);
      }
    }
  }
  return [...seen.values()].sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** Builds a frozen MeshModel; the objects are not modified. */
export function buildMeshModel(objects: Iterable<MeshObject>, options: BuildOptions = {}): MeshModel {
  const clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const warnings: string[] = [];
  const services = new Map<string, ServiceObject>();
  const slices = new Map<string, EndpointSliceObject[]>();
  const pods = new Map<string, PodObject>();
  const podsByIp = new Map<string, PodObject>();
  const namespaces = new Map<string, NamespaceObject>();
  const routes: HttpRouteObject[] = [];
  const traffic: TrafficPolicyObject[] = [];
  const access: AccessPolicyObject[] = [];
  for (const o of objects) {
    switch (o.kind) {
      case 'Service': services.set(`${o.namespace}/${o.name}`, o); break;
      case 'EndpointSlice': push(slices, `${o.namespace}/${o.serviceName}`, o); break;
      case 'Pod': pods.set(`${o.namespace}/${o.name}`, o); break;
      case 'Namespace': namespaces.set(o.name, o); break;
      case 'HTTPRoute': routes.push(o); break;
      case 'TrafficPolicy': traffic.push(o); break;
      case 'AccessPolicy': access.push(o); break;
    }
  }
  for (const p of [...pods.values()].sort(byName)) for (const ip of p.ips) if (!podsByIp.has(ip)) podsByIp.set(ip, p);
  for (const l of slices.values()) l.sort(byName);
  const hostname = (ns: string, name: string) => `${name}.${ns}.svc.${clusterDomain}`;
  const attached = attachRoutes([...routes].sort(byName), services, hostname, warnings);
  const trafficByTarget = pickPolicies(traffic, (p) => `${p.namespace}/${p.target}`, warnings);
  const accessByTarget = pickPolicies(access, (p) => (p.target.kind === 'Namespace' ? p.namespace : `${p.namespace}/${p.target.name}`), warnings);
  for (const [k, p] of trafficByTarget) if (!services.has(k)) warnings.push(`TrafficPolicy ${p.namespace}/${p.name}: Service ${k} not found`);
  for (const [k, p] of accessByTarget) {
    if (p.target.kind === 'Service' && !services.has(k)) warnings.push(`AccessPolicy ${p.namespace}/${p.name}: Service ${k} not found`);
  }

  const list: MeshService[] = [];
  const versionHash = createHash('sha256');
  // The Pods and domains endpoints are resolved against: unchanged (same objects) since the previous
  // build, a service whose own inputs are the same objects too is that build's service, untouched.
  const domains = `${clusterDomain}|${trustDomain}`;
  const prevEpoch = options.previous ? epochs.get(options.previous) : undefined;
  const epoch: PodsEpoch = prevEpoch && prevEpoch.domains === domains && sameObjects(prevEpoch.pods, pods) ? prevEpoch : { pods, domains };
  for (const svc of [...services.values()].sort(byName)) {
    const key = `${svc.namespace}/${svc.name}`;
    const svcSlices = slices.get(key) ?? [];
    const traffic = trafficByTarget.get(key);
    const access = accessByTarget.get(key) ?? accessByTarget.get(svc.namespace);
    const routes = attached.get(key) ?? new Map<number, MeshHttpRoute[]>();
    const routesJson = routes.size === 0 ? '' : toJson(routes);
    const prev = options.previous?.serviceIndex.get(key);
    const prevBuilt = prev ? builtServices.get(prev) : undefined;
    if (prev && prevBuilt && sameInputs(prevBuilt, svc, svcSlices, traffic, access, routesJson, epoch)) {
      list.push(prev);
      versionHash.update(prevBuilt.hash);
      continue;
    }
    const ports: MeshPort[] = svc.ports.map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol,
      endpoints: endpointsFor(svc, p.name, svcSlices, pods, podsByIp, trustDomain),
    }));
    const built: MeshService = {
      namespace: svc.namespace,
      name: svc.name,
      hostname: hostname(svc.namespace, svc.name),
      clusterIP: svc.clusterIP,
      headless: svc.headless,
      ports,
      routes,
      trafficPolicy: effectiveTraffic(traffic),
      accessPolicy: effectiveAccess(access),
    };
    const json = toJson(built);
    // Same content from new inputs (a rewritten but equal file): still the previous object.
    const same = prev !== undefined && prevBuilt !== undefined && prevBuilt.json === json;
    const out = same ? prev : built;
    const hash = same ? prevBuilt.hash : createHash('sha256').update(json).digest('base64').slice(0, 16);
    builtServices.set(out, { json, hash, svc, slices: svcSlices, traffic, access, routesJson, podsEpoch: epoch });
    list.push(out);
    versionHash.update(hash);
  }
  const serviceIndex = new Map(list.map((s) => [`${s.namespace}/${s.name}`, s]));
  const version = versionHash.update(toJson({ clusterDomain, trustDomain, ns: [...namespaces.values()], pods: [...podsByIp] })).digest('hex').slice(0, 16);
  const model: MeshModel = deepFreeze({
    version,
    clusterDomain,
    trustDomain,
    services: list,
    namespaces,
    podsByIp,
    serviceIndex,
    warnings,
  });
  epochs.set(model, epoch);
  return model;
}
