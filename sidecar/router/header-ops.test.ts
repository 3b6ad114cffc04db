// Tests for header mutations: each action, remove-before-add, and route → vhost → route config order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderValueOption, RouteConfig, RouteConfiguration, VirtualHostConfig } from '../../src/config/types';
import { applyHeaderMutations, applyRequestHeaderOps, applyResponseHeaderOps, type MutableHeaders } from './header-ops';

const opt = (name: string, value: string, action: HeaderValueOption['action']): HeaderValueOption => ({
  name,
  value,
  action,
});

test('one level: each action, empty values skipped, removals first', () => {
  const cases: {
    why: string;
    start: MutableHeaders;
    remove?: string[];
    add: HeaderValueOption[];
    want: MutableHeaders;
  }[] = [
    { why: 'append to absent', start: {}, add: [opt('x', '1', 'append')], want: { x: '1' } },
    { why: 'append to present', start: { x: '0' }, add: [opt('x', '1', 'append')], want: { x: ['0', '1'] } },
    {
      why: 'append twice',
      start: { x: '0' },
      add: [opt('x', '1', 'append'), opt('x', '2', 'append')],
      want: { x: ['0', '1', '2'] },
    },
    { why: 'add_if_absent, absent', start: {}, add: [opt('x', '1', 'add_if_absent')], want: { x: '1' } },
    { why: 'add_if_absent, present', start: { x: '0' }, add: [opt('x', '1', 'add_if_absent')], want: { x: '0' } },
    { why: 'overwrite', start: { x: ['0', '9'] }, add: [opt('x', '1', 'overwrite')], want: { x: '1' } },
    { why: 'empty value skipped', start: { x: '0' }, add: [opt('x', '', 'overwrite')], want: { x: '0' } },
    {
      why: 'remove then add',
      start: { x: '0', y: 'y' },
      remove: ['x', 'y'],
      add: [opt('x', '1', 'append')],
      want: { x: '1' },
    },
  ];
  for (const c of cases) {
    const h = structuredClone(c.start);
    applyHeaderMutations(h, c.remove ?? [], c.add);
    assert.deepEqual(h, c.want, c.why);
  }
});

function level(add: HeaderValueOption[], remove: string[] = []) {
  return {
    requestHeadersToAdd: add,
    requestHeadersToRemove: remove,
    responseHeadersToAdd: add,
    responseHeadersToRemove: remove,
  };
}

test('order: route, then virtual host, then route configuration (least specific last)', () => {
  const route = level([opt('o', 'route', 'overwrite'), opt('a', 'route', 'add_if_absent'), opt('l', 'route', 'append')], [
    'gone',
  ]) as unknown as RouteConfig;
  const vh = level(
    [opt('o', 'vhost', 'overwrite'), opt('a', 'vhost', 'add_if_absent'), opt('l', 'vhost', 'append')],
    ['route-only'],
  ) as unknown as VirtualHostConfig;
  const rc = level([opt('o', 'rc', 'overwrite'), opt('a', 'rc', 'add_if_absent'), opt('l', 'rc', 'append')]) as unknown as RouteConfiguration;

  for (const apply of [applyRequestHeaderOps, applyResponseHeaderOps]) {
    const h: MutableHeaders = { gone: 'x', keep: 'k' };
    apply(h, route, vh, rc);
    assert.deepEqual(h, { keep: 'k', o: 'rc', a: 'route', l: ['route', 'vhost', 'rc'] }, apply.name);
  }

  // a level removing what a more specific level added: the vhost removal runs after the route add
  const r2 = level([opt('route-only', '1', 'append')]) as unknown as RouteConfig;
  const h: MutableHeaders = {};
  applyRequestHeaderOps(h, r2, vh, null);
  assert.deepEqual(h, { o: 'vhost', a: 'vhost', l: 'vhost' });

  const none: MutableHeaders = { a: '1' };
  applyRequestHeaderOps(none, null, null, null);
  assert.deepEqual(none, { a: '1' });
});
