// Every resource served to sidecars must pass the sidecar's own xDS boundary (src/config translators).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  translateCluster,
  translateClusterLoadAssignment,
  translateListener,
  translateRouteConfiguration,
} from '../../config/bootstrap';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { MeshModel } from '../model/types';
import type { Snapshot } from '../types';
import { exampleModel, localMeshModel, meshedModel, modelFrom, node } from './mesh-models.fixture';
import { translateForNode, type OutboundMode } from './translate-for-node';

const TRANSLATORS = [
  [LISTENER_TYPE, translateListener],
  [ROUTE_TYPE, translateRouteConfiguration],
  [CLUSTER_TYPE, translateCluster],
  [ENDPOINT_TYPE, translateClusterLoadAssignment],
] as const;

function acceptAll(snap: Snapshot): number {
  let n = 0;
  for (const [type, fn] of TRANSLATORS) {
    const m = snap[type];
    assert.ok(m, `${type} is served`);
    for (const [name, res] of m) {
      assert.doesNotThrow(() => fn(res, `${type}[${name}]`), `${name} rejected`);
      n++;
    }
  }
  return n;
}

// A mesh that exercises every branch: policies of each kind, unknown-protocol ports, headless, IPv6, no backends.
function everyFeatureModel(): MeshModel {
  const ns = 'x';
  const svc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec });
  const tp = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'ferry.io/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: ns },
    spec: { targetRef: { name }, ...spec },
  });
  const slice = (service: string, port: number, ip: string) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: ip.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'p', port }],
    endpoints: [{ addresses: [ip] }],
  });
  return modelFrom([
    svc('ring', { clusterIP: '10.96.1.1', ports: [{ name: 'p', port: 80, appProtocol: 'http' }] }),
    tp('ring', { loadBalancer: { type: 'RingHash', hashOn: { cookie: 'c' } }, healthCheck: { tcp: {} }, outlierDetection: { consecutive5xx: 0, consecutiveGatewayErrors: 3 } }),
    svc('maglev', { clusterIP: '10.96.1.2', ports: [{ name: 'p', port: 80 }] }),
    tp('maglev', { loadBalancer: { type: 'Maglev', hashOn: { sourceIP: true } }, outlierDetection: { enabled: false }, retries: { attempts: 0 } }),
    svc('grpcsvc', { clusterIP: '10.96.1.3', ports: [{ name: 'p', port: 50051, appProtocol: 'grpc' }] }),
    tp('grpcsvc', { loadBalancer: { type: 'Random' }, healthCheck: { grpc: { service: 'x' } }, retries: { retryOn: ['unavailable', 'reset'], attempts: 3 } }),
    svc('h2', { clusterIP: 'fd00::1', ports: [{ name: 'p', port: 81, appProtocol: 'kubernetes.io/h2c' }] }),
    tp('h2', { loadBalancer: { type: 'RingHash', hashOn: { queryParameter: 'q' } }, healthCheck: { http: { path: '/h' } } }),
    slice('h2', 81, 'fd00::10'),
    svc('headless', { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] }),
    svc('web', { clusterIP: '10.96.1.4', ports: [{ name: 'p', port: 80 }] }),
    slice('web', 8080, '10.1.1.4'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: ns },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'web' }],
        rules: [
          { matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+/.*' }, queryParams: [{ name: 'a', value: 'b' }, { type: 'RegularExpression', name: 'c', value: 'd+' }] }], backendRefs: [{ name: 'ring', port: 80 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/dir/' }, method: 'POST', headers: [{ type: 'RegularExpression', name: 'X-A', value: 'a.*' }] }], backendRefs: [{ name: 'nowhere', port: 80 }] },
        ],
      },
    },
    { apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: 'a', namespace: ns }, spec: { targetRef: { kind: 'Service', name: 'web' }, rateLimit: { requests: 5, interval: '100ms' } } },
  ]);
}

const CASES: [string, () => MeshModel, Record<string, unknown>, boolean, OutboundMode][] = [
  ['sample mesh, reviews pod, passthrough', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, true, 'capture'],
  ['sample mesh, ratings pod, blackhole', exampleModel, { NAMESPACE: 'demo', INSTANCE_IPS: '10.1.0.31' }, false, 'capture'],
  ['sample mesh, a pod outside the mesh', exampleModel, { NAMESPACE: 'other' }, true, 'capture'],
  ['every feature, web pod', everyFeatureModel, { NAMESPACE: 'x', POD_IP: '10.1.1.4' }, true, 'capture'],
  ['every feature, IPv6 pod', everyFeatureModel, { NAMESPACE: 'x', POD_IP: 'fd00::10' }, false, 'capture'],
  ['empty mesh', () => modelFrom([]), {}, true, 'capture'],
  ['bind mode, local mesh, web pod with APP_PORTS', localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }, true, 'bind'],
  ['bind mode, local mesh, client pod', localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.2.1' }, false, 'bind'],
  ['bind mode, local mesh, inbound-only web pod', localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.3.1', BIND_OUTBOUND: 'false' }, true, 'bind'],
  ['bind mode, sample mesh (no loopback VIPs), reviews pod', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, true, 'bind'],
  ['bind mode, every feature, web pod', everyFeatureModel, { NAMESPACE: 'x', POD_IP: '10.1.1.4' }, true, 'bind'],
];

for (const [name, model, metadata, passthrough, outbound] of CASES) {
  for (const kind of ['ferry', 'envoy'] as const) {
    test(`src/config accepts every ${kind} sidecar resource: ${name}`, () => {
      const n = acceptAll(translateForNode(model(), node(kind, metadata), { passthrough, outbound }));
      assert.ok(n >= 4, `${n} resources`);
    });
  }
}

const MTLS_CASES: [string, () => MeshModel, Record<string, unknown>, OutboundMode, 'STRICT' | 'PERMISSIVE'][] = [
  ['meshed, web pod, capture', meshedModel, { NAMESPACE: 'm', POD_IP: '127.0.3.1' }, 'capture', 'PERMISSIVE'],
  ['meshed, db pod, capture, STRICT default', meshedModel, { NAMESPACE: 'm', POD_IP: '127.0.3.2' }, 'capture', 'STRICT'],
  ['meshed, web pod, bind', meshedModel, { NAMESPACE: 'm', POD_IP: '127.0.3.1', BIND_OUTBOUND: 'false' }, 'bind', 'PERMISSIVE'],
  ['meshed, client pod, bind, STRICT default', meshedModel, { NAMESPACE: 'm', POD_IP: '127.0.2.1' }, 'bind', 'STRICT'],
  ['every feature with mTLS, web pod', everyFeatureModel, { NAMESPACE: 'x', POD_IP: '10.1.1.4' }, 'capture', 'STRICT'],
  ['sample mesh with mTLS, reviews pod', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, 'capture', 'PERMISSIVE'],
];

for (const [name, model, metadata, outbound, mtlsMode] of MTLS_CASES) {
  for (const kind of ['ferry', 'envoy'] as const) {
    test(`src/config accepts every ${kind} sidecar resource with mTLS: ${name}`, () => {
      const snap = translateForNode(model(), node(kind, metadata), { outbound, mtls: true, mtlsMode });
      assert.ok(acceptAll(snap) >= 4);
      if (kind === 'ferry' && model === meshedModel) {
        const tls = [...snap[CLUSTER_TYPE]!.values()].filter((c) => c.transport_socket !== undefined);
        assert.ok(tls.length >= 4, `${tls.length} clusters with mTLS`);
      }
    });
  }
}
