// Reads a pod's sidecar metrics (its stats port, reachable from the host) for the scenarios' own figures.

import * as http from 'node:http';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import type { MeshPod } from '../mesh/mesh-up';
import type { Clock } from '../../src/clock/clock';

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

/** A cluster's endpoints in the pod's sidecar by health (`ferry_upstream_endpoints`). */
export async function endpointHealth(pod: MeshPod, cluster: string): Promise<{ healthy: number; total: number }> {
  const m = await sidecarMetrics(pod);
  const healthy = sumWhere(m, 'ferry_upstream_endpoints', { destination_cluster: cluster, health: 'healthy' });
  return { healthy, total: sumWhere(m, 'ferry_upstream_endpoints', { destination_cluster: cluster }) };
}

/**
 * Waits until every endpoint of the cluster is healthy in the pod's sidecar, or throws. A scenario that
 * starts with hosts unhealthy measures the balancer in panic (it then picks every host, ejected ones
 * too), not the mesh's defaults: the replica-503 burst once lost every request to its replica that way.
 */
export async function waitEndpointsHealthy(pod: MeshPod, cluster: string, clock: Clock, timeoutMs = 20_000): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  let last = { healthy: 0, total: 0 };
  for (let i = 0; i < 1000; i++) {
    last = await endpointHealth(pod, cluster).catch(() => last);
    if (last.total > 0 && last.healthy === last.total) return;
    if (clock.now() >= deadline) break;
    await new Promise<void>((r) => clock.setTimeout(r, 250));
  }
  throw new Error(`${pod.name}: ${last.healthy} of ${last.total} endpoints of ${cluster} healthy after ${timeoutMs} ms (health checks failing?)`);
}
