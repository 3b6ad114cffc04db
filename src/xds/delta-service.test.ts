// Delta ADS codecs: requests round-trip (initial_resource_versions, error_detail, node metadata), and
// responses assembled from shared Resource messages decode like ones encoded whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adsServiceDefinition } from './ads-service';
import {
  DELTA_ADS_METHOD_PATH,
  decodeDeltaDiscoveryRequest,
  decodeDeltaDiscoveryResponse,
  deltaResponseBytes,
  encodeDeltaDiscoveryRequest,
  encodeDeltaDiscoveryResponse,
  encodeDeltaResource,
} from './delta-service';
import { decodeResource, encodeResource, lookupType } from './protos';
import { CLUSTER_TYPE } from './type-urls';

test('DeltaDiscoveryRequest round-trips every field the server reads', () => {
  const req = {
    node: { id: 'envoy-1', cluster: 'c', metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' } }, userAgentName: 'envoy' },
    typeUrl: CLUSTER_TYPE,
    resourceNamesSubscribe: ['*', 'a'],
    resourceNamesUnsubscribe: ['b'],
    initialResourceVersions: { a: 'h1', 'outbound|80||web': 'h2' },
    responseNonce: 'd7',
    errorDetail: { code: 13, message: 'clusters[a]: bad' },
  };
  assert.deepEqual(decodeDeltaDiscoveryRequest(encodeDeltaDiscoveryRequest(req)), req);
  assert.deepEqual(decodeDeltaDiscoveryRequest(encodeDeltaDiscoveryRequest({ typeUrl: CLUSTER_TYPE })), { typeUrl: CLUSTER_TYPE });
});

test('a response built from pre-encoded Resource messages equals one encoded whole', () => {
  const a = encodeResource(CLUSTER_TYPE, { name: 'a', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } });
  const b = encodeResource(CLUSTER_TYPE, { name: 'b', type: 'STATIC', connect_timeout: '2s' });
  const whole = {
    systemVersionInfo: 'v9',
    resources: [
      { name: 'a', version: 'h1', resource: a },
      { name: 'b', version: 'h2', resource: b },
    ],
    typeUrl: CLUSTER_TYPE,
    removedResources: ['gone', 'also-gone'],
    nonce: 'd3',
  };
  const fast = deltaResponseBytes('v9', CLUSTER_TYPE, [encodeDeltaResource('a', 'h1', a), encodeDeltaResource('b', 'h2', b)], ['gone', 'also-gone'], 'd3');
  const t = lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  assert.deepEqual(t.toObject(t.decode(fast)), t.toObject(t.decode(encodeDeltaDiscoveryResponse(whole))));
  const back = decodeDeltaDiscoveryResponse(fast);
  assert.deepEqual({ ...back, resources: back.resources.map((r) => ({ name: r.name, version: r.version })) }, {
    ...whole,
    resources: [{ name: 'a', version: 'h1' }, { name: 'b', version: 'h2' }],
  });
  assert.deepEqual(decodeResource(back.resources[1].resource!), { name: 'b', type: 'STATIC', connectTimeout: { seconds: 2, nanos: 0 } });
  // An empty response (nothing added, nothing removed) still carries its type and nonce.
  assert.deepEqual(decodeDeltaDiscoveryResponse(deltaResponseBytes('', CLUSTER_TYPE, [], [], 'd4')), {
    systemVersionInfo: '',
    resources: [],
    typeUrl: CLUSTER_TYPE,
    removedResources: [],
    nonce: 'd4',
  });
});

test('the ADS service definition serves both variants', () => {
  const def = adsServiceDefinition();
  assert.deepEqual(Object.keys(def).sort(), ['DeltaAggregatedResources', 'StreamAggregatedResources']);
  assert.equal(def.DeltaAggregatedResources.path, DELTA_ADS_METHOD_PATH);
  assert.equal(def.DeltaAggregatedResources.requestStream && def.DeltaAggregatedResources.responseStream, true);
  const pre = Buffer.from([1, 2, 3]);
  assert.equal(def.DeltaAggregatedResources.responseSerialize(pre), pre, 'a pre-encoded response is written as is');
});
