// The wire decoder of DiscoveryRequest agrees with the protobufjs decoder, and keeps names raw until asked.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDiscoveryRequest, encodeDiscoveryRequest, type DiscoveryRequestMsg } from './ads-service';
import { decodeDiscoveryRequestWire } from './discovery-request-wire';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from './type-urls';

const cases: DiscoveryRequestMsg[] = [
  { typeUrl: CLUSTER_TYPE },
  {
    versionInfo: 'v1',
    node: { id: 'sidecar~10.1.0.1~a-0.ns~ns.svc.cluster.local', cluster: 'c', userAgentName: 'envoy', metadata: { NAMESPACE: 'ns', LABELS: { app: 'a' }, N: 3 }, locality: { zone: 'z1' } },
    resourceNames: ['outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local', 'ünïcode'],
    typeUrl: ENDPOINT_TYPE,
    responseNonce: '42',
  },
  { versionInfo: 'v0', typeUrl: CLUSTER_TYPE, responseNonce: '7', errorDetail: { code: 3, message: 'CDS[a].lb_policy: unknown value' } },
  { typeUrl: ENDPOINT_TYPE, resourceNames: ['*'] },
];

test('wire decoder: same fields as the protobufjs decoder', () => {
  for (const c of cases) {
    const buf = encodeDiscoveryRequest(c);
    const slow = decodeDiscoveryRequest(buf);
    const fast = decodeDiscoveryRequestWire(buf);
    assert.deepEqual(
      { versionInfo: fast.versionInfo, node: fast.node, resourceNames: fast.resourceNames, typeUrl: fast.typeUrl, responseNonce: fast.responseNonce, errorDetail: fast.errorDetail },
      { versionInfo: slow.versionInfo, node: slow.node, resourceNames: slow.resourceNames ?? [], typeUrl: slow.typeUrl, responseNonce: slow.responseNonce, errorDetail: slow.errorDetail },
      JSON.stringify(c),
    );
  }
});

test('wire decoder: equal subscriptions have equal raw names; different ones do not', () => {
  const a = decodeDiscoveryRequestWire(encodeDiscoveryRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ['x', 'y'], responseNonce: '1' }));
  const b = decodeDiscoveryRequestWire(encodeDiscoveryRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ['x', 'y'], responseNonce: '2', versionInfo: 'v9' }));
  const c = decodeDiscoveryRequestWire(encodeDiscoveryRequest({ typeUrl: ENDPOINT_TYPE, resourceNames: ['x', 'z'], responseNonce: '2' }));
  assert.ok(a.resourceNamesRaw.equals(b.resourceNamesRaw));
  assert.ok(!a.resourceNamesRaw.equals(c.resourceNamesRaw));
  assert.deepEqual(c.resourceNames, ['x', 'z']);
  assert.equal(decodeDiscoveryRequestWire(encodeDiscoveryRequest({ typeUrl: CLUSTER_TYPE })).resourceNamesRaw.length, 0);
});

test('wire decoder: unknown fields are skipped; truncated input is an error naming the message', () => {
  const buf = encodeDiscoveryRequest({ typeUrl: CLUSTER_TYPE, responseNonce: '3' });
  // Field 99 varint and field 100 fixed64 in front of the known fields.
  const extra = Buffer.from([0x98, 0x06, 0x01, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
  const r = decodeDiscoveryRequestWire(Buffer.concat([extra, buf]));
  assert.deepEqual([r.typeUrl, r.responseNonce], [CLUSTER_TYPE, '3']);
  assert.throws(() => decodeDiscoveryRequestWire(buf.subarray(0, buf.length - 1)), /DiscoveryRequest: truncated/);
});
