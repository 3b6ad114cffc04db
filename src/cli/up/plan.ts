// What a `ferry up` run derives from the manifests (pure): addresses, service VIPs and env, and the registry the controller reads.
//
// The controller learns the mesh the way it would from Kubernetes: Pods with their IP and service
// account, Services with a clusterIP, and EndpointSlices whose `ready` follows each pod's readiness
// probes. One slice per service and pod, so a pod's port can differ from its replicas' (bind mode
// moves app ports) and a readiness change rewrites one pod's slices.

import type { ServiceObject } from '../../controller/model/types';
import type { Container } from '../../../webhook/types';
import type { Manifests } from './manifests';
import type { PodTemplate } from './workload';

/** IPv4 `a.b.c.d` → number and back. */
export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** `count` addresses from `first` on, skipping `.0` and `.255` of each /24. */
export function addressRange(first: string, count: number): string[] {
  const out: string[] = [];
  for (let n = ipToInt(first); out.length < count; n++) {
    const last = n % 256;
    if (last !== 0 && last !== 255) out.push(intToIp(n));
  }
  return out;
}

/**
 * Services as the registry gets them: a clusterIP of their own (kept when the manifest sets one,
 * else the next free address from `vips`), so `ferry up` can hand the VIPs to apps as service env.
 */
export function assignClusterIps(services: readonly ServiceObject[], vips: readonly string[]): Map<string, string> {
  const taken = new Set(services.map((s) => s.clusterIP).filter((ip): ip is string => ip !== null));
  const free = vips.filter((ip) => !taken.has(ip));
  const out = new Map<string, string>();
  for (const s of services) {
    if (s.headless) continue;
    const ip = s.clusterIP ?? free.shift();
    if (ip === undefined) throw new Error(`no service address left for Service ${s.namespace}/${s.name} (${vips.length} in the range)`);
    out.set(`${s.namespace}/${s.name}`, ip);
  }
  return out;
}

/** The env Kubernetes gives every container about the Services of its namespace (`CATALOG_SERVICE_HOST`, …). */
export function serviceEnv(services: readonly ServiceObject[], clusterIps: ReadonlyMap<string, string>, namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of services) {
    const ip = clusterIps.get(`${s.namespace}/${s.name}`);
    if (s.namespace !== namespace || ip === undefined || s.ports.length === 0) continue;
    const name = s.name.toUpperCase().replace(/-/g, '_');
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(s.ports[0].port);
    for (const p of s.ports) if (p.name) env[`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
  }
  return env;
}

/** Whether a selector (non-empty) picks these labels. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/** A service port's target on one pod: a number, or a named container port; null when the pod has no such port. */
export function targetPortOn(target: number | string, containers: readonly Container[]): number | null {
  if (typeof target === 'number') return target;
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === target && p.containerPort) return p.containerPort;
  return null;
}

/** One pod as the registry sees it. */
export interface RegistryPod {
  readonly template: PodTemplate;
  readonly ip: string;
  /** Where endpoints point for a workload port (bind mode moves unmeshed apps' ports; default: the port itself). */
  readonly endpointPort: (port: number) => number;
  readonly ready: boolean;
}

type Json = Record<string, unknown>;

/** The Pod object the controller reads. */
export function registryPod(p: RegistryPod): Json {
  const m = p.template.pod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: m.name, namespace: m.namespace, labels: m.labels, ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}) },
    spec: { serviceAccountName: p.template.pod.spec?.serviceAccountName ?? 'default' },
    status: { podIP: p.ip },
  };
}

/** The EndpointSlices of one pod: one per Service that selects it and has a port on it. */
export function podEndpointSlices(services: readonly ServiceObject[], p: RegistryPod): Json[] {
  const m = p.template.pod.metadata;
  const containers = p.template.pod.spec?.containers ?? [];
  const out: Json[] = [];
  for (const s of services) {
    if (s.namespace !== m.namespace || !selects(s.selector, m.labels)) continue;
    const ports = s.ports
      .map((sp) => ({ sp, target: targetPortOn(sp.targetPort, containers) }))
      .filter((x): x is { sp: (typeof s.ports)[number]; target: number } => x.target !== null)
      .map(({ sp, target }) => ({ name: sp.name, port: p.endpointPort(target), protocol: 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) }));
    if (ports.length === 0) continue;
    out.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${s.name}-${m.name}`, namespace: m.namespace, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4',
      ports,
      endpoints: [{ addresses: [p.ip], conditions: { ready: p.ready }, targetRef: { kind: 'Pod', namespace: m.namespace, name: m.name } }],
    });
  }
  return out;
}

/** The mesh objects with every Service's clusterIP filled in. */
export function registryMeshObjects(manifests: Manifests, clusterIps: ReadonlyMap<string, string>): Json[] {
  return manifests.meshObjects.map((o) => {
    if (o.kind !== 'Service') return o;
    const meta = o.metadata as Json;
    const ip = clusterIps.get(`${String(meta.namespace ?? 'default')}/${String(meta.name)}`);
    return ip === undefined ? o : { ...o, spec: { ...(o.spec as Json), clusterIP: ip } };
  });
}

/** Expands `$(VAR)` from `env` as Kubernetes does in command, args and env values; `$$(VAR)` stays literal. */
export function expandVars(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : m;
  });
}
