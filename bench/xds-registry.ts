// Generates the xds-convergence registry: N Services, each with its own EndpointSlice file, and the edits the benchmark makes.

/** Namespace of every generated object (and of the simulated proxies). */
export const XDS_NAMESPACE = 'bench';

/** Service i's name. */
export function xdsServiceName(i: number): string {
  return `svc-${i}`;
}

function quad(base: string, n: number): string {
  return `${base}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

/** Pod IP of service i's endpoint `k` (0 or 1). Simulated proxy j plays the pod of service j's endpoint 0. */
export function podIp(i: number, k: 0 | 1): string {
  return quad(k === 0 ? '10.1' : '10.2', i);
}

/** The address change `generation` (≥ 1) gives the edited slice: unique per change, outside every pod range. */
export function changedIp(generation: number): string {
  return quad('10.250', generation);
}

/** All Services in one multi-document YAML (clusterIP set, so reloads never re-allocate). */
export function servicesYaml(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    docs.push(
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        `  name: ${xdsServiceName(i)}`,
        `  namespace: ${XDS_NAMESPACE}`,
        'spec:',
        `  clusterIP: ${quad('10.96', i)}`,
        `  selector: { app: ${xdsServiceName(i)} }`,
        '  ports:',
        '    - name: http',
        '      port: 80',
        '      targetPort: 8080',
      ].join('\n'),
    );
  }
  return docs.join('\n---\n') + '\n';
}

/**
 * Service i's EndpointSlice: two ready endpoints. `generation` 0 is the initial state; a later
 * generation moves the second endpoint to changedIp(generation), which is what the benchmark
 * watches for in every proxy's EDS response.
 */
export function endpointSliceYaml(i: number, generation = 0): string {
  const second = generation === 0 ? podIp(i, 1) : changedIp(generation);
  const endpoint = (ip: string, pod: string) =>
    [
      `  - addresses: ["${ip}"]`,
      '    conditions: { ready: true, serving: true, terminating: false }',
      `    targetRef: { kind: Pod, namespace: ${XDS_NAMESPACE}, name: ${pod} }`,
    ].join('\n');
  return [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata:',
    `  name: ${xdsServiceName(i)}-slice`,
    `  namespace: ${XDS_NAMESPACE}`,
    '  labels:',
    `    kubernetes.io/service-name: ${xdsServiceName(i)}`,
    'addressType: IPv4',
    'ports:',
    '  - name: http',
    '    port: 8080',
    '    protocol: TCP',
    'endpoints:',
    endpoint(podIp(i, 0), `${xdsServiceName(i)}-0`),
    endpoint(second, `${xdsServiceName(i)}-${generation === 0 ? 1 : `g${generation}`}`),
    '',
  ].join('\n');
}

/** File name (inside the registry folder) of service i's EndpointSlice. */
export function endpointSliceFile(i: number): string {
  return `endpointslice-${xdsServiceName(i)}.yaml`;
}

/** Which service the change `generation` edits: spread over the mesh, never the same twice in a row. */
export function changedService(generation: number, services: number): number {
  return (generation * 37) % services;
}

/** The Istio-style node id of simulated proxy j (its pod is service j's endpoint 0). */
export function simulatedNodeId(j: number, services: number): string {
  const i = j % services;
  return `sidecar~${podIp(i, 0)}~${xdsServiceName(i)}-0-sim${j}.${XDS_NAMESPACE}~${XDS_NAMESPACE}.svc.cluster.local`;
}
