// The injector: decides whether a pod gets the sidecar and returns the JSON Patch that adds it.
//
// Pure and shared by the webhook and `ferry inject`. What it adds:
//   - ferry-init first among init containers (NET_ADMIN + NET_RAW only), which installs capture;
//   - the proxy as a native sidecar (init container, restartPolicy Always, startup probe on its
//     readiness) right after ferry-init, so the app's own init containers and containers start
//     with a ready proxy and Jobs complete; before Kubernetes 1.29, the proxy as the first
//     container with a postStart hook that waits for readiness;
//   - a projected ServiceAccount token for the CA, an in-memory data dir, env, drain on preStop;
//   - the controller's SPIFFE ID as a proxy flag, and, when the mesh root is known, the root itself:
//     a `ferry.io/ca-root` annotation that a downward API volume turns into a file in the proxy
//     (the ConfigMap that holds it lives in the system namespace, out of reach of other namespaces);
//   - app probes rewritten to the sidecar's health port (see probes.ts);
//   - Prometheus scrape annotations and the `ferry.io/status` annotation that makes it idempotent.

import { buildSpiffeId } from '../certs/spiffe';
import { ConfigError } from '../src/errors';
import {
  ANNOTATION_INJECT,
  DEFAULT_DRAIN_SECONDS,
  ANNOTATION_NATIVE_SIDECAR,
  ANNOTATION_PROXY_CPU,
  ANNOTATION_PROXY_CPU_LIMIT,
  ANNOTATION_PROXY_MEMORY,
  ANNOTATION_PROXY_MEMORY_LIMIT,
  ANNOTATION_REWRITE_PROBES,
  ANNOTATION_STATUS,
  ANNOTATION_CA_ROOT,
  CA_ROOT_FILE_NAME,
  CA_ROOT_MOUNT_PATH,
  CA_TOKEN_AUDIENCE,
  CONTROLLER_SERVICE_ACCOUNT,
  VOLUME_CA_ROOT,
  CONTAINER_INIT,
  CONTAINER_PROXY,
  DATA_MOUNT_PATH,
  DEFAULT_SYSTEM_NAMESPACE,
  ENV_APP_PROBES,
  INJECT_DISABLED,
  INJECT_ENABLED,
  LABEL_COMPONENT,
  LABEL_INJECT,
  PORT_HEALTH,
  PORT_METRICS,
  PROXY_GID,
  PROXY_UID,
  READY_PATH,
  TOKEN_FILE_NAME,
  TOKEN_MOUNT_PATH,
  VOLUME_DATA,
  VOLUME_INIT_RUN,
  VOLUME_TOKEN,
} from '../src/mesh/constants';
import { CAPTURE_ANNOTATIONS, parseCaptureOptions } from '../src/mesh/capture-options';
import { rewriteProbes } from './probes';
import type { Container, InjectContext, InjectOptions, InjectResult, JsonPatchOp, ObjectMeta, Pod, ResourceRequirements } from './types';
import { workloadFromOwner, type OwnerReference } from '../src/mesh/workload-name';

export const DEFAULT_PROXY_RESOURCES: ResourceRequirements = Object.freeze({
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { memory: '256Mi' },
});
const INIT_RESOURCES: ResourceRequirements = { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } };
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';
/** Largest root bundle the injector puts in an annotation (all of a pod's annotations share 256 KiB). */
export const MAX_CA_ROOT_BYTES = 64 * 1024;
const PROMETHEUS = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(PORT_METRICS), 'prometheus.io/path': '/metrics' };

/** JSON Pointer escaping for one path segment. */
export function pointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Rejects a root bundle that is not PEM or too large for a pod annotation; `source` names the option or flag. */
export function checkCaRootPem(pem: string, source = 'caRootPem'): void {
  const bytes = Buffer.byteLength(pem, 'utf8');
  if (bytes > MAX_CA_ROOT_BYTES) {
    throw new ConfigError(
      source,
      `${bytes} bytes is over the ${MAX_CA_ROOT_BYTES}-byte limit: the root travels in the pod annotation ${ANNOTATION_CA_ROOT}, and a pod's annotations share 256 KiB`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(source, 'expected a PEM certificate (-----BEGIN CERTIFICATE-----)');
}

/** The SPIFFE ID the proxy expects from the controller: spiffe://<trustDomain>/ns/<systemNamespace>/sa/ferry-controller. */
export function controllerSpiffeId(options: Pick<InjectOptions, 'trustDomain' | 'systemNamespace'>): string {
  const namespace = options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  try {
    return buildSpiffeId(options.trustDomain, namespace, CONTROLLER_SERVICE_ACCOUNT);
  } catch (err) {
    throw new ConfigError('trustDomain/systemNamespace', `"${options.trustDomain}" / "${namespace}": ${(err as Error).message}`);
  }
}

/** Why the pod is not injected, or null when it is. */
function skipReason(pod: Pod, options: InjectOptions, ctx: InjectContext): string | null {
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? {};
  const labels = meta.labels ?? {};
  const annotations = meta.annotations ?? {};
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) return 'pod has no containers';
  if (spec.hostNetwork === true) return 'hostNetwork pod (capture would change the node)';
  const namespace = meta.namespace ?? ctx.namespace;
  if (labels[LABEL_COMPONENT] !== undefined || namespace === (options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE)) {
    return 'one of the mesh\'s own pods';
  }
  if (annotations[ANNOTATION_STATUS] !== undefined) return `already injected (${ANNOTATION_STATUS} present)`;
  const all = [...spec.containers, ...(spec.initContainers ?? [])];
  if (all.some((c) => c.name === CONTAINER_PROXY || c.name === CONTAINER_INIT)) return 'already injected (ferry containers present)';
  const choices = [labels[LABEL_INJECT], annotations[ANNOTATION_INJECT]];
  if (choices.includes(INJECT_DISABLED)) return `opted out (${ANNOTATION_INJECT}=${INJECT_DISABLED})`;
  if (!choices.includes(INJECT_ENABLED) && options.namespaceInjection === false) return 'injection not enabled for this pod';
  return null;
}

function resources(options: InjectOptions, annotations: Record<string, string>): ResourceRequirements {
  const base = options.proxyResources ?? DEFAULT_PROXY_RESOURCES;
  const out: ResourceRequirements = { requests: { ...base.requests }, limits: { ...base.limits } };
  const overrides = [
    [ANNOTATION_PROXY_CPU, 'requests', 'cpu'],
    [ANNOTATION_PROXY_MEMORY, 'requests', 'memory'],
    [ANNOTATION_PROXY_CPU_LIMIT, 'limits', 'cpu'],
    [ANNOTATION_PROXY_MEMORY_LIMIT, 'limits', 'memory'],
  ] as const;
  for (const [annotation, group, resource] of overrides) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    if (!QUANTITY.test(value.trim())) {
      throw new ConfigError(annotation, `"${value}" is not a Kubernetes quantity (e.g. 100m, 128Mi)`);
    }
    out[group]![resource] = value.trim();
  }
  if (Object.keys(out.requests!).length === 0) delete out.requests;
  if (Object.keys(out.limits!).length === 0) delete out.limits;
  return out;
}

function initContainer(options: InjectOptions, annotations: Record<string, string>): Container {
  parseCaptureOptions(annotations); // validates; a bad annotation rejects the pod with its name
  const args = ['init'];
  for (const annotation of CAPTURE_ANNOTATIONS) {
    const value = annotations[annotation];
    if (value !== undefined) args.push(`--${annotation.slice('ferry.io/'.length)}`, value);
  }
  return {
    name: CONTAINER_INIT,
    image: options.initImage ?? options.image,
    ...(options.imagePullPolicy ? { imagePullPolicy: options.imagePullPolicy } : {}),
    args,
    resources: INIT_RESOURCES,
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
    volumeMounts: [{ name: VOLUME_INIT_RUN, mountPath: '/run' }], // the legacy backend's xtables lock
  };
}

function fieldEnv(name: string, fieldPath: string) {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/** What the sidecar labels its metrics with: the pod's labels and its workload, as the pod was admitted. */
function workloadEnv(meta: ObjectMeta): unknown[] {
  const env: unknown[] = [];
  const labels = meta.labels ?? {};
  const text = Object.entries(labels).filter(([k, v]) => !k.includes(',') && !k.includes('=') && !v.includes(',')).map(([k, v]) => `${k}=${v}`).join(',');
  if (text) env.push({ name: 'FERRY_POD_LABELS', value: text });
  const workload = workloadFromOwner({ labels, ownerReferences: Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as OwnerReference[]) : null });
  if (workload) env.push({ name: 'FERRY_WORKLOAD_NAME', value: workload });
  return env;
}

function proxyContainer(
  options: InjectOptions,
  meta: ObjectMeta,
  annotations: Record<string, string>,
  native: boolean,
  appContainers: string[],
  probes: Record<string, unknown>,
): Container {
  const drain = options.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
  const readyGet = { path: READY_PATH, port: PORT_HEALTH, scheme: 'HTTP' };
  const env: unknown[] = [
    fieldEnv('FERRY_POD_NAME', 'metadata.name'),
    fieldEnv('FERRY_POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('FERRY_SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldEnv('FERRY_NODE_NAME', 'spec.nodeName'),
    fieldEnv('FERRY_POD_IP', 'status.podIP'),
    fieldEnv('FERRY_POD_IPS', 'status.podIPs'),
    { name: 'FERRY_CONTROLLER_ADDRESS', value: options.controllerAddress },
    { name: 'FERRY_TRUST_DOMAIN', value: options.trustDomain },
    { name: 'FERRY_TOKEN_FILE', value: `${TOKEN_MOUNT_PATH}/${TOKEN_FILE_NAME}` },
    { name: 'FERRY_DATA_DIR', value: DATA_MOUNT_PATH },
    { name: 'FERRY_DRAIN_SECONDS', value: String(drain) },
    { name: 'FERRY_APP_CONTAINERS', value: appContainers.join(',') },
    ...workloadEnv(meta),
  ];
  if (options.caRootPem !== undefined) env.push({ name: 'FERRY_CA_ROOT_FILE', value: `${CA_ROOT_MOUNT_PATH}/${CA_ROOT_FILE_NAME}` });
  if (Object.keys(probes).length > 0) env.push({ name: ENV_APP_PROBES, value: JSON.stringify(probes) });
  const volumeMounts = [
    { name: VOLUME_TOKEN, mountPath: TOKEN_MOUNT_PATH, readOnly: true },
    { name: VOLUME_DATA, mountPath: DATA_MOUNT_PATH },
  ];
  if (options.caRootPem !== undefined) volumeMounts.push({ name: VOLUME_CA_ROOT, mountPath: CA_ROOT_MOUNT_PATH, readOnly: true });
  const lifecycle: Record<string, unknown> = {
    preStop: { exec: { command: ['ferry', 'drain', '--seconds', String(drain)] } },
  };
  if (!native) lifecycle.postStart = { exec: { command: ['ferry', 'wait-ready', '--timeout-seconds', '600'] } };
  return {
    name: CONTAINER_PROXY,
    image: options.image,
    ...(options.imagePullPolicy ? { imagePullPolicy: options.imagePullPolicy } : {}),
    args: ['proxy', '--controller-identity', controllerSpiffeId(options)],
    ...(native ? { restartPolicy: 'Always' } : {}),
    env,
    ports: [
      { name: 'ferry-metrics', containerPort: PORT_METRICS, protocol: 'TCP' },
      { name: 'ferry-health', containerPort: PORT_HEALTH, protocol: 'TCP' },
    ],
    ...(native ? { startupProbe: { httpGet: readyGet, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 } } : {}),
    readinessProbe: { httpGet: readyGet, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    lifecycle,
    resources: resources(options, annotations),
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_GID,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts,
  };
}

const BASE_VOLUMES = [
  {
    name: VOLUME_TOKEN,
    projected: {
      sources: [{ serviceAccountToken: { audience: CA_TOKEN_AUDIENCE, expirationSeconds: 43200, path: TOKEN_FILE_NAME } }],
    },
  },
  { name: VOLUME_DATA, emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
  { name: VOLUME_INIT_RUN, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
];
const CA_ROOT_VOLUME = {
  name: VOLUME_CA_ROOT,
  downwardAPI: {
    defaultMode: 0o444,
    items: [{ path: CA_ROOT_FILE_NAME, fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${ANNOTATION_CA_ROOT}']` } }],
  },
};

/** Decides and builds the patch. A bad ferry.io/ annotation throws ConfigError naming it. */
export function inject(pod: Pod, options: InjectOptions, ctx: InjectContext = {}): InjectResult {
  const skipped = skipReason(pod, options, ctx);
  if (skipped) return { patch: [], skipped };
  const meta = pod.metadata ?? {};
  const spec = pod.spec!;
  const annotations = meta.annotations ?? {};
  const containers = spec.containers!;
  const nativeAnnotation = annotations[ANNOTATION_NATIVE_SIDECAR];
  if (nativeAnnotation !== undefined && nativeAnnotation !== 'true' && nativeAnnotation !== 'false') {
    throw new ConfigError(ANNOTATION_NATIVE_SIDECAR, `"${nativeAnnotation}" must be "true" or "false"`);
  }
  if (options.caRootPem !== undefined) checkCaRootPem(options.caRootPem);
  const volumes = options.caRootPem === undefined ? BASE_VOLUMES : [...BASE_VOLUMES, CA_ROOT_VOLUME];
  const native = nativeAnnotation === undefined ? options.kubernetesMinor >= 29 : nativeAnnotation === 'true';
  const rewrite = annotations[ANNOTATION_REWRITE_PROBES] === 'false' ? { ops: [], probes: {} } : rewriteProbes(containers);
  const appNames = containers.map((c) => c.name);
  const init = initContainer(options, annotations);
  const proxy = proxyContainer(options, meta, annotations, native, appNames, rewrite.probes);

  // Probe replacements first: they use the containers' indices before the proxy may be inserted.
  const patch: JsonPatchOp[] = [...rewrite.ops];

  const status = {
    version: options.version ?? 'dev',
    initContainers: native ? [CONTAINER_INIT, CONTAINER_PROXY] : [CONTAINER_INIT],
    containers: native ? [] : [CONTAINER_PROXY],
    volumes: volumes.map((v) => v.name),
    rewrittenProbes: Object.keys(rewrite.probes),
    nativeSidecar: native,
  };
  const added: Record<string, string> = { [ANNOTATION_STATUS]: JSON.stringify(status) };
  if (!Object.keys(annotations).some((k) => k.startsWith('prometheus.io/'))) Object.assign(added, PROMETHEUS);
  if (annotations[DEFAULT_CONTAINER_ANNOTATION] === undefined) added[DEFAULT_CONTAINER_ANNOTATION] = appNames[0];
  // Always the mesh's root, even over a value the pod brought: the proxy trusts what this file says.
  if (options.caRootPem !== undefined) added[ANNOTATION_CA_ROOT] = options.caRootPem;
  if (meta.annotations === undefined) {
    if (pod.metadata === undefined) patch.push({ op: 'add', path: '/metadata', value: {} });
    patch.push({ op: 'add', path: '/metadata/annotations', value: added });
  } else {
    for (const [k, v] of Object.entries(added)) patch.push({ op: 'add', path: `/metadata/annotations/${pointer(k)}`, value: v });
  }

  if (spec.volumes === undefined) patch.push({ op: 'add', path: '/spec/volumes', value: volumes });
  else for (const v of volumes) patch.push({ op: 'add', path: '/spec/volumes/-', value: v });

  const firstInits = native ? [init, proxy] : [init];
  if (spec.initContainers === undefined) {
    patch.push({ op: 'add', path: '/spec/initContainers', value: firstInits });
  } else {
    firstInits.forEach((c, i) => patch.push({ op: 'add', path: `/spec/initContainers/${i}`, value: c }));
  }
  if (!native) patch.push({ op: 'add', path: '/spec/containers/0', value: proxy });
  return { patch: structuredClone(patch) }; // callers may mutate what they apply
}
