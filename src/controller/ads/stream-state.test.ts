// Table tests for one ADS stream's version/nonce state machine: subscribe, ACK, NACK, stale nonces,
// wildcard and named subscriptions, and when a response is (not) planned.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../xds/type-urls';
import type { EncodedResource, TypeSnapshot } from './snapshot-cache';
import { StreamState, type RequestIn } from './stream-state';
import { clientKind, parseNode } from './node-info';

function ts(typeUrl: string, version: string, resources: Record<string, string>): TypeSnapshot {
  const m = new Map<string, EncodedResource>();
  for (const [name, hash] of Object.entries(resources)) m.set(name, { name, hash, object: { name }, any: { type_url: typeUrl, value: new Uint8Array() } });
  return { typeUrl: typeUrl as TypeSnapshot['typeUrl'], version, resources: m, bodies: new Map(), diffs: new WeakMap() };
}

function req(typeUrl: string, over: Partial<RequestIn> = {}): RequestIn {
  return { typeUrl, versionInfo: '', resourceNames: [], responseNonce: '', errorMessage: null, ...over };
}

function newState() {
  let n = 0;
  return new StreamState(() => `n${++n}`);
}

test('wildcard CDS: subscribe → response → ACK → SYNCED; unchanged snapshot → nothing sent', () => {
  const s = newState();
  assert.equal(s.status(CLUSTER_TYPE), 'NOT SENT');
  assert.deepEqual(s.onRequest(req(CLUSTER_TYPE), 0), { kind: 'subscribe', respond: true });
  const v1 = ts(CLUSTER_TYPE, 'v1', { a: 'h1', b: 'h2' });
  const p = s.plan(CLUSTER_TYPE, v1, 5, 0, true)!;
  assert.deepEqual([p.version, p.nonce, p.resources.map((r) => r.name), p.subsetKey], ['v1', 'n1', ['a', 'b'], '*']);
  assert.equal(s.status(CLUSTER_TYPE), 'STALE');
  const ack = s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v1', responseNonce: 'n1' }), 30);
  assert.deepEqual(ack, { kind: 'ack', version: 'v1', convergenceMs: 30, respond: false });
  assert.equal(s.status(CLUSTER_TYPE), 'SYNCED');
  assert.equal(s.plan(CLUSTER_TYPE, v1, 40, 40), null);
  assert.equal(s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v1b', { a: 'h1', b: 'h2' }), 40, 40), null, 'same content');
  // An empty full-state snapshot is still sent to a wildcard subscriber (it deletes everything).
  assert.equal(s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v0', {}), 50, 50)!.resources.length, 0);
});

test('NACK: recorded with the message, the same content is never sent again, new content is', () => {
  const s = newState();
  s.onRequest(req(CLUSTER_TYPE), 0);
  s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v1', { a: 'h1' }), 0, 0, true);
  s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v1', responseNonce: 'n1' }), 1);
  s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v2', { a: 'bad' }), 2, 2);
  const nack = s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v1', responseNonce: 'n2', errorMessage: 'a: bad field' }), 3);
  assert.deepEqual(nack, { kind: 'nack', version: 'v2', message: 'a: bad field', respond: false });
  assert.equal(s.status(CLUSTER_TYPE), 'NACKED');
  assert.equal(s.type(CLUSTER_TYPE)!.ackedVersion, 'v1');
  assert.equal(s.type(CLUSTER_TYPE)!.lastNack!.message, 'a: bad field');
  assert.equal(s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v2', { a: 'bad' }), 4, 4), null, 'no resend of the NACKed version');
  const fixed = s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v3', { a: 'good' }), 5, 5)!;
  assert.equal(fixed.version, 'v3');
  s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v3', responseNonce: fixed.nonce }), 6);
  assert.equal(s.status(CLUSTER_TYPE), 'SYNCED');
});

test('stale nonces are ignored', () => {
  const s = newState();
  s.onRequest(req(CLUSTER_TYPE), 0);
  s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v1', { a: '1' }), 0, 0, true);
  s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v2', { a: '2' }), 1, 1);
  assert.deepEqual(s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v1', responseNonce: 'n1' }), 2), { kind: 'stale' });
  assert.deepEqual(s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v0', responseNonce: 'n1', errorMessage: 'x' }), 2), { kind: 'stale' });
  assert.equal(s.status(CLUSTER_TYPE), 'STALE');
  assert.equal(s.onRequest(req(CLUSTER_TYPE, { versionInfo: 'v2', responseNonce: 'n2' }), 3).kind, 'ack');
});

test('named EDS: waits for unknown names, sends them when they appear, answers subscription changes', () => {
  const s = newState();
  s.onRequest(req(ENDPOINT_TYPE, { resourceNames: ['x', 'y'] }), 0);
  assert.equal(s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v1', { z: '1' }), 0, 0, true), null, 'nothing known yet');
  const p = s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v2', { x: '1', z: '1' }), 1, 1)!;
  assert.deepEqual(p.resources.map((r) => r.name), ['x']);
  assert.equal(p.subsetKey, 'x\ny', 'the subscribed names: with the snapshot they decide the subset');
  s.onRequest(req(ENDPOINT_TYPE, { versionInfo: 'v2', responseNonce: p.nonce, resourceNames: ['x', 'y'] }), 2);
  assert.equal(s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v3', { x: '1', z: '2' }), 3, 3), null, 'z changed, but x did not');
  // y appears: only y is sent (EDS responses to a change carry what changed).
  const v4 = s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v4', { x: '1', y: '1' }), 4, 4)!;
  assert.deepEqual([v4.resources.map((r) => r.name), v4.incremental, v4.subsetKey], [['y'], true, 'y']);
  const ack = s.onRequest(req(ENDPOINT_TYPE, { versionInfo: 'v4', responseNonce: 'n2', resourceNames: ['y'] }), 5);
  assert.deepEqual(ack, { kind: 'ack', version: 'v4', convergenceMs: 1, respond: true });
  assert.deepEqual(s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v4', { x: '1', y: '1' }), 6, 6)!.resources.map((r) => r.name), ['y']);
});

test('named LDS (gRPC api_listener) is not a wildcard; "*" is', () => {
  const s = newState();
  s.onRequest(req(LISTENER_TYPE, { resourceNames: ['a.ns.svc.cluster.local:80'] }), 0);
  const snap = ts(LISTENER_TYPE, 'v1', { 'a.ns.svc.cluster.local:80': '1', other: '2' });
  assert.deepEqual(s.plan(LISTENER_TYPE, snap, 0, 0, true)!.resources.map((r) => r.name), ['a.ns.svc.cluster.local:80']);
  const s2 = newState();
  s2.onRequest(req(LISTENER_TYPE, { resourceNames: ['*'] }), 0);
  assert.equal(s2.plan(LISTENER_TYPE, snap, 0, 0, true)!.resources.length, 2);
  // A named full-state subscription with nothing known is answered (empty = "does not exist").
  const s3 = newState();
  s3.onRequest(req(LISTENER_TYPE, { resourceNames: ['missing'] }), 0);
  assert.equal(s3.plan(LISTENER_TYPE, snap, 0, 0, true)!.resources.length, 0);
});

test('a type the node has no snapshot for, or never asked for, plans nothing', () => {
  const s = newState();
  assert.equal(s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, 'v1', { a: '1' }), 0, 0, true), null);
  s.onRequest(req(CLUSTER_TYPE), 0);
  assert.equal(s.plan(CLUSTER_TYPE, undefined, 0, 0, true), null);
});

test('node info: client kinds and fields', () => {
  const cases: [string, string][] = [
    ['envoy', 'envoy'],
    ['gRPC Node Pure JS', 'grpc'],
    ['gRPC C-core', 'grpc'],
    ['ferry', 'ferry'],
    ['', 'unknown'],
  ];
  for (const [ua, kind] of cases) assert.equal(clientKind(ua), kind, ua);
  const n = parseNode({ id: 'p1', cluster: 'c', userAgentName: 'envoy', userAgentBuildVersion: { version: { majorNumber: 1, minorNumber: 40 } }, metadata: { NAMESPACE: 'ns' }, locality: { zone: 'z' } });
  assert.deepEqual([n.id, n.kind, n.userAgentVersion, n.metadata.NAMESPACE, n.locality.zone], ['p1', 'envoy', '1.40.0', 'ns', 'z']);
});

test('an ACK repeating the subscription byte for byte is not decoded; a changed one is', () => {
  const s = newState();
  const raw = Buffer.from('names x,y');
  s.onRequest(req(ENDPOINT_TYPE, { resourceNames: ['x', 'y'], resourceNamesRaw: raw }), 0);
  const p = s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v1', { x: '1', y: '1' }), 0, 0, true)!;
  const untouchable = {
    typeUrl: ENDPOINT_TYPE, versionInfo: 'v1', responseNonce: p.nonce, errorMessage: null, resourceNamesRaw: Buffer.from(raw),
    get resourceNames(): string[] {
      throw new Error('names decoded although the raw bytes were equal');
    },
  };
  assert.deepEqual(s.onRequest(untouchable, 1), { kind: 'ack', version: 'v1', convergenceMs: 1, respond: false });
  const v2 = s.plan(ENDPOINT_TYPE, ts(ENDPOINT_TYPE, 'v2', { x: '1', y: '2' }), 2, 2)!;
  const changed = s.onRequest(req(ENDPOINT_TYPE, { versionInfo: 'v2', responseNonce: v2.nonce, resourceNames: ['x'], resourceNamesRaw: Buffer.from('names x') }), 3);
  assert.equal(changed.kind === 'ack' && changed.respond, true);
  assert.deepEqual([...s.type(ENDPOINT_TYPE)!.names], ['x']);
});

test('a change of one resource reaches many streams as one comparison and one response body', () => {
  const streams = Array.from({ length: 50 }, () => newState());
  const names = Array.from({ length: 200 }, (_, i) => `c${i}`);
  const v1 = ts(ENDPOINT_TYPE, 'v1', Object.fromEntries(names.map((n) => [n, '1'])));
  const v2 = ts(ENDPOINT_TYPE, 'v2', { ...Object.fromEntries(names.map((n) => [n, '1'])), c7: '2' });
  for (const s of streams) {
    s.onRequest(req(ENDPOINT_TYPE, { resourceNames: names }), 0);
    const p = s.plan(ENDPOINT_TYPE, v1, 0, 0, true)!;
    s.onRequest(req(ENDPOINT_TYPE, { versionInfo: 'v1', responseNonce: p.nonce, resourceNames: names }), 1);
  }
  const plans = streams.map((s) => s.plan(ENDPOINT_TYPE, v2, 2, 2)!);
  for (const p of plans) assert.deepEqual([p.resources.map((r) => r.name), p.incremental, p.subsetKey], [['c7'], true, 'c7']);
  assert.ok(v2.diffs.get(v1), 'the difference is remembered on the newer snapshot');
});
