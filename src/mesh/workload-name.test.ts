// Tests for workload names: the Deployment behind a ReplicaSet, other owners, none; the template hash.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podTemplateHash, workloadFromOwner } from './workload-name';

test('the workload is the Deployment behind a ReplicaSet, else the owner, else none', () => {
  const cases: [Parameters<typeof workloadFromOwner>[0], string | null][] = [
    [{ labels: { 'pod-template-hash': '7d9f8b6c5' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'catalog-v1-7d9f8b6c5', controller: true }] }, 'catalog-v1'],
    [{ labels: {}, ownerReferences: [{ kind: 'ReplicaSet', name: 'plain-rs', controller: true }] }, 'plain-rs'],
    [{ labels: { 'pod-template-hash': 'other' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-abc' }] }, 'web-abc'],
    [{ ownerReferences: [{ kind: 'StatefulSet', name: 'store', controller: true }] }, 'store'],
    [{ ownerReferences: [{ kind: 'Node', name: 'n1' }, { kind: 'DaemonSet', name: 'agent', controller: true }] }, 'agent'],
    [{ ownerReferences: [] }, null],
    [{}, null],
    [{ ownerReferences: [{ kind: 'ReplicaSet', name: 42 }] }, null],
  ];
  for (const [meta, want] of cases) assert.equal(workloadFromOwner(meta), want, JSON.stringify(meta));
});

test('the template hash is stable, ten characters of Kubernetes’ alphabet, and follows the template', () => {
  const a = podTemplateHash({ labels: { app: 'web' }, spec: { containers: [{ name: 'c' }] } });
  assert.equal(a, podTemplateHash({ labels: { app: 'web' }, spec: { containers: [{ name: 'c' }] } }));
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  assert.notEqual(a, podTemplateHash({ labels: { app: 'web' }, spec: { containers: [{ name: 'd' }] } }));
});
