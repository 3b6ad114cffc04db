// Istio's standard metric labels from what the sidecar knows: the cluster name and its own node.

import type { NodeConfig } from '../config/types';

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

/**
 * Labels for one request or connection as a reporter sees it. The destination reporter (inbound)
 * serves its own workload; it does not know the caller's workload (no metadata exchange), only its
 * namespace from the peer's SPIFFE ID when the connection is mTLS.
 */
export function requestLabels(
  reporter: string,
  cluster: string,
  self: WorkloadLabels,
  peerPrincipal: string,
): { source_workload: string; source_workload_namespace: string } & DestinationLabels {
  if (reporter === 'destination') {
    const m = /\/ns\/([^/]+)\//.exec(peerPrincipal);
    return {
      source_workload: 'unknown',
      source_workload_namespace: m ? m[1] : 'unknown',
      destination_service: self.workload === 'unknown' ? destinationLabels(cluster).destination_service : `${self.workload}.${self.namespace}.svc.cluster.local`,
      destination_service_name: self.workload,
      destination_service_namespace: self.namespace,
    };
  }
  return { source_workload: self.workload, source_workload_namespace: self.namespace, ...destinationLabels(cluster) };
}

export interface WorkloadLabels {
  readonly workload: string;
  readonly namespace: string;
}

/** The proxy's own workload: metadata WORKLOAD_NAME, else the app label, else the node cluster. */
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
  return { workload, namespace: str(md.NAMESPACE) || 'unknown' };
}
