// Which golden-metric groups one scraped sample counts toward: its workload, pod, service and edge (pure).
//
// A sidecar reports each request twice over the mesh: as `reporter="source"` on the caller's outbound
// side (it knows its own workload and the destination *service*) and as `reporter="destination"` on the
// callee's inbound side (it knows its own workload and the caller's SPIFFE ID, and whether the
// connection was mTLS). Workload, pod and inbound-edge groups read the destination side; service and
// outbound-edge groups read the source side. The resolver, built from the registry, names the workload
// behind a service and behind a SPIFFE ID, so both sides of an edge meet as workload → workload.

export type GroupKind = 'workload' | 'pod' | 'service' | 'edge-in' | 'edge-out';

/** A group of series summed together; `security` says whether its mTLS share means anything. */
export interface GroupRef {
  readonly kind: GroupKind;
  /** Unique within the kind: `ns/name`, or `src → dst` for edges. */
  readonly key: string;
  /** Edges: `ns/workload` of each end (or `unknown`). */
  readonly source?: string;
  readonly destination?: string;
  /** Inbound groups: the caller's SPIFFE ID on this sample (kept as the edge's client identity). */
  readonly principal?: string;
  readonly security: boolean;
}

/** Who is behind a service or an identity, from the registry. Unknown: null. */
export interface WorkloadResolver {
  /** `ns/name` of a Service → `ns/workload` of the pods behind it, when they are one workload. */
  serviceWorkload(namespace: string, service: string): string | null;
  /** A SPIFFE ID → `ns/workload` of the pods running as it, when they are one workload. */
  principalWorkload(principal: string): string | null;
}

export const NO_RESOLVER: WorkloadResolver = { serviceWorkload: () => null, principalWorkload: () => null };

/** The scraped sidecar: its pod, when the registry knows it. */
export interface TargetIdentity {
  readonly namespace: string;
  readonly pod: string;
  readonly workload: string;
}

const SPIFFE = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** A caller named by its SPIFFE ID: the workload the registry says runs as it, else `ns/sa` from the ID itself. */
export function callerOf(principal: string, resolver: WorkloadResolver): string {
  if (!principal || principal === 'unknown') return 'unknown';
  const w = resolver.principalWorkload(principal);
  if (w !== null) return w;
  const m = SPIFFE.exec(principal);
  return m ? `${m[1]}/${m[2]}` : 'unknown';
}

function known(v: string | undefined): string | null {
  return v && v !== 'unknown' ? v : null;
}

/** The groups a sample with these labels, scraped from `target`, counts toward. */
export function classify(labels: Readonly<Record<string, string>>, target: TargetIdentity | null, resolver: WorkloadResolver): GroupRef[] {
  const out: GroupRef[] = [];
  if (labels.reporter === 'destination') {
    const ns = known(labels.destination_service_namespace) ?? target?.namespace ?? null;
    const name = known(labels.destination_service_name) ?? target?.workload ?? null;
    if (ns === null || name === null) return out;
    const self = `${ns}/${name}`;
    out.push({ kind: 'workload', key: self, security: true });
    if (target) out.push({ kind: 'pod', key: `${target.namespace}/${target.pod}`, security: true });
    const principal = labels.source_principal ?? '';
    // The caller's workload from the sidecars' metadata exchange, else the one its identity resolves to.
    const peerNs = known(labels.source_workload_namespace);
    const peer = known(labels.source_workload);
    const source = peer !== null && peerNs !== null && known(principal) !== null ? `${peerNs}/${peer}` : callerOf(principal, resolver);
    out.push({ kind: 'edge-in', key: `${source} → ${self}`, source, destination: self, principal: known(principal) ?? undefined, security: true });
  } else if (labels.reporter === 'source') {
    const ns = known(labels.destination_service_namespace);
    const svc = known(labels.destination_service_name);
    const srcNs = known(labels.source_workload_namespace) ?? target?.namespace ?? null;
    const srcName = known(labels.source_workload) ?? target?.workload ?? null;
    if (ns !== null && svc !== null) out.push({ kind: 'service', key: `${ns}/${svc}`, security: false });
    if (srcNs !== null && srcName !== null) {
      const source = `${srcNs}/${srcName}`;
      // The callee's workload from the metadata exchange, else the one workload behind the service.
      const dw = known(labels.destination_workload);
      const dwNs = known(labels.destination_workload_namespace);
      const destination = dw !== null && dwNs !== null
        ? `${dwNs}/${dw}`
        : ns !== null && svc !== null ? (resolver.serviceWorkload(ns, svc) ?? `${ns}/${svc}`) : (known(labels.destination_service) ?? 'unknown');
      out.push({ kind: 'edge-out', key: `${source} → ${destination}`, source, destination, security: false });
    }
  }
  return out;
}
