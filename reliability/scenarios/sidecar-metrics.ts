// Reads a pod's sidecar metrics (its stats port, reachable from the host) for the scenarios' own figures.

import * as http from 'node:http';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import type { MeshPod } from '../mesh/mesh-up';

export function sidecarMetrics(pod: MeshPod, timeoutMs = 2000): Promise<ReturnType<typeof parsePrometheusText>> {
  if (!pod.sidecar) return Promise.reject(new Error(`pod ${pod.name} has no sidecar`));
  const [host, port] = pod.sidecar.stats.split(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path: '/metrics', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(parsePrometheusText(body)) : reject(new Error(`${pod.name} metrics: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${pod.name} metrics: timed out`)));
    req.on('error', reject);
  });
}

/** Requests the pod's sidecar served inbound (reporter=destination). */
export async function inboundRequests(pod: MeshPod): Promise<number> {
  return sumWhere(await sidecarMetrics(pod), 'ferry_requests_total', { reporter: 'destination' });
}

/** Outlier-detection ejections the pod's sidecar made (every cluster). */
export async function ejections(pod: MeshPod): Promise<number> {
  return sumWhere(await sidecarMetrics(pod), 'ferry_upstream_ejections_total');
}

/** Retries the pod's sidecar attempted (every cluster). */
export async function retriesAttempted(pod: MeshPod): Promise<number> {
  return sumWhere(await sidecarMetrics(pod), 'ferry_upstream_rq_retry_total', { outcome: 'attempted' });
}

/** Upstream answers the pod's sidecar dropped because they did not fit the response (a proxy defect; see stream-state.ts). */
export async function responseConflicts(pod: MeshPod): Promise<number> {
  return sumWhere(await sidecarMetrics(pod), 'ferry_downstream_rq_response_conflict_total');
}

/** Retries the pod's sidecar wanted but its retry circuit breaker refused (every cluster). */
export async function retryOverflows(pod: MeshPod): Promise<number> {
  return sumWhere(await sidecarMetrics(pod), 'ferry_upstream_rq_retry_total', { outcome: 'overflow' });
}
