// Tests for the HTTP filter registry: built-ins, custom filters, the router skipped, errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateHttpFilter } from '../../src/config/http-filters';
import type { CustomFilterConfig, HttpFilterConfig } from '../../src/config/types';
import { ConfigError, FerryError } from '../../src/errors';
import { FaultFilter } from './fault';
import { LocalRateLimitFilter } from './local-ratelimit';
import { createFilterRegistry, createHttpFilters, isHttpFilterRegistered, registerHttpFilter } from './registry';
import { fakeContext } from './filter-context.fixture';
import { CONTINUE, type HttpFilter, type HttpFilterFactory } from './types';

const deps = { now: () => 0, random: () => 0.5 };

/** The example from README.md: deny a path prefix, otherwise add a header. */
const denyAdmin: HttpFilterFactory = (config) => {
  const c = config as CustomFilterConfig;
  const prefix = String(c.config.prefix ?? '/admin');
  const deny = Object.freeze({
    action: 'reply' as const,
    reply: Object.freeze({ status: 403, body: 'denied', flag: 'UAEX' }),
  });
  const filter: HttpFilter = {
    name: c.name,
    decodeHeaders(ctx) {
      if (ctx.request.path.startsWith(prefix)) return deny;
      ctx.request.headers['x-checked-by'] = c.name;
      return CONTINUE;
    },
  };
  return filter;
};

const custom = (name: string, typeUrl: string, config: Record<string, unknown> = {}): CustomFilterConfig => ({
  kind: 'custom',
  name,
  typeUrl,
  config,
});

test('builds built-ins and custom filters in order, skipping the router', () => {
  const registry = createFilterRegistry();
  registry.register('type.googleapis.com/acme.DenyAdmin', denyAdmin);
  const configs: HttpFilterConfig[] = [
    { kind: 'fault', name: 'envoy.filters.http.fault', delay: null, abort: null, maxActiveFaults: null, headers: [] },
    custom('acme.deny', 'type.googleapis.com/acme.DenyAdmin', { prefix: '/private' }),
    {
      kind: 'local_ratelimit',
      name: 'envoy.filters.http.local_ratelimit',
      statPrefix: 'rl',
      tokenBucket: null,
      filterEnabled: 0,
      filterEnforced: 0,
      status: 429,
      responseHeadersToAdd: [],
    },
    { kind: 'router', name: 'envoy.filters.http.router', suppressEnvoyHeaders: false },
  ];
  const filters = registry.create(configs, deps);
  assert.equal(filters.length, 3);
  assert.ok(filters[0] instanceof FaultFilter);
  assert.equal(filters[1].name, 'acme.deny');
  assert.ok(filters[2] instanceof LocalRateLimitFilter);

  const denied = filters[1].decodeHeaders(fakeContext({ path: '/private/x' }));
  assert.equal(denied.action === 'reply' && denied.reply.status, 403);
  const ctx = fakeContext({ path: '/public' });
  assert.equal(filters[1].decodeHeaders(ctx).action, 'continue');
  assert.equal(ctx.request.headers['x-checked-by'], 'acme.deny');
});

test('custom filters are found by type URL first, then by name', () => {
  const registry = createFilterRegistry();
  const byName: HttpFilterFactory = (c) => ({ name: `by-name:${c.name}`, decodeHeaders: () => CONTINUE });
  const byUrl: HttpFilterFactory = (c) => ({ name: `by-url:${c.name}`, decodeHeaders: () => CONTINUE });
  registry.register('acme.x', byName);
  assert.equal(registry.create([custom('acme.x', 'type.googleapis.com/acme.X')], deps)[0].name, 'by-name:acme.x');
  registry.register('type.googleapis.com/acme.X', byUrl);
  assert.equal(registry.create([custom('acme.x', 'type.googleapis.com/acme.X')], deps)[0].name, 'by-url:acme.x');
});

test('errors: unknown filter, duplicate registration, throwing factory', () => {
  const registry = createFilterRegistry();
  assert.throws(
    () => registry.create([custom('nope', 'type.googleapis.com/acme.Nope')], deps),
    (e: unknown) => e instanceof ConfigError && /http_filters\[0\]/.test(e.message) && /acme\.Nope/.test(e.message),
  );
  registry.register('acme.y', () => ({ name: 'y', decodeHeaders: () => CONTINUE }));
  assert.throws(() => registry.register('acme.y', denyAdmin), FerryError);
  registry.register('acme.y', denyAdmin, { replace: true });
  registry.register('acme.boom', () => {
    throw new Error('bad prefix');
  });
  assert.throws(
    () => registry.create([custom('acme.boom', 'acme.boom')], deps),
    (e: unknown) => e instanceof ConfigError && /bad prefix/.test(e.message) && e.cause instanceof Error,
  );
  assert.ok(registry.unregister('acme.y'));
  assert.equal(registry.has('acme.y'), false);
});

test('the process-wide registry has the built-ins and takes user filters', () => {
  assert.ok(isHttpFilterRegistered('type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault'));
  assert.ok(isHttpFilterRegistered('envoy.filters.http.local_ratelimit'));
  const url = 'type.googleapis.com/ferry.test.RegistryTest';
  registerHttpFilter(url, denyAdmin);
  assert.ok(isHttpFilterRegistered(url));
  // translation now admits the type, and the result builds into a working filter
  const translated = translateHttpFilter(
    { name: 'acme.deny', typed_config: { '@type': url, prefix: '/admin' } },
    'http_filters[0]',
  );
  assert.equal(translated.kind, 'custom');
  const [filter] = createHttpFilters([translated], deps);
  const d = filter.decodeHeaders(fakeContext({ path: '/admin/users' }));
  assert.equal(d.action === 'reply' && d.reply.status, 403);
});
