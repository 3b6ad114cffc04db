// Tests for the snapshot cache: content-hash versions, per-type change detection, atomic failure.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../errors';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../xds/type-urls';
import { SnapshotCache } from './snapshot-cache';

const cluster = (name: string, ms = 1000) => ({ name, type: 'EDS', connect_timeout: `${ms / 1000}s`, eds_cluster_config: { eds_config: { ads: {} } } });
const cla = (name: string, ip: string) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } } }] }] });

test('only types whose content changed get a new version and are reported', () => {
  const cache = new SnapshotCache();
  const events: string[][] = [];
  cache.onChange((key, types) => events.push([key, ...types]));
  const first = cache.setSnapshot('k', {
    [CLUSTER_TYPE]: new Map([['a', cluster('a')]]),
    [ENDPOINT_TYPE]: new Map([['a', cla('a', '10.0.0.1')]]),
  });
  assert.deepEqual(first, [CLUSTER_TYPE, ENDPOINT_TYPE]);
  const v1 = cache.get('k')!.get(CLUSTER_TYPE)!.version;
  const e1 = cache.get('k')!.get(ENDPOINT_TYPE)!;
  const second = cache.setSnapshot('k', {
    [CLUSTER_TYPE]: new Map([['a', cluster('a')]]),
    [ENDPOINT_TYPE]: new Map([['a', cla('a', '10.0.0.2')]]),
  });
  assert.deepEqual(second, [ENDPOINT_TYPE]);
  assert.equal(cache.get('k')!.get(CLUSTER_TYPE)!.version, v1);
  assert.notEqual(cache.get('k')!.get(ENDPOINT_TYPE)!.version, e1.version);
  assert.deepEqual(cache.setSnapshot('k', { [CLUSTER_TYPE]: new Map([['a', cluster('a')]]), [ENDPOINT_TYPE]: new Map([['a', cla('a', '10.0.0.2')]]) }), []);
  assert.deepEqual(events, [['k', CLUSTER_TYPE, ENDPOINT_TYPE], ['k', ENDPOINT_TYPE]]);
  // A type that disappears counts as changed; the same content in another cache has the same version.
  assert.deepEqual(cache.setSnapshot('k', { [CLUSTER_TYPE]: new Map([['a', cluster('a')]]) }), [ENDPOINT_TYPE]);
  const other = new SnapshotCache();
  other.setSnapshot('x', { [CLUSTER_TYPE]: new Map([['a', cluster('a')]]) });
  assert.equal(other.get('x')!.get(CLUSTER_TYPE)!.version, v1);
});

test('unchanged resources are reused, not encoded again', () => {
  const cache = new SnapshotCache();
  cache.setSnapshot('k', { [CLUSTER_TYPE]: new Map([['a', cluster('a')], ['b', cluster('b')]]) });
  const a1 = cache.get('k')!.get(CLUSTER_TYPE)!.resources.get('a')!;
  cache.setSnapshot('k', { [CLUSTER_TYPE]: new Map([['a', cluster('a')], ['b', cluster('b', 2000)]]) });
  assert.equal(cache.get('k')!.get(CLUSTER_TYPE)!.resources.get('a'), a1);
});

test('a bad resource throws a ConfigError naming it and the previous snapshot stays', () => {
  const cache = new SnapshotCache();
  cache.setSnapshot('k', { [LISTENER_TYPE]: new Map() });
  const before = cache.get('k');
  assert.throws(
    () => cache.setSnapshot('k', { [CLUSTER_TYPE]: new Map([['bad', { name: 'bad', lb_policy: 'NOPE' }]]) }),
    (e: unknown) => e instanceof ConfigError && /^CDS\[bad\]\.lb_policy: "NOPE"/.test(e.message),
  );
  assert.equal(cache.get('k'), before);
});
