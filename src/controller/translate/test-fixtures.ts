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
