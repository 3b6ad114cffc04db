// A pod through the webhook's own injector, and what its injected spec says to run: init args, the proxy, the apps (pure).
//
// `ferry up` plays the kubelet: it resolves the downward API env the injector set (pod name, IP, …),
// materialises the volumes the proxy mounts (the projected token, the CA root annotation, emptyDirs)
// as files under the pod's folder, and points every env value under a mount path at that folder.

import { type Operation, applyPatch } from 'fast-json-patch';
import { CONTAINER_INIT, CONTAINER_PROXY } from '../../mesh/constants';
import { inject } from '../../../webhook/inject';
import type { Container, InjectOptions, Pod, Probe } from '../../../webhook/types';
import { expandVars } from './plan';
import type { PodTemplate } from './workload';

/** Facts the downward API exposes about a running pod. */
export interface PodFacts {
  readonly ip: string;
  readonly nodeName: string;
}

export interface ContainerRun {
  readonly name: string;
  /** The container's command + args (`ferry …` for the mesh's own containers: no command, the image's entrypoint). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly ports: readonly { name?: string; containerPort?: number }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly workingDir?: string;
}

/** A file a volume puts in the pod: a token to mint, an annotation's value, or an empty folder. */
export type VolumeContent =
  | { readonly kind: 'token'; readonly volume: string; readonly file: string; readonly audience: string }
  | { readonly kind: 'file'; readonly volume: string; readonly file: string; readonly text: string }
  | { readonly kind: 'dir'; readonly volume: string };

export interface PodRun {
  /** The pod after injection (or unchanged). */
  readonly pod: Pod;
  /** Why it was not injected; null when it was. */
  readonly skipped: string | null;
  /** `ferry init` arguments (after `init`), or null. */
  readonly init: readonly string[] | null;
  readonly sidecar: ContainerRun | null;
  readonly apps: readonly ContainerRun[];
  readonly volumes: readonly VolumeContent[];
  /** The sidecar's mount path → volume name (env values under a mount path point into the volume's folder). */
  readonly mounts: ReadonlyMap<string, string>;
}

type Json = Record<string, any>;

function fieldValue(pod: Pod, facts: PodFacts, fieldPath: string): string {
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'spec.serviceAccountName':
      return String(pod.spec?.serviceAccountName ?? 'default');
    case 'spec.nodeName':
      return facts.nodeName;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.ip;
    default:
      if (fieldPath.startsWith('metadata.annotations[')) return pod.metadata?.annotations?.[fieldPath.slice(22, -2)] ?? '';
      if (fieldPath.startsWith('metadata.labels[')) return pod.metadata?.labels?.[fieldPath.slice(17, -2)] ?? '';
      throw new Error(`env fieldRef ${fieldPath} is not known to ferry up`);
  }
}

/** A container's env, in order, with fieldRefs resolved and `$(VAR)` expanded from the variables before it. */
export function containerEnv(c: Container, pod: Pod, facts: PodFacts, base: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const e of (c.env as Json[] | undefined) ?? []) {
    if (e.valueFrom?.fieldRef) env[e.name] = fieldValue(pod, facts, e.valueFrom.fieldRef.fieldPath);
    else env[e.name] = expandVars(String(e.value ?? ''), env);
  }
  return env;
}

function run(c: Container, pod: Pod, facts: PodFacts, base: Readonly<Record<string, string>>, defaultEntrypoint: readonly string[]): ContainerRun {
  const env = containerEnv(c, pod, facts, base);
  const command = (c.command as string[] | undefined) ?? defaultEntrypoint;
  const argv = [...command, ...((c.args as string[] | undefined) ?? [])].map((a) => expandVars(a, env));
  return { name: c.name, argv, env, ports: c.ports ?? [], readinessProbe: c.readinessProbe, livenessProbe: c.livenessProbe, startupProbe: c.startupProbe, workingDir: c.workingDir as string | undefined };
}

/**
 * Runs `inject()` on the template's pod (when its namespace asks for it) and reads the result.
 * `serviceEnv` is what every app container also gets (the Services of its namespace).
 */
export function podRun(template: PodTemplate, options: InjectOptions, facts: PodFacts, serviceEnv: Readonly<Record<string, string>>): PodRun {
  const original = structuredClone(template.pod) as Pod;
  const result = inject(original, options, { namespace: template.pod.metadata.namespace });
  const pod = result.skipped ? original : (applyPatch(structuredClone(original), result.patch as Operation[], true, false).newDocument as Pod);
  const inits = pod.spec?.initContainers ?? [];
  const init = inits.find((c) => c.name === CONTAINER_INIT);
  const proxy = [...inits, ...(pod.spec?.containers ?? [])].find((c) => c.name === CONTAINER_PROXY);
  const apps = (pod.spec?.containers ?? []).filter((c) => c.name !== CONTAINER_PROXY);
  const volumes: VolumeContent[] = [];
  for (const v of (pod.spec?.volumes ?? []) as Json[]) {
    if (v.emptyDir) volumes.push({ kind: 'dir', volume: v.name });
    for (const s of v.projected?.sources ?? []) {
      if (s.serviceAccountToken) volumes.push({ kind: 'token', volume: v.name, file: s.serviceAccountToken.path, audience: s.serviceAccountToken.audience });
    }
    for (const item of v.downwardAPI?.items ?? []) {
      volumes.push({ kind: 'file', volume: v.name, file: item.path, text: fieldValue(pod, facts, item.fieldRef.fieldPath) });
    }
  }
  const mounts = new Map<string, string>();
  for (const m of (proxy?.volumeMounts as Json[] | undefined) ?? []) mounts.set(m.mountPath, m.name);
  return {
    pod,
    skipped: result.skipped ?? null,
    init: init ? ((init.args as string[] | undefined) ?? []).slice(1) : null,
    sidecar: proxy ? run(proxy, pod, facts, {}, []) : null,
    apps: apps.map((c) => run(c, pod, facts, serviceEnv, [])),
    volumes,
    mounts,
  };
}

/** Rewrites env values under one of `mounts` (mount path → volume) to `volumeDir(volume)` + the rest of the path. */
export function remapMounts(env: Readonly<Record<string, string>>, mounts: ReadonlyMap<string, string>, volumeDir: (volume: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    let value = v;
    for (const [path, volume] of mounts) {
      if (v === path || v.startsWith(`${path}/`)) value = volumeDir(volume) + v.slice(path.length);
    }
    out[k] = value;
  }
  return out;
}
