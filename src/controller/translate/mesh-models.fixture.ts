// Test fixtures for the translators: nodes, the sample mesh model, and a model from inline objects.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildMeshModel } from '../model/build-model';
import { parseObject } from '../model/object-store';
import type { MeshModel, MeshObject } from '../model/types';
import type { NodeInfo } from '../types';
import { parseYamlDocuments } from '../registry/yaml-documents';

export const EXAMPLE_MESH = join(__dirname, '..', '..', '..', '..', 'examples', 'mesh');

export function node(kind: NodeInfo['kind'], metadata: Record<string, unknown> = {}, userAgentName = ''): NodeInfo {
  return {
    id: `${kind}-1`,
    cluster: 'demo',
    metadata,
    locality: { region: '', zone: '', subZone: '' },
    userAgentName: userAgentName || (kind === 'grpc' ? 'gRPC Node' : kind === 'envoy' ? 'envoy' : 'ferry'),
    userAgentVersion: '1',
    clientFeatures: [],
    kind,
  };
}

export function modelFrom(raw: unknown[]): MeshModel {
  return buildMeshModel(raw.map((r) => parseObject(r)).filter((o): o is MeshObject => o !== null));
}

/** examples/mesh as a model, with reviews' ClusterIP fixed (the file registry would allocate one). */
export function exampleModel(): MeshModel {
  const raw: unknown[] = [];
  for (const f of readdirSync(EXAMPLE_MESH).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const d of parseYamlDocuments(f, readFileSync(join(EXAMPLE_MESH, f), 'utf8'))) {
      const v = d.value as { kind?: string; items?: unknown[]; spec?: Record<string, unknown>; metadata?: { name?: string } };
      if (v.kind === 'List') raw.push(...(v.items ?? []));
      else if (v.kind === 'Service' && v.metadata?.name === 'reviews') raw.push({ ...v, spec: { ...v.spec, clusterIP: '10.96.0.10' } });
      else raw.push(v);
    }
  }
  return modelFrom(raw);
}

/** A local mesh for bind mode: loopback VIPs, pods on 127.0.x.y, a weighted split, a rate limit, services bind mode leaves out. */
export function localMeshModel(): MeshModel {
  const NS = 'shop';
  const svc = (name: string, clusterIP: string, ports: unknown[]) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { clusterIP, ports } });
  const slice = (service: string, portName: string, port: number, ips: string[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: portName, port }],
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
  });
  return modelFrom([
    svc('web', '127.10.0.12', [{ name: 'http', port: 80, targetPort: 8080 }]),
    slice('web', 'http', 8080, ['127.0.3.1', '127.0.0.1']),
    svc('web-v2', '127.10.0.13', [{ name: 'http', port: 80, targetPort: 8080 }]),
    slice('web-v2', 'http', 8080, ['127.0.3.2']),
    svc('raw', '127.10.0.14', [{ name: 'p', port: 7000 }]),
    slice('raw', 'p', 7000, ['127.0.3.1']),
    svc('cache', '127.10.0.15', [{ name: 'tcp-redis', port: 6379 }]),
    svc('far', '10.96.0.9', [{ name: 'http', port: 80 }]),
    svc('headless', 'None', [{ name: 'http', port: 80 }]),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'split', namespace: NS },
      spec: { parentRefs: [{ kind: 'Service', name: 'web', port: 80 }], rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 80 }, { name: 'web-v2', port: 80, weight: 20 }] }] },
    },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: 'rl', namespace: NS }, spec: { targetRef: { kind: 'Service', name: 'web' }, rateLimit: { requests: 5, interval: '1s' } } },
  ]);
}

/** A meshed local model: Pods with service accounts behind every endpoint, STRICT and allow rules, HTTP, TCP and unknown ports. */
export function meshedModel(): MeshModel {
  const ns = 'm';
  const pod = (name: string, ip: string, sa: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { serviceAccountName: sa }, status: { podIP: ip } });
  const svc = (name: string, clusterIP: string, port: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP, ports: [port] } });
  const slice = (service: string, portName: string, port: number, ip: string) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: portName, port }],
    endpoints: [{ addresses: [ip] }],
  });
  const ap = (target: Record<string, unknown>, spec: Record<string, unknown>) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: String(target.name), namespace: ns }, spec: { targetRef: target, ...spec } });
  return modelFrom([
    pod('web-0', '127.0.3.1', 'web'),
    pod('db-0', '127.0.3.2', 'db'),
    svc('web', '127.10.0.1', { name: 'http', port: 80, targetPort: 8080 }),
    slice('web', 'http', 8080, '127.0.3.1'),
    svc('grpc', '127.10.0.2', { name: 'grpc', port: 9090 }),
    slice('grpc', 'grpc', 9090, '127.0.3.1'),
    svc('raw', '127.10.0.3', { name: 'p', port: 7000 }),
    slice('raw', 'p', 7000, '127.0.3.1'),
    svc('db', '127.10.0.4', { name: 'tcp-pg', port: 5432 }),
    slice('db', 'tcp-pg', 5432, '127.0.3.2'),
    ap({ kind: 'Service', name: 'web' }, { mtls: { mode: 'STRICT' }, allow: { identities: ['spiffe://cluster.local/ns/m/sa/client'], namespaces: ['ops'] }, rateLimit: { requests: 5, interval: '1s' } }),
    ap({ kind: 'Service', name: 'db' }, { allow: { namespaces: ['m'] } }),
    ap({ kind: 'Namespace', name: 'm' }, { mtls: { mode: 'STRICT' } }),
  ]);
}
