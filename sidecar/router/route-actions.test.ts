// Tests for the route actions that pick an upstream: hash policies (header, cookie, query parameter,
// source IP, terminal) and weighted cluster choice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashPolicyConfig, RouteActionConfig } from '../../src/config/types';
import { pickWeightedCluster, requestHash } from './route-actions';

const header: HashPolicyConfig = { kind: 'header', name: 'x-user', terminal: false };
const cookie: HashPolicyConfig = { kind: 'cookie', name: 'session', terminal: false };
const query: HashPolicyConfig = { kind: 'query_parameter', name: 'id', terminal: false };
const source: HashPolicyConfig = { kind: 'source_ip', terminal: false };

test('each hash policy keys on its own part of the request; absent parts add nothing', () => {
  const h = { 'x-user': 'alice', cookie: 'a=1; session=s-42' };
  const byHeader = requestHash([header], h, '/', '10.0.0.1');
  assert.notEqual(byHeader, null);
  assert.equal(requestHash([header], { 'x-user': 'alice' }, '/other', '10.9.9.9'), byHeader, 'only the header counts');
  assert.notEqual(requestHash([header], { 'x-user': 'bob' }, '/', '10.0.0.1'), byHeader);
  const byCookie = requestHash([cookie], h, '/', '');
  assert.equal(requestHash([cookie], { cookie: 'session=s-42' }, '/', ''), byCookie);
  assert.notEqual(requestHash([cookie], { cookie: 'session=s-43' }, '/', ''), byCookie);
  const byQuery = requestHash([query], {}, '/p?id=7&x=1', '');
  assert.equal(requestHash([query], {}, '/q?x=2&id=7', ''), byQuery);
  assert.notEqual(requestHash([query], {}, '/p?id=8', ''), byQuery);
  assert.equal(requestHash([source], {}, '/', '10.0.0.1'), requestHash([source], { 'x-user': 'z' }, '/x', '10.0.0.1'));
  assert.notEqual(requestHash([source], {}, '/', '10.0.0.1'), requestHash([source], {}, '/', '10.0.0.2'));
  assert.equal(requestHash([header, cookie, query], {}, '/', ''), null, 'nothing to hash: no hash (the balancer picks at random)');
});

test('policies fold together; a terminal one that yields a value stops the rest', () => {
  const h = { 'x-user': 'alice' };
  const both = requestHash([header, source], h, '/', '10.0.0.1');
  assert.notEqual(both, requestHash([header], h, '/', '10.0.0.1'), 'the source IP is folded in');
  const terminal = requestHash([{ ...header, terminal: true }, source], h, '/', '10.0.0.1');
  assert.equal(terminal, requestHash([header], h, '/', '10.0.0.1'), 'a terminal header policy ends the fold');
  assert.equal(requestHash([{ ...header, terminal: true }, source], {}, '/', '10.0.0.1'), requestHash([source], {}, '/', '10.0.0.1'), 'a terminal policy with no value does not stop');
});

test('weighted clusters: each cluster gets the share of random draws its weight says', () => {
  const action = { weightedClusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }], totalWeight: 4 } as unknown as RouteActionConfig;
  const picks = [0, 0.24, 0.25, 0.5, 0.99].map((r) => pickWeightedCluster(action, () => r));
  assert.deepEqual(picks, ['a', 'a', 'b', 'b', 'b']);
});
