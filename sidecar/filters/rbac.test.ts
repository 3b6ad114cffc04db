// RBAC filter: ALLOW and DENY policies over SPIFFE IDs, addresses, paths, methods and ports.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { translateHttpFilter } from '../../src/config/http-filters';
import type { RbacFilterConfig } from '../../src/config/types';
import { RbacFilter } from './rbac';
import { fakeContext, routeWith } from './filter-context.fixture';

const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

function filter(rules: unknown): RbacFilter {
  const cfg = translateHttpFilter({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules } }, 'f') as RbacFilterConfig;
  return new RbacFilter(cfg);
}

const allowClientAndPublic = {
  action: 'ALLOW',
  policies: {
    client: {
      permissions: [{ any: true }],
      principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/client' } } }],
    },
    'public-get': {
      permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/public' } } }, { header: { name: ':method', string_match: { exact: 'GET' } } }] } }],
      principals: [{ authenticated: {} }],
    },
  },
};

describe('RBAC filter', () => {
  const table: { name: string; principal: string | null; path: string; method?: string; allowed: boolean }[] = [
    { name: 'the allowed identity, any path', principal: 'spiffe://cluster.local/ns/default/sa/client', path: '/private', allowed: true },
    { name: 'another mesh identity, private path', principal: 'spiffe://cluster.local/ns/default/sa/intruder', path: '/private', allowed: false },
    { name: 'another mesh identity, public GET', principal: 'spiffe://cluster.local/ns/default/sa/intruder', path: '/public/x?q=1', allowed: true },
    { name: 'another mesh identity, public POST', principal: 'spiffe://cluster.local/ns/default/sa/intruder', path: '/public/x', method: 'POST', allowed: false },
    { name: 'no identity (plaintext), public GET', principal: null, path: '/public', allowed: false },
  ];
  for (const row of table) {
    test(row.name, () => {
      const f = filter(allowClientAndPublic);
      const ctx = fakeContext({ path: row.path, method: row.method ?? 'GET' });
      (ctx.downstream as { peerPrincipal: string | null }).peerPrincipal = row.principal;
      const d = f.decodeHeaders(ctx);
      assert.equal(d.action, row.allowed ? 'continue' : 'reply');
      if (d.action === 'reply') {
        assert.equal(d.reply.status, 403);
        assert.equal(d.reply.flag, 'RBAC');
      }
    });
  }

  test('DENY policies stop only what matches: a namespace and a port', () => {
    const f = filter({
      action: 'DENY',
      policies: {
        'no-test-ns': {
          permissions: [{ destination_port: 80 }],
          principals: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/test/' } } }],
        },
      },
    });
    const ctx = fakeContext();
    (ctx.downstream as { peerPrincipal: string | null }).peerPrincipal = 'spiffe://cluster.local/ns/test/sa/x';
    assert.equal(f.decodeHeaders(ctx).action, 'reply');
    (ctx.downstream as { localPort: number }).localPort = 8080;
    assert.equal(f.decodeHeaders(ctx).action, 'continue');
  });

  test('source_ip and not_id principals', () => {
    const f = filter({
      action: 'ALLOW',
      policies: { lan: { permissions: [{ any: true }], principals: [{ and_ids: { ids: [{ source_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, { not_id: { header: { name: 'x-block', present_match: true } } }] } }] } },
    });
    assert.equal(f.decodeHeaders(fakeContext()).action, 'continue');
    assert.equal(f.decodeHeaders(fakeContext({ headers: { 'x-block': '1' } })).action, 'reply');
  });

  test('no rules allows everything; a per-route config replaces the rules', () => {
    const open = new RbacFilter({ kind: 'rbac', name: 'envoy.filters.http.rbac', rules: null, shadowRules: null });
    assert.equal(open.decodeHeaders(fakeContext()).action, 'continue');
    const perRoute = translateHttpFilter(
      { name: 'envoy.filters.http.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute', rbac: { rules: { action: 'DENY', policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } } } } },
      'p',
    );
    const ctx = fakeContext({ route: routeWith({ 'envoy.filters.http.rbac': perRoute }) });
    assert.equal(open.decodeHeaders(ctx).action, 'reply');
  });

  test('bad configs are rejected with the field named', () => {
    assert.throws(() => filter({ action: 'ALLOW', policies: { p: { permissions: [], principals: [{ any: true }] } } }), /policies\.p\.permissions: at least one permission/);
    assert.throws(() => filter({ action: 'ALLOW', policies: { p: { permissions: [{ any: true, destination_port: 1 }], principals: [{ any: true }] } } }), /only one is allowed/);
    assert.throws(() => filter({ action: 'LOG' }), /LOG is not supported/);
    assert.throws(() => filter({ action: 'ALLOW', policies: { p: { permissions: [{ metadata: { filter: 'x' } }], principals: [{ any: true }] } } }), /metadata/);
  });
});
