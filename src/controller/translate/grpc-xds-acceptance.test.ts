// gRPC-client resources pass @grpc/grpc-js-xds's own resource validation (what would otherwise be a NACK).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeResource } from '../../xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../xds/type-urls';
import { exampleModel, modelFrom, node } from './mesh-models.fixture';
import { translateForNode } from './translate-for-node';

type Decoded = { name: string; value?: unknown; error?: string };
type ResourceType = { get(): { decode(context: unknown, resource: { type_url: string; value: Uint8Array }): Decoded } };

// grpc-js-xds's validators live in its build output; it has no "exports" map, so they can be required.
function resourceType(file: string, name: string): ResourceType {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<string, ResourceType>)[name];
}

// register() installs the xds resolver and the HTTP filter registry (router, fault) the validators read.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require('@grpc/grpc-js-xds') as { register(): void }).register();

const TYPES: Record<string, ResourceType> = {
  [LISTENER_TYPE]: resourceType('listener-resource-type', 'ListenerResourceType'),
  [CLUSTER_TYPE]: resourceType('cluster-resource-type', 'ClusterResourceType'),
  [ENDPOINT_TYPE]: resourceType('endpoint-resource-type', 'EndpointResourceType'),
};
const CONTEXT = { bootstrap: { certificateProviders: {} }, server: {} };

function ringHashModel() {
  return modelFrom([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: '10.96.5.5', ports: [{ name: 'grpc', port: 9000 }] } },
    {
      apiVersion: 'ferry.io/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name: 's', namespace: 'n' },
      spec: { targetRef: { name: 's' }, loadBalancer: { type: 'RingHash', hashOn: { header: 'x-user' } }, retries: { retryOn: ['unavailable'], attempts: 2 }, timeout: '0s', connectionPool: { maxRequests: 10 } },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 's-1', namespace: 'n', labels: { 'kubernetes.io/service-name': 's' } },
      ports: [{ name: 'grpc', port: 9000 }],
      endpoints: [{ addresses: ['10.1.0.1'], zone: 'a' }, { addresses: ['10.1.0.2'], zone: 'b' }, { addresses: ['10.1.0.3'] }],
    },
  ]);
}

for (const [name, model] of [
  ['sample mesh', exampleModel],
  ['ring hash, retries, no timeout, localities', ringHashModel],
] as const) {
  test(`grpc-js-xds accepts every gRPC-client resource: ${name}`, () => {
    const snap = translateForNode(model(), node('grpc'));
    let n = 0;
    for (const [type, rt] of Object.entries(TYPES)) {
      for (const [rname, res] of snap[type as keyof typeof snap]!) {
        const any = encodeResource(type, res);
        const out = rt.get().decode(CONTEXT, { type_url: any.type_url, value: any.value });
        assert.equal(out.error, undefined, `${rname}: ${out.error}`);
        assert.equal(out.name, rname);
        n++;
      }
    }
    assert.ok(n >= 3);
  });
}
