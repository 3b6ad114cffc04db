// The AdmissionReview the webhook scenario POSTs: a typical Deployment pod (two containers, ports, every probe kind).

/** An `admission.k8s.io/v1` AdmissionReview for a pod CREATE, as the API server sends it. */
export function benchAdmissionReview(): Record<string, unknown> {
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 5 });
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7d9c5b8f6-',
      namespace: 'shop',
      labels: { app: 'web', version: 'v1', 'pod-template-hash': '7d9c5b8f6' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-22T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9c5b8f6', uid: 'rs-1', controller: true }],
    },
    spec: {
      serviceAccountName: 'web',
      containers: [
        {
          name: 'app',
          image: 'registry.example/shop/web:1.4.2',
          ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }],
          env: [{ name: 'LOG_LEVEL', value: 'info' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          readinessProbe: probe('/ready'),
          livenessProbe: probe('/live'),
          startupProbe: { tcpSocket: { port: 8080 }, failureThreshold: 30 },
        },
        {
          name: 'metrics',
          image: 'registry.example/shop/exporter:0.9',
          ports: [{ name: 'metrics', containerPort: 9102 }],
          livenessProbe: { grpc: { port: 9090 } },
        },
      ],
    },
  };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '6b2f6a7e-0c1d-4c1e-9a7b-bench00000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      oldObject: null,
      dryRun: false,
    },
  };
}

/** True when `body` (the webhook's answer) allows the pod and carries a JSON Patch: the request was really injected. */
export function isInjectedAnswer(body: string): boolean {
  try {
    const r = (JSON.parse(body) as { response?: { allowed?: unknown; patchType?: unknown; patch?: unknown } }).response;
    return r?.allowed === true && r.patchType === 'JSONPatch' && typeof r.patch === 'string' && r.patch.length > 0;
  } catch {
    return false;
  }
}
