// The store of validated Kubernetes objects, keyed by kind/namespace/name; both registries fill it.

import { ConfigError } from '../../errors';
import { isPlainObject } from '../../config/reader';
import { parseEndpointSlice, parseNamespace, parsePod, parseService } from './core-objects';
import { parseHttpRoute } from './http-route';
import { FERRY_API_VERSION, parseAccessPolicy, parseTrafficPolicy } from './policies';
import type { MeshObject, MeshObjectKind } from './types';

type Parser = (raw: Record<string, unknown>) => MeshObject;

/** The kinds the mesh reads, the apiVersions accepted for each, and their validators. */
export const KINDS: Readonly<Record<MeshObjectKind, { apiVersions: readonly string[]; parse: Parser }>> = {
  Service: { apiVersions: ['v1'], parse: parseService },
  EndpointSlice: { apiVersions: ['discovery.k8s.io/v1'], parse: parseEndpointSlice },
  Pod: { apiVersions: ['v1'], parse: parsePod },
  Namespace: { apiVersions: ['v1'], parse: parseNamespace },
  HTTPRoute: { apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'], parse: parseHttpRoute },
  TrafficPolicy: { apiVersions: [FERRY_API_VERSION], parse: parseTrafficPolicy },
  AccessPolicy: { apiVersions: [FERRY_API_VERSION], parse: parseAccessPolicy },
};

/**
 * Validates one object carrying apiVersion and kind. Kinds the mesh does not read (Deployment,
 * ConfigMap…) give null; a known kind with another apiVersion is an error.
 */
export function parseObject(raw: unknown, path = ''): MeshObject | null {
  const at = (f: string) => (path ? `${path}.${f}` : f);
  if (!isPlainObject(raw)) throw new ConfigError(path, 'expected a Kubernetes object');
  const { apiVersion, kind } = raw;
  if (typeof kind !== 'string' || kind === '') throw new ConfigError(at('kind'), 'is required');
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new ConfigError(at('apiVersion'), 'is required');
  const k = KINDS[kind as MeshObjectKind];
  if (!k || !Object.prototype.hasOwnProperty.call(KINDS, kind)) return null;
  if (!k.apiVersions.includes(apiVersion)) {
    throw new ConfigError(at('apiVersion'), `${apiVersion} is not supported for ${kind} (expected ${k.apiVersions.join(' or ')})`);
  }
  return k.parse(raw);
}

export function objectKey(o: { kind: string; namespace?: string; name: string }): string {
  return `${o.kind}/${o.namespace ?? ''}/${o.name}`;
}

/** A mutable map of validated objects; the model is built from a snapshot of it. */
export class ObjectStore {
  private readonly objects = new Map<string, MeshObject>();

  put(obj: MeshObject): void {
    this.objects.set(objectKey(obj), obj);
  }

  delete(kind: MeshObjectKind, namespace: string, name: string): boolean {
    return this.objects.delete(objectKey({ kind, namespace, name }));
  }

  get(kind: MeshObjectKind, namespace: string, name: string): MeshObject | undefined {
    return this.objects.get(objectKey({ kind, namespace, name }));
  }

  /** Drops every object of a kind (a re-list replaces them all). */
  clearKind(kind: MeshObjectKind): void {
    for (const [k, o] of this.objects) if (o.kind === kind) this.objects.delete(k);
  }

  get size(): number {
    return this.objects.size;
  }

  list(): MeshObject[] {
    return [...this.objects.values()];
  }
}
