// Istio's standard metric labels from what the sidecar knows: the cluster name and its own node.

import type { NodeConfig, UpstreamTlsConfig } from '../config/types';

export interface DestinationLabels {
  readonly destination_service: string;
  readonly destination_service_name: string;
  readonly destination_service_namespace: string;
}

const cache = new Map<string, DestinationLabels>();

/**
 * `outbound|80||web.demo.svc.cluster.local` → web.demo.svc.cluster.local, web, demo (Istio's cluster
 * names); any other cluster name is its own service, with the first DNS label as its name.
 */
export function destinationLabels(cluster: string): DestinationLabels {
  let d = cache.get(cluster);
  if (d !== undefined) return d;
  const parts = cluster.split('|');
  const host = parts.length === 4 && parts[3] ? parts[3] : cluster || 'unknown';
  const labels = host.split('.');
  const isServiceFqdn = labels.length >= 3 && labels[2] === 'svc';
  d = Object.freeze({
    destination_service: host,
    destination_service_name: labels[0] || 'unknown',
    destination_service_namespace: isServiceFqdn ? labels[1] : 'unknown',
  });
  if (cache.size < 10_000) cache.set(cluster, d);
  return d;
}

/** A workload as metrics name it: its own labels, or a peer's from the metadata exchange. */
export interface WorkloadLabels {
  readonly workload: string;
  readonly namespace: string;
  /** The pod's `app` (or `app.kubernetes.io/name`) label; absent: unknown. */
  readonly app?: string;
  /** The pod's `version` (or `app.kubernetes.io/version`) label. */
  readonly version?: string;
  /** The workload's SPIFFE ID (from its namespace, service account and trust domain). */
  readonly principal?: string;
}

/** Istio's workload labels of both ends and the destination service, for one request or connection. */
export interface PeerLabels {
  readonly source_workload: string;
  readonly source_workload_namespace: string;
  readonly source_principal: string;
  readonly source_app: string;
  readonly source_version: string;
  readonly destination_workload: string;
  readonly destination_workload_namespace: string;
  readonly destination_principal: string;
  readonly destination_app: string;
  readonly destination_version: string;
  readonly destination_service: string;
  readonly destination_service_name: string;
  readonly destination_service_namespace: string;
}

const SPIFFE_NS = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/;

/** The namespace in a SPIFFE ID, or null. */
export function namespaceOfPrincipal(principal: string): string | null {
  const m = SPIFFE_NS.exec(principal);
  return m ? m[1] : null;
}

/**
 * Labels for one request or connection as a reporter sees it. The destination reporter (inbound) is the
 * destination: the caller is known by its SPIFFE ID (`peerPrincipal`, mTLS) and, when it sent its
 * metadata, by workload, app and version. The source reporter (outbound) is the source: the callee is
 * known by the identity its cluster expects (`upstreamPrincipal`) and, once it answered with its
 * metadata, by workload.
 */
export function requestLabels(
  reporter: string,
  cluster: string,
  self: WorkloadLabels,
  peerPrincipal: string,
  peer: WorkloadLabels | null = null,
  upstreamPrincipal = '',
): PeerLabels {
  const u = (v: string | undefined): string => v || 'unknown';
  if (reporter === 'destination') {
    return {
      source_workload: u(peer?.workload),
      source_workload_namespace: peer?.namespace || namespaceOfPrincipal(peerPrincipal) || 'unknown',
      source_principal: u(peerPrincipal),
      source_app: u(peer?.app),
      source_version: u(peer?.version),
      destination_workload: u(self.workload),
      destination_workload_namespace: u(self.namespace),
      destination_principal: u(self.principal),
      destination_app: u(self.app),
      destination_version: u(self.version),
      destination_service: self.workload === 'unknown' ? destinationLabels(cluster).destination_service : `${self.workload}.${self.namespace}.svc.cluster.local`,
      destination_service_name: self.workload,
      destination_service_namespace: self.namespace,
    };
  }
  return {
    source_workload: u(self.workload),
    source_workload_namespace: u(self.namespace),
    // A downstream that presented a certificate is the caller itself (a listener terminating mTLS).
    source_principal: peerPrincipal || u(self.principal),
    source_app: u(self.app),
    source_version: u(self.version),
    destination_workload: u(peer?.workload),
    destination_workload_namespace: peer?.namespace || namespaceOfPrincipal(upstreamPrincipal) || 'unknown',
    destination_principal: u(upstreamPrincipal),
    destination_app: u(peer?.app),
    destination_version: u(peer?.version),
    ...destinationLabels(cluster),
  };
}

/**
 * The metadata exchange between Ferry sidecars: a request to a mesh (mTLS) cluster carries the caller's
 * workload in this header, and the callee's sidecar answers with its own; each sidecar removes it before
 * the app sees it. Trusted only over mTLS and only when its namespace is the peer certificate's.
 */
export const PEER_METADATA_HEADER = 'x-ferry-peer-metadata';

const FIELDS = ['workload', 'namespace', 'app', 'version'] as const;
const MAX_METADATA = 512;

/** `workload=web;namespace=shop;app=web;version=v1` (values percent-encoded). */
export function encodePeerMetadata(w: WorkloadLabels): string {
  return FIELDS.filter((k) => w[k]).map((k) => `${k}=${encodeURIComponent(w[k]!)}`).join(';');
}

/**
 * A peer's metadata from the header, or null when it is absent, malformed, too long, or does not
 * belong to `principal` (no mTLS identity, or another namespace than the certificate's).
 */
export function decodePeerMetadata(value: string | string[] | undefined, principal: string): WorkloadLabels | null {
  if (typeof value !== 'string' || value.length > MAX_METADATA || !principal) return null;
  const ns = namespaceOfPrincipal(principal);
  const out: Record<string, string> = {};
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const k = part.slice(0, eq);
    if (!(FIELDS as readonly string[]).includes(k) || k in out) return null;
    let v: string;
    try {
      v = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return null;
    }
    if (v === '' || /[\x00-\x1f\x7f]/.test(v)) return null;
    out[k] = v;
  }
  if (!out.workload || !out.namespace || out.namespace !== ns) return null;
  return { workload: out.workload, namespace: out.namespace, ...(out.app ? { app: out.app } : {}), ...(out.version ? { version: out.version } : {}), principal };
}

/**
 * The proxy's own workload: metadata WORKLOAD_NAME, else the app label, else the node cluster; its app
 * and version labels; its SPIFFE ID from NAMESPACE, SERVICE_ACCOUNT and TRUST_DOMAIN (when a pod's
 * bootstrap gives them).
 */
export function workloadOf(node: NodeConfig): WorkloadLabels {
  const md = node.metadata;
  const labels = (md.LABELS && typeof md.LABELS === 'object' ? md.LABELS : {}) as Record<string, unknown>;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const workload =
    str(md.WORKLOAD_NAME) ||
    str(labels.app) ||
    str(labels['app.kubernetes.io/name']) ||
    (node.cluster ? node.cluster.split('.')[0] : '') ||
    'unknown';
  const namespace = str(md.NAMESPACE) || 'unknown';
  const app = str(labels.app) || str(labels['app.kubernetes.io/name']);
  const version = str(labels.version) || str(labels['app.kubernetes.io/version']);
  const sa = str(md.SERVICE_ACCOUNT);
  const principal = sa && namespace !== 'unknown' ? `spiffe://${str(md.TRUST_DOMAIN) || 'cluster.local'}/ns/${namespace}/sa/${sa}` : '';
  return { workload, namespace, ...(app ? { app } : {}), ...(version ? { version } : {}), ...(principal ? { principal } : {}) };
}

/** A cluster whose upstreams are mesh sidecars: mTLS with the workload certificate and the mesh trust bundle. */
export function isMeshCluster(tls: UpstreamTlsConfig | null): boolean {
  return tls !== null && tls.workloadCertificate && tls.workloadTrustBundle;
}

/** The one SPIFFE ID a mesh cluster's SAN matcher names exactly (its destination_principal), else ''. */
export function expectedPrincipal(tls: UpstreamTlsConfig | null): string {
  if (tls === null || !isMeshCluster(tls)) return '';
  const exact = tls.matchSubjectAltNames.filter((m) => m.kind === 'exact' && m.value.startsWith('spiffe://'));
  return exact.length === 1 ? exact[0]!.value : '';
}
