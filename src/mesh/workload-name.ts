// A pod's workload, named as Kubernetes users know it (Istio's `destination_workload`): the Deployment
// behind a ReplicaSet, else the controller that owns the pod. The injector, the controller's registry
// and `ferry up` name workloads with this one function.

export interface OwnerReference {
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly controller?: unknown;
}

export interface PodMetaForWorkload {
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly ownerReferences?: readonly OwnerReference[] | null;
}

/** The label the Deployment controller puts on its ReplicaSets' pods (and as the ReplicaSet name's suffix). */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

/**
 * The workload of a pod from its owner: a ReplicaSet `web-7d9f8b6c5` with `pod-template-hash: 7d9f8b6c5`
 * is Deployment `web`; a StatefulSet, DaemonSet, Job or bare ReplicaSet is itself. Null without an owner.
 */
export function workloadFromOwner(meta: PodMetaForWorkload): string | null {
  const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  const owner = refs.find((r) => r.controller === true) ?? refs[0];
  if (!owner || typeof owner.name !== 'string' || owner.name === '') return null;
  const hash = meta.labels?.[POD_TEMPLATE_HASH_LABEL];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
  return owner.name;
}

/** A short, stable hash of a pod template, in the alphabet Kubernetes uses for pod-template-hash. */
export function podTemplateHash(template: unknown): string {
  let h = 0x811c9dc5;
  const text = JSON.stringify(template);
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) {
    out += alphabet[h % alphabet.length];
    h = (Math.floor(h / alphabet.length) ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  }
  return out;
}
