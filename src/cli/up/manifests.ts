// The YAML a user would `kubectl apply`, read for `ferry up`: mesh objects for the controller, workloads to run.
//
// Mesh kinds (Namespace, Service, EndpointSlice, HTTPRoute, TrafficPolicy, AccessPolicy) go through the
// controller's own validator (parseObject), so `ferry up` accepts exactly what the registry will;
// Deployments and Pods go through workload.ts. Any other kind is refused. Errors read like the file
// registry's: `shop.yaml:14: document 3: Deployment shop/cart: spec.template.spec.volumes: is not supported by ferry up`.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { ConfigError, ConfigFileError, UnsupportedConfigError } from '../../errors';
import { isPlainObject } from '../../config/reader';
import { parseObject } from '../../controller/model/object-store';
import type { MeshObject, ServiceObject } from '../../controller/model/types';
import { parseYamlDocuments, type SourceDocument } from '../../controller/registry/yaml-documents';
import { podTemplates, type PodTemplate } from './workload';

export interface Manifests {
  /** Raw mesh objects, written to the controller's registry as they are (Services get a clusterIP there). */
  readonly meshObjects: readonly Record<string, unknown>[];
  /** The validated Services (for endpoints and service env). */
  readonly services: readonly ServiceObject[];
  /** Namespace name → labels (namespaces only named by objects have none). */
  readonly namespaces: ReadonlyMap<string, Record<string, string>>;
  readonly pods: readonly PodTemplate[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The files of `path` (a file, or a folder read recursively in name order). */
export function manifestFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new ConfigFileError(path, `cannot read: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...manifestFiles(p));
    else if (EXTENSIONS.has(extname(name))) out.push(p);
  }
  return out;
}

function objectName(raw: Record<string, unknown>): string {
  const m = isPlainObject(raw.metadata) ? raw.metadata : {};
  const ns = typeof m.namespace === 'string' ? `${m.namespace}/` : raw.kind === 'Namespace' ? '' : 'default/';
  return `${String(raw.kind)} ${ns}${typeof m.name === 'string' ? m.name : '(unnamed)'}`;
}

/** Rethrows a ConfigError from inside an object with file, line of the field, and document number in front. */
function located(doc: SourceDocument, item: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const field = e.path.includes(': ') ? e.path.slice(e.path.lastIndexOf(': ') + 2) : e.path;
    const line = doc.lineOf(item ? `${item}.${field}` : field);
    const err = new ConfigError(`${doc.file}:${line}: document ${doc.index + 1}`, e.message, { cause: e });
    (err as { code: string }).code = e.code;
    throw err;
  }
}

/** Reads and checks every manifest under `paths`. Throws ConfigError/ConfigFileError naming file, line and field. */
export function readManifests(paths: readonly string[]): Manifests {
  const meshObjects: Record<string, unknown>[] = [];
  const services: ServiceObject[] = [];
  const namespaces = new Map<string, Record<string, string>>();
  const pods: PodTemplate[] = [];
  const seen = new Set<string>();
  const files = paths.flatMap(manifestFiles);
  if (files.length === 0) throw new ConfigFileError(paths.join(', '), 'no .yaml, .yml or .json files');
  for (const file of files) {
    const docs = parseYamlDocuments(file, readFileSync(file, 'utf8'));
    for (const doc of docs) {
      const items: [unknown, string][] = isPlainObject(doc.value) && doc.value.kind === 'List' && Array.isArray(doc.value.items)
        ? doc.value.items.map((v, i) => [v, `items[${i}]`])
        : [[doc.value, '']];
      for (const [value, item] of items) {
        located(doc, item, () => {
          if (!isPlainObject(value)) throw new ConfigError('', 'expected a Kubernetes object');
          const id = objectName(value);
          if (seen.has(id)) throw new ConfigError(id, 'is defined twice');
          seen.add(id);
          if (value.kind === 'Deployment' || value.kind === 'Pod') {
            try {
              pods.push(...podTemplates(value).map((t) => ({ ...t, sourceDir: resolve(dirname(file)) })));
            } catch (e) {
              if (e instanceof ConfigError) {
                const err = new ConfigError(`${id}: ${e.path}`, e.message.slice(e.path.length + 2));
                (err as { code: string }).code = e.code;
                throw err;
              }
              throw e;
            }
            return;
          }
          const parsed: MeshObject | null = parseObject(value);
          if (parsed === null) {
            throw new UnsupportedConfigError(`${id}: kind`, `${String(value.kind)} is not supported by ferry up (Namespace, Service, Deployment, Pod, EndpointSlice, HTTPRoute, TrafficPolicy, AccessPolicy are)`);
          }
          if (parsed.kind === 'Service') services.push(parsed);
          if (parsed.kind === 'Namespace') namespaces.set(parsed.name, { ...parsed.labels });
          meshObjects.push(value);
        });
      }
    }
  }
  for (const t of pods) if (!namespaces.has(t.pod.metadata.namespace)) namespaces.set(t.pod.metadata.namespace, {});
  return { meshObjects, services, namespaces, pods };
}
