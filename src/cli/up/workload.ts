// Deployments and Pods as `ferry up` runs them: each replica's pod, with only the fields a local process can honour.
//
// Pure. A container runs its `command` + `args` with its `env` (values and the downward API fields a
// pod knows: name, namespace, pod IP, service account); `ports` and the probes are honoured; `image`,
// `imagePullPolicy` and `resources` are informational. Any other field is refused with its path, the
// way src/config/ refuses Envoy fields it does not implement, so nothing is silently ignored.

import { podTemplateHash, POD_TEMPLATE_HASH_LABEL } from '../../mesh/workload-name';
import { ConfigError, UnsupportedConfigError } from '../../errors';
import { isPlainObject } from '../../config/reader';
import type { Container, Pod } from '../../../webhook/types';

/** One replica to run: a Pod object the injector can take, plus where it came from. */
export interface PodTemplate {
  /** `Deployment shop/catalog` or `Pod shop/loadgen`: how messages name the workload. */
  readonly workload: string;
  /** The manifest's folder: apps run there (or in a container's workingDir, relative to it). */
  readonly sourceDir?: string;
  readonly pod: Pod & {
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      /** A Deployment's pods are owned by its ReplicaSet, as on Kubernetes (names the workload in metrics). */
      ownerReferences?: { apiVersion: string; kind: string; name: string; controller: boolean }[];
    };
  };
}

const INFORMATIONAL_CONTAINER = new Set(['image', 'imagePullPolicy', 'resources', 'terminationMessagePath', 'terminationMessagePolicy']);
const CONTAINER_FIELDS = new Set(['name', 'command', 'args', 'env', 'ports', 'readinessProbe', 'livenessProbe', 'startupProbe', 'workingDir', ...INFORMATIONAL_CONTAINER]);
const POD_SPEC_FIELDS = new Set(['containers', 'serviceAccountName', 'serviceAccount', 'restartPolicy', 'terminationGracePeriodSeconds']);
const PROBE_FIELDS = new Set(['httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']);
const ENV_FIELD_PATHS = new Set(['metadata.name', 'metadata.namespace', 'status.podIP', 'spec.serviceAccountName', 'spec.nodeName']);
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function only(obj: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new UnsupportedConfigError(path ? `${path}.${k}` : k, 'is not supported by ferry up');
  }
}

function object(v: unknown, path: string, required = false): Record<string, unknown> {
  if (v === undefined || v === null) {
    if (required) throw new ConfigError(path, 'is required');
    return {};
  }
  if (!isPlainObject(v)) throw new ConfigError(path, 'expected an object');
  return v;
}

function stringMap(v: unknown, path: string): Record<string, string> {
  const m = object(v, path);
  for (const [k, val] of Object.entries(m)) if (typeof val !== 'string') throw new ConfigError(`${path}.${k}`, 'expected a string');
  return m as Record<string, string>;
}

function strings(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ConfigError(path, 'expected a list of strings');
  return v as string[];
}

function probe(v: unknown, path: string): void {
  if (v === undefined) return;
  const p = object(v, path);
  if (p.exec !== undefined) throw new UnsupportedConfigError(`${path}.exec`, 'is not supported by ferry up (httpGet, tcpSocket and grpc are)');
  only(p, PROBE_FIELDS, path);
  const kinds = ['httpGet', 'tcpSocket', 'grpc'].filter((k) => p[k] !== undefined);
  if (kinds.length !== 1) throw new ConfigError(path, kinds.length === 0 ? 'needs httpGet, tcpSocket or grpc' : `has ${kinds.join(' and ')}: give one`);
  if (p.httpGet !== undefined) {
    const h = object(p.httpGet, `${path}.httpGet`);
    only(h, new Set(['path', 'port', 'scheme', 'httpHeaders']), `${path}.httpGet`);
    if (h.scheme !== undefined && h.scheme !== 'HTTP' && h.scheme !== 'HTTPS') throw new ConfigError(`${path}.httpGet.scheme`, `${String(h.scheme)} is not HTTP or HTTPS`);
    if (h.httpHeaders !== undefined) {
      if (!Array.isArray(h.httpHeaders)) throw new ConfigError(`${path}.httpGet.httpHeaders`, 'expected a list of {name, value}');
      h.httpHeaders.forEach((x: unknown, i: number) => {
        const hh = object(x, `${path}.httpGet.httpHeaders[${i}]`);
        only(hh, new Set(['name', 'value']), `${path}.httpGet.httpHeaders[${i}]`);
        if (typeof hh.name !== 'string' || hh.name === '' || typeof hh.value !== 'string') throw new ConfigError(`${path}.httpGet.httpHeaders[${i}]`, 'needs a name and a string value');
      });
    }
  }
  if (p.tcpSocket !== undefined) only(object(p.tcpSocket, `${path}.tcpSocket`), new Set(['port']), `${path}.tcpSocket`);
  if (p.grpc !== undefined) {
    const g = object(p.grpc, `${path}.grpc`);
    only(g, new Set(['port', 'service']), `${path}.grpc`);
    if (typeof g.port !== 'number' || !Number.isInteger(g.port)) throw new ConfigError(`${path}.grpc.port`, 'is required (a port number)');
    if (g.service !== undefined && typeof g.service !== 'string') throw new ConfigError(`${path}.grpc.service`, 'expected a string');
  }
}

function container(v: unknown, path: string): Container {
  const c = object(v, path);
  only(c, CONTAINER_FIELDS, path);
  if (typeof c.name !== 'string' || !NAME.test(c.name)) throw new ConfigError(`${path}.name`, 'is required (a DNS label)');
  const command = strings(c.command, `${path}.command`);
  strings(c.args, `${path}.args`);
  if (!command || command.length === 0) {
    throw new ConfigError(`${path}.command`, 'is required: ferry up runs the command as a local process (the image is not run)');
  }
  if (c.env !== undefined) {
    if (!Array.isArray(c.env)) throw new ConfigError(`${path}.env`, 'expected a list');
    c.env.forEach((e, i) => {
      const at = `${path}.env[${i}]`;
      const o = object(e, at);
      only(o, new Set(['name', 'value', 'valueFrom']), at);
      if (typeof o.name !== 'string' || o.name === '') throw new ConfigError(`${at}.name`, 'is required');
      if (o.valueFrom !== undefined) {
        const from = object(o.valueFrom, `${at}.valueFrom`);
        only(from, new Set(['fieldRef']), `${at}.valueFrom`);
        const ref = object(from.fieldRef, `${at}.valueFrom.fieldRef`, true);
        only(ref, new Set(['fieldPath', 'apiVersion']), `${at}.valueFrom.fieldRef`);
        if (typeof ref.fieldPath !== 'string' || !ENV_FIELD_PATHS.has(ref.fieldPath)) {
          throw new UnsupportedConfigError(`${at}.valueFrom.fieldRef.fieldPath`, `${JSON.stringify(ref.fieldPath)} is not supported by ferry up (${[...ENV_FIELD_PATHS].join(', ')} are)`);
        }
      } else if (o.value !== undefined && typeof o.value !== 'string') {
        throw new ConfigError(`${at}.value`, 'expected a string');
      }
    });
  }
  if (c.ports !== undefined) {
    if (!Array.isArray(c.ports)) throw new ConfigError(`${path}.ports`, 'expected a list');
    c.ports.forEach((p, i) => {
      const at = `${path}.ports[${i}]`;
      const o = object(p, at);
      only(o, new Set(['name', 'containerPort', 'protocol']), at);
      if (!Number.isInteger(o.containerPort) || (o.containerPort as number) < 1 || (o.containerPort as number) > 65535) {
        throw new ConfigError(`${at}.containerPort`, 'must be a port 1–65535');
      }
      if (o.protocol !== undefined && o.protocol !== 'TCP') throw new UnsupportedConfigError(`${at}.protocol`, `${String(o.protocol)} is not supported by ferry up (TCP is)`);
    });
  }
  for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) probe(c[kind], `${path}.${kind}`);
  return structuredClone(c) as Container;
}

function podSpec(v: unknown, path: string): Pod['spec'] {
  const spec = object(v, path, true);
  only(spec, POD_SPEC_FIELDS, path);
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    throw new UnsupportedConfigError(`${path}.restartPolicy`, `${String(spec.restartPolicy)} is not supported by ferry up (Always is)`);
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) throw new ConfigError(`${path}.containers`, 'at least one container is required');
  const names = new Set<string>();
  const containers = spec.containers.map((c, i) => {
    const out = container(c, `${path}.containers[${i}]`);
    if (names.has(out.name)) throw new ConfigError(`${path}.containers[${i}].name`, `duplicate container name ${JSON.stringify(out.name)}`);
    names.add(out.name);
    return out;
  });
  const sa = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
  if (typeof sa !== 'string' || !NAME.test(sa)) throw new ConfigError(`${path}.serviceAccountName`, 'must be a DNS label');
  return { containers, serviceAccountName: sa };
}

function meta(v: unknown, path: string): { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const m = object(v, path, true);
  if (typeof m.name !== 'string' || !NAME.test(m.name)) throw new ConfigError(`${path}.name`, 'is required (a DNS label)');
  const namespace = m.namespace ?? 'default';
  if (typeof namespace !== 'string' || !NAME.test(namespace)) throw new ConfigError(`${path}.namespace`, 'must be a DNS label');
  return { name: m.name, namespace, labels: stringMap(m.labels, `${path}.labels`), annotations: stringMap(m.annotations, `${path}.annotations`) };
}

/** The replicas of a `apps/v1` Deployment or a `v1` Pod; errors name the field (`spec.template.spec.containers[0].volumeMounts`). */
export function podTemplates(raw: Record<string, unknown>): PodTemplate[] {
  const kind = raw.kind;
  if (kind === 'Pod') {
    if (raw.apiVersion !== 'v1') throw new ConfigError('apiVersion', `${String(raw.apiVersion)} is not supported for Pod (expected v1)`);
    only(raw, new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']), '');
    const m = meta(raw.metadata, 'metadata');
    const spec = podSpec(raw.spec, 'spec');
    return [{ workload: `Pod ${m.namespace}/${m.name}`, pod: { apiVersion: 'v1', kind: 'Pod', metadata: m, spec } }];
  }
  if (kind !== 'Deployment') throw new ConfigError('kind', `${String(kind)} is not a workload`);
  if (raw.apiVersion !== 'apps/v1') throw new ConfigError('apiVersion', `${String(raw.apiVersion)} is not supported for Deployment (expected apps/v1)`);
  only(raw, new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']), '');
  const m = meta(raw.metadata, 'metadata');
  const spec = object(raw.spec, 'spec', true);
  only(spec, new Set(['replicas', 'selector', 'template', 'strategy', 'revisionHistoryLimit', 'minReadySeconds']), 'spec');
  const replicas = spec.replicas ?? 1;
  if (!Number.isInteger(replicas) || (replicas as number) < 0 || (replicas as number) > 64) throw new ConfigError('spec.replicas', 'must be an integer 0–64');
  const template = object(spec.template, 'spec.template', true);
  only(template, new Set(['metadata', 'spec']), 'spec.template');
  const tm = object(template.metadata, 'spec.template.metadata');
  only(tm, new Set(['labels', 'annotations']), 'spec.template.metadata');
  const labels = stringMap(tm.labels, 'spec.template.metadata.labels');
  const selector = object(spec.selector, 'spec.selector', true);
  only(selector, new Set(['matchLabels']), 'spec.selector');
  for (const [k, v] of Object.entries(stringMap(selector.matchLabels, 'spec.selector.matchLabels'))) {
    if (labels[k] !== v) throw new ConfigError(`spec.selector.matchLabels.${k}`, 'does not match spec.template.metadata.labels');
  }
  const podSpecValue = podSpec(template.spec, 'spec.template.spec');
  // As the Deployment controller does: one ReplicaSet per template, named and labelled by its hash.
  const hash = podTemplateHash(template);
  return Array.from({ length: replicas as number }, (_, i) => ({
    workload: `Deployment ${m.namespace}/${m.name}`,
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${m.name}-${i}`,
        namespace: m.namespace,
        labels: { ...labels, [POD_TEMPLATE_HASH_LABEL]: hash },
        annotations: stringMap(tm.annotations, 'spec.template.metadata.annotations'),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${m.name}-${hash}`, controller: true }],
      },
      spec: structuredClone(podSpecValue),
    },
  }));
}
