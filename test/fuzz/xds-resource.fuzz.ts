// Fuzz target: an xDS resource as the sidecar receives it: protobuf decoding, then translation at the sidecar's boundary.
//
// Input: one byte choosing the type (Listener, RouteConfiguration, Cluster, ClusterLoadAssignment),
// then the resource's protobuf bytes (seeded with what the controller serves). Expected: ConfigError
// from decoding (bytes that are not the type) and from translation (the sidecar NACKs with it).
// Asserted: a translated resource is deep-frozen, translation is deterministic, and an accepted
// resource encodes back to protobuf and decodes to the same object.

import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../../src/errors';
import { decodeResource, encodeResource } from '../../src/xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';
import { resourceTranslators } from '../../sidecar/xds/resource-translators';
import { expectOnly, invariant, isDeepFrozen } from './support/fuzz-support';

const TYPES: readonly [string, (obj: unknown, path: string) => unknown][] = [
  [LISTENER_TYPE, resourceTranslators[LISTENER_TYPE]],
  [ROUTE_TYPE, resourceTranslators[ROUTE_TYPE]],
  [CLUSTER_TYPE, resourceTranslators[CLUSTER_TYPE]],
  [ENDPOINT_TYPE, resourceTranslators[ENDPOINT_TYPE]],
];

export function fuzz(data: Buffer): void {
  if (data.length === 0) return;
  const [typeUrl, translate] = TYPES[data[0] % TYPES.length];
  const decoded = expectOnly(() => decodeResource({ type_url: typeUrl, value: data.subarray(1) }), ConfigError);
  if (decoded.error !== null) {
    invariant(decoded.error.message.startsWith('resource'), `a decoding error that does not name the resource: ${decoded.error.message}`);
    return;
  }
  const obj = decoded.value;
  const first = expectOnly(() => translate(obj, 'resource'), ConfigError);
  if (first.error !== null) {
    invariant(first.error.message.startsWith('resource'), `a rejection that does not name the field: ${first.error.message}`);
    return;
  }
  invariant(isDeepFrozen(first.value), 'the translated resource is not deep-frozen');
  const copy = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
  const second = translate(copy, 'resource');
  invariant(isDeepStrictEqual(second, first.value), 'translating the same resource twice gave different results');

  // What was accepted must survive the codec the controller uses to send it.
  const again = decodeResource(encodeResource(typeUrl, copy, 'resource'));
  invariant(isDeepStrictEqual(again, obj), `encode → decode changed the resource:\n${JSON.stringify(obj)}\n${JSON.stringify(again)}`);
}
