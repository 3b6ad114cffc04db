// Every emitted resource encodes to protobuf (src/xds), and what a sidecar decodes still passes src/config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateCluster, translateClusterLoadAssignment, translateListener, translateRouteConfiguration } from '../../config/bootstrap';
import { decodeResource, encodeResource } from '../../xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import { exampleModel, localMeshModel, node } from './mesh-models.fixture';
import { translateForNode, type TranslateOptions } from './translate-for-node';

const ACCEPT: Record<string, (o: unknown, path: string) => unknown> = {
  [LISTENER_TYPE]: translateListener,
  [ROUTE_TYPE]: translateRouteConfiguration,
  [CLUSTER_TYPE]: translateCluster,
  [ENDPOINT_TYPE]: translateClusterLoadAssignment,
};

const model = exampleModel();

for (const [name, m, n, options] of [
  ['sidecar', model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }), {}],
  ['bind-mode sidecar', localMeshModel(), node('ferry', { NAMESPACE: 'shop', POD_IP: '127.0.3.1' }), { outbound: 'bind' }],
  ['gRPC client', model, node('grpc'), {}],
] as const) {
  const sidecar = name !== 'gRPC client';
  test(`${name} snapshot: every resource encodes and decodes${sidecar ? ', and the decoded form passes src/config' : ''}`, () => {
    const snap = translateForNode(m, n, options as TranslateOptions);
    let count = 0;
    for (const [type, resources] of Object.entries(snap)) {
      for (const [rname, res] of resources!) {
        const any = encodeResource(type, res, `${type}[${rname}]`);
        const back = decodeResource(any);
        assert.equal(back.name ?? back.clusterName ?? back.cluster_name, rname);
        if (sidecar) assert.doesNotThrow(() => ACCEPT[type](back, rname), `${rname} after decoding`);
        count++;
      }
    }
    assert.ok(count > 5);
  });
}

test('an empty locality survives encoding (gRPC rejects assignments whose locality is unset)', () => {
  const la = translateForNode(model, node('grpc'))[ENDPOINT_TYPE]!.get('outbound|6379||ratings.demo.svc.cluster.local')!;
  const back = decodeResource(encodeResource(ENDPOINT_TYPE, la)) as { endpoints: { locality?: unknown }[] };
  assert.ok(back.endpoints[0].locality !== undefined, JSON.stringify(back));
});
