// Delta ADS stream state, table-driven: wildcard and named subscriptions, unsubscribe, what a client
// holds (and reports after a reconnect), ACK/NACK by nonce, and responses that carry only changes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../../xds/type-urls';
import { DeltaState, MAX_OUTSTANDING, type DeltaOutcome, type DeltaRequestIn } from './delta-state';
import type { EncodedResource, TypeSnapshot } from './snapshot-cache';

/** A type snapshot whose resources have the given hashes (the version is derived from them). */
function ts(typeUrl: string, resources: Record<string, string>): TypeSnapshot {
  const m = new Map<string, EncodedResource>();
  for (const [name, hash] of Object.entries(resources)) m.set(name, { name, hash, object: { name }, any: { type_url: typeUrl, value: new Uint8Array() } });
  const version = Object.entries(resources).map(([n, h]) => `${n}=${h}`).join(',') || 'empty';
  return { typeUrl: typeUrl as TypeSnapshot['typeUrl'], version, resources: m, bodies: new Map(), diffs: new WeakMap() };
}

type Step =
  /** A request; `ack`/`nack` answer the last planned response's nonce. */
  | { req: Partial<DeltaRequestIn> & { ack?: true; nack?: string; nonce?: string }; out?: Partial<{ kind: DeltaOutcome['kind']; respond: boolean }> }
  /** A plan against these resources; `send`/`removed` null means no response. */
  | { plan: Record<string, string> | null; send: string[] | null; removed?: string[] }
  | { status: string }
  | { held: Record<string, string> };

interface Case {
  readonly name: string;
  readonly typeUrl: string;
  readonly steps: readonly Step[];
}

const CASES: Case[] = [
  {
    name: 'LDS/CDS: a first request naming nothing is a wildcard subscription; only changes follow',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: {}, out: { kind: 'request', respond: true } },
      { status: 'NOT SENT' },
      { plan: { a: '1', b: '1' }, send: ['a', 'b'], removed: [] },
      { status: 'STALE' },
      { req: { ack: true }, out: { kind: 'ack', respond: false } },
      { status: 'SYNCED' },
      { plan: { a: '1', b: '2', c: '1' }, send: ['b', 'c'], removed: [] },
      { req: { ack: true } },
      { plan: { a: '1', c: '1' }, send: [], removed: ['b'] },
      { req: { ack: true } },
      { plan: { a: '1', c: '1' }, send: null },
      { held: { a: '1', c: '1' } },
    ],
  },
  {
    name: 'wildcard with nothing to send: a fresh client still gets one (empty) answer, then silence',
    typeUrl: LISTENER_TYPE,
    steps: [
      { req: {} },
      { plan: {}, send: [], removed: [] },
      { req: { ack: true } },
      { plan: {}, send: null },
      { status: 'SYNCED' },
    ],
  },
  {
    name: '"*" subscribed explicitly is the wildcard; "*" for EDS is only a name',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: { subscribe: ['*', 'x'] } },
      { plan: { a: '1', x: '1' }, send: ['a', 'x'], removed: [] },
    ],
  },
  {
    name: 'EDS: a first request naming nothing subscribes to nothing',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: {} },
      { plan: { a: '1' }, send: null },
      { req: { subscribe: ['a'] } },
      { plan: { a: '1' }, send: ['a'], removed: [] },
    ],
  },
  {
    name: 'EDS "*" is not a wildcard',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['*'] } },
      { plan: { a: '1' }, send: null },
    ],
  },
  {
    name: 'EDS named: a name that does not exist is not mentioned, and is sent when it appears',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a', 'later'] }, out: { kind: 'request', respond: true } },
      { plan: { other: '1' }, send: null },
      { status: 'NOT SENT' },
      { plan: { a: '1', other: '1' }, send: ['a'], removed: [] },
      { req: { ack: true } },
      { plan: { a: '1', other: '2' }, send: null },
      { plan: { a: '1', other: '2', later: '1' }, send: ['later'], removed: [] },
      { req: { ack: true } },
      { plan: { later: '1' }, send: [], removed: ['a'] },
      { held: { later: '1' } },
    ],
  },
  {
    name: 'NACK: recorded, the rejected version is not sent again unchanged, a fixed one is',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: {} },
      { plan: { a: '1' }, send: ['a'], removed: [] },
      { req: { ack: true } },
      { plan: { a: 'bad', b: '1' }, send: ['a', 'b'], removed: [] },
      { req: { nack: 'clusters[a]: bad' }, out: { kind: 'nack', respond: false } },
      { status: 'NACKED' },
      { held: { a: 'bad', b: '1' } },
      { plan: { a: 'bad', b: '1' }, send: null },
      { plan: { a: 'bad', b: '1', c: '1' }, send: ['c'], removed: [] },
      { status: 'STALE' },
      { plan: { a: 'good', b: '1', c: '1' }, send: ['a'], removed: [] },
      { req: { ack: true } },
      { status: 'STALE' },
      { req: { nonce: 'n3' }, out: { kind: 'ack' } },
      { status: 'SYNCED' },
    ],
  },
  {
    name: 'reconnect: versions the client reports are not sent again; stale ones are; gone ones are removed',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a', 'b', 'c', 'd'], initialVersions: { a: '1', b: 'old', c: '1', zz: '1' } } },
      { plan: { a: '1', b: '2', d: '1' }, send: ['b', 'd'], removed: ['c'] },
      { held: { a: '1', b: '2', d: '1' } },
    ],
  },
  {
    name: 'reconnect with everything current: no response at all, even for the wildcard',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: { initialVersions: { a: '1', b: '1' } } },
      { status: 'NOT SENT' },
      { plan: { a: '1', b: '1' }, send: null },
      { status: 'SYNCED' },
      { plan: { a: '1', b: '2' }, send: ['b'], removed: [] },
    ],
  },
  {
    name: 'initial versions count only on the first request of a type',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a'] } },
      { req: { subscribe: ['b'], initialVersions: { b: '1' } } },
      { plan: { a: '1', b: '1' }, send: ['a', 'b'], removed: [] },
    ],
  },
  {
    name: 'unsubscribe: no response, no more updates; subscribing again sends it even unchanged',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a', 'b'] } },
      { plan: { a: '1', b: '1' }, send: ['a', 'b'], removed: [] },
      { req: { ack: true, unsubscribe: ['a', 'never-subscribed'] }, out: { kind: 'ack', respond: false } },
      { plan: { a: '2', b: '1' }, send: null },
      { held: { b: '1' } },
      { req: { subscribe: ['a'] }, out: { kind: 'request', respond: true } },
      { plan: { a: '2', b: '1' }, send: ['a'], removed: [] },
      { req: { subscribe: ['a'] } },
      { plan: { a: '2', b: '1' }, send: ['a'], removed: [] },
    ],
  },
  {
    name: 'wildcard plus a name: unsubscribing the name answers with it (still wildcard) or its removal',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: { subscribe: ['*', 'a', 'ghost'] } },
      { plan: { a: '1', b: '1' }, send: ['a', 'b'], removed: [] },
      { req: { ack: true, unsubscribe: ['a', 'ghost'] }, out: { kind: 'ack', respond: true } },
      { plan: { a: '1', b: '1' }, send: ['a'], removed: ['ghost'] },
    ],
  },
  {
    name: 'unsubscribing the wildcard forgets what only it brought; explicit names stay',
    typeUrl: CLUSTER_TYPE,
    steps: [
      { req: {} },
      { req: { subscribe: ['a'] } },
      { plan: { a: '1', b: '1' }, send: ['a', 'b'], removed: [] },
      { req: { ack: true, unsubscribe: ['*'] }, out: { kind: 'ack', respond: false } },
      { held: { a: '1' } },
      { plan: { a: '2', b: '2', c: '1' }, send: ['a'], removed: [] },
    ],
  },
  {
    name: 'a stale or unknown nonce is no ACK, but its subscription change is honoured',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a'] } },
      { plan: { a: '1', b: '1' }, send: ['a'], removed: [] },
      { req: { ack: true } },
      { req: { nonce: 'n1', subscribe: ['b'] }, out: { kind: 'request', respond: true } },
      { plan: { a: '1', b: '1' }, send: ['b'], removed: [] },
      { req: { nonce: 'no-such-nonce', errorMessage: 'x' }, out: { kind: 'request', respond: false } },
      { status: 'STALE' },
    ],
  },
  {
    name: 'no snapshot of the type: nothing is sent and nothing removed on a guess',
    typeUrl: ENDPOINT_TYPE,
    steps: [
      { req: { subscribe: ['a'], initialVersions: { a: '1' } } },
      { plan: null, send: null },
      { held: { a: '1' } },
      { plan: { a: '2' }, send: ['a'], removed: [] },
    ],
  },
];

for (const c of CASES) {
  test(`delta state: ${c.name}`, () => {
    let n = 0;
    const s = new DeltaState(() => `n${++n}`);
    let last: string | null = null;
    let now = 0;
    c.steps.forEach((step, i) => {
      const at = `step ${i}`;
      now += 10;
      if ('req' in step) {
        const { ack, nack, nonce, ...rest } = step.req;
        const req: DeltaRequestIn = {
          typeUrl: c.typeUrl,
          subscribe: [],
          unsubscribe: [],
          initialVersions: {},
          responseNonce: ack || nack ? last! : (nonce ?? ''),
          errorMessage: nack ?? null,
          ...rest,
        };
        const out = s.onRequest(req, now);
        if (step.out?.kind) assert.equal(out.kind, step.out.kind, at);
        if (step.out?.respond !== undefined) assert.equal(out.respond, step.out.respond, at);
      } else if ('plan' in step) {
        const p = s.plan(c.typeUrl, step.plan ? ts(c.typeUrl, step.plan) : undefined, now, now - 5);
        if (step.send === null) assert.equal(p, null, `${at}: expected no response, got ${JSON.stringify(p && { send: p.resources.map((r) => r.name), removed: p.removed })}`);
        else {
          assert.ok(p, `${at}: expected a response`);
          assert.deepEqual({ send: p.resources.map((r) => r.name), removed: p.removed }, { send: step.send, removed: step.removed ?? [] }, at);
          last = p.nonce;
        }
      } else if ('status' in step) assert.equal(s.status(c.typeUrl), step.status, at);
      else assert.deepEqual(Object.fromEntries(s.held(c.typeUrl)), step.held, at);
    });
  });
}

test('delta state: ACK carries convergence time from the change; NACK records the error', () => {
  const s = new DeltaState(() => 'n');
  s.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: '', errorMessage: null }, 100);
  const p = s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, { a: '1' }), 150, 120)!;
  const ack = s.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: p.nonce, errorMessage: null }, 200);
  assert.deepEqual(ack, { kind: 'ack', nonce: 'n', version: 'a=1', convergenceMs: 80, respond: false });
  assert.equal(s.type(CLUSTER_TYPE)!.ackedVersion, 'a=1');
  const s2 = new DeltaState(() => 'm');
  s2.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: '', errorMessage: null }, 0);
  s2.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, { a: '1' }), 0, 0);
  const nack = s2.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: 'm', errorMessage: 'no' }, 7);
  assert.deepEqual(nack, { kind: 'nack', nonce: 'm', version: 'a=1', message: 'no', respond: false });
  assert.deepEqual(s2.type(CLUSTER_TYPE)!.lastNack, { version: 'a=1', nonce: 'm', message: 'no', at: 7 });
});

test('delta state: a plan looks only at the names changedSince reports (not the whole snapshot)', () => {
  const s = new DeltaState(() => 'n');
  s.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: '', errorMessage: null }, 0);
  const v1 = ts(CLUSTER_TYPE, { a: '1', b: '1', c: '1' });
  s.plan(CLUSTER_TYPE, v1, 0, 0);
  const v2 = ts(CLUSTER_TYPE, { a: '2', b: '2', c: '2' });
  // The memoised difference says only b changed: a and c are not looked at.
  v2.diffs.set(v1, new Set(['b']));
  assert.deepEqual(s.plan(CLUSTER_TYPE, v2, 1, 1)!.resources.map((r) => r.name), ['b']);
});

test('delta state: at most MAX_OUTSTANDING unanswered responses are remembered', () => {
  let n = 0;
  const s = new DeltaState(() => `n${++n}`);
  s.onRequest({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: '', errorMessage: null }, 0);
  for (let i = 0; i <= MAX_OUTSTANDING; i++) s.plan(CLUSTER_TYPE, ts(CLUSTER_TYPE, { a: String(i) }), i, i);
  assert.equal(s.type(CLUSTER_TYPE)!.outstanding.size, MAX_OUTSTANDING);
  const req = (nonce: string) => ({ typeUrl: CLUSTER_TYPE, subscribe: [], unsubscribe: [], initialVersions: {}, responseNonce: nonce, errorMessage: null });
  assert.equal(s.onRequest(req('n1'), 100).kind, 'request', 'the oldest was forgotten');
  assert.equal(s.onRequest(req('n2'), 100).kind, 'ack');
});
