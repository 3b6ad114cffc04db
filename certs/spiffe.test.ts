// Tests for SPIFFE ID building and strict parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpiffeIdError, buildSpiffeId, isSpiffeId, parseSpiffeId } from './spiffe';

test('parseSpiffeId accepts workload IDs', () => {
  const cases: Array<[string, string, string, string]> = [
    ['spiffe://cluster.local/ns/default/sa/web', 'cluster.local', 'default', 'web'],
    ['spiffe://example.org/ns/team-a/sa/api.v2', 'example.org', 'team-a', 'api.v2'],
    ['spiffe://td_1/ns/N/sa/Upper_Case-ok', 'td_1', 'N', 'Upper_Case-ok'],
  ];
  for (const [input, td, ns, sa] of cases) {
    const id = parseSpiffeId(input);
    assert.deepEqual({ ...id }, { trustDomain: td, namespace: ns, serviceAccount: sa, uri: input }, input);
    assert.ok(Object.isFrozen(id));
  }
});

test('parseSpiffeId rejects malformed IDs with a stable reason', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['spiffe://' + 'a'.repeat(2100), 'too_long'],
    ['http://cluster.local/ns/a/sa/b', 'wrong_scheme'],
    ['SPIFFE://cluster.local/ns/a/sa/b', 'wrong_scheme'],
    ['spiffe:/cluster.local/ns/a/sa/b', 'wrong_scheme'],
    ['spiffe://Cluster.local/ns/a/sa/b', 'bad_trust_domain'],
    ['spiffe:///ns/a/sa/b', 'bad_trust_domain'],
    ['spiffe://cluster.local:8443/ns/a/sa/b', 'bad_trust_domain'],
    ['spiffe://user@cluster.local/ns/a/sa/b', 'bad_trust_domain'],
    ['spiffe://cluster.local', 'not_workload'],
    ['spiffe://cluster.local/', 'bad_path'],
    ['spiffe://cluster.local/ns/a/sa/b/', 'bad_path'],
    ['spiffe://cluster.local/ns//sa/b', 'bad_path'],
    ['spiffe://cluster.local/ns/./sa/b', 'bad_path'],
    ['spiffe://cluster.local/ns/../sa/b', 'bad_path'],
    ['spiffe://cluster.local/ns/a/sa/b?x=1', 'bad_path'],
    ['spiffe://cluster.local/ns/a/sa/b#frag', 'bad_path'],
    ['spiffe://cluster.local/ns/a%20b/sa/b', 'bad_path'],
    ['spiffe://cluster.local/ns/a/sa/b c', 'bad_path'],
    ['spiffe://cluster.local/ns/a/sa', 'not_workload'],
    ['spiffe://cluster.local/ns/a/sa/b/extra', 'not_workload'],
    ['spiffe://cluster.local/sa/b/ns/a', 'not_workload'],
    ['spiffe://cluster.local/workload', 'not_workload'],
  ];
  for (const [input, reason] of cases) {
    assert.throws(
      () => parseSpiffeId(input),
      (err: unknown) => err instanceof SpiffeIdError && err.reason === reason && err.code === 'FERRY_ERR_SPIFFE_ID',
      `${input} should fail with ${reason}`,
    );
    assert.equal(isSpiffeId(input), false, input);
  }
});

test('buildSpiffeId builds and validates', () => {
  assert.equal(buildSpiffeId('cluster.local', 'default', 'web'), 'spiffe://cluster.local/ns/default/sa/web');
  assert.throws(() => buildSpiffeId('Cluster.local', 'default', 'web'), { reason: 'bad_trust_domain' });
  assert.throws(() => buildSpiffeId('cluster.local', '', 'web'), { reason: 'bad_path' });
  assert.throws(() => buildSpiffeId('cluster.local', 'default', 'a/b'), { reason: 'bad_path' });
  assert.throws(() => buildSpiffeId('cluster.local', 'default', '..'), { reason: 'bad_path' });
  assert.equal(isSpiffeId(buildSpiffeId('td', 'n', 's')), true);
});
