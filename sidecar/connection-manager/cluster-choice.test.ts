// Tests for the one cluster choice of plain requests and upgrades.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteActionConfig } from '../../src/config/types';
import { translateRouteConfiguration } from '../../src/config/route';
import { chooseCluster } from './cluster-choice';

/** The action of a real (translated) route with this route action. */
function action(route: Record<string, unknown>): RouteActionConfig {
  const rc = translateRouteConfiguration({ name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }] }, 'rc');
  const a = rc.virtualHosts[0].routes[0].action;
  assert.equal(a.kind, 'route');
  return a as RouteActionConfig;
}

const weighted = { weighted_clusters: { clusters: [{ name: 'w-a', weight: 1 }, { name: 'w-b', weight: 3 }] } };

test('chooseCluster: route action and request headers to a cluster name', () => {
  const cases: { why: string; route: Record<string, unknown>; headers?: Record<string, string | string[]>; random?: number; want: string | null }[] = [
    { why: 'cluster', route: { cluster: 'c' }, want: 'c' },
    { why: 'cluster, whatever the headers say', route: { cluster: 'c' }, headers: { 'x-cluster': 'other' }, want: 'c' },
    { why: 'cluster_header present', route: { cluster_header: 'x-cluster' }, headers: { 'x-cluster': 'from-header' }, want: 'from-header' },
    { why: 'cluster_header absent: none', route: { cluster_header: 'x-cluster' }, want: null },
    { why: 'cluster_header empty: a name no cluster has', route: { cluster_header: 'x-cluster' }, headers: { 'x-cluster': '' }, want: '' },
    { why: 'cluster_header repeated: joined with commas', route: { cluster_header: 'x-cluster' }, headers: { 'x-cluster': ['a', 'b'] }, want: 'a,b' },
    { why: 'weighted: the first quarter', route: weighted, random: 0, want: 'w-a' },
    { why: 'weighted: past the first weight', route: weighted, random: 0.25, want: 'w-b' },
    { why: 'weighted: the top of the range', route: weighted, random: 0.999, want: 'w-b' },
  ];
  for (const c of cases) {
    const r = c.random ?? 0.5;
    assert.equal(chooseCluster(action(c.route), c.headers ?? {}, () => r), c.want, c.why);
  }
});

test('chooseCluster draws the random number only for weighted clusters', () => {
  let draws = 0;
  const random = (): number => {
    draws++;
    return 0;
  };
  chooseCluster(action({ cluster: 'c' }), {}, random);
  chooseCluster(action({ cluster_header: 'x-cluster' }), { 'x-cluster': 'h' }, random);
  assert.equal(draws, 0);
  chooseCluster(action(weighted), {}, random);
  assert.equal(draws, 1);
});
