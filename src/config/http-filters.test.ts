// Tests for HTTP filter translation: router ordering, local rate limit, fault, custom registrations.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAULT_TYPE,
  LOCAL_RATELIMIT_TYPE,
  registerHttpFilterType,
  translateHttpFilter,
  translateHttpFilters,
  translatePerFilterConfig,
  unregisterHttpFilterType,
} from './http-filters';
import { Reader } from './reader';
import { assertConfigError, ROUTER } from './config.fixture';

const filters = (list: unknown[]) => translateHttpFilters(new Reader({ http_filters: list }, 'hcm'), 'http_filters');
const rl = (extra: Record<string, unknown> = {}) => ({
  name: 'envoy.filters.http.local_ratelimit',
  typed_config: { '@type': LOCAL_RATELIMIT_TYPE, stat_prefix: 'rl', token_bucket: { max_tokens: 10, fill_interval: '1s' }, ...extra },
});
const fault = (extra: Record<string, unknown> = {}) => ({ name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, ...extra } });

describe('http_filters', () => {
  test('empty list means the router alone', () => assert.deepEqual(filters([]).map((f) => f.kind), ['router']));
  test('router must be last', () => assertConfigError(() => filters([ROUTER, fault()]), 'hcm.http_filters[0]', 'must be the last filter'));
  test('a chain must end with the router', () => assertConfigError(() => filters([fault()]), 'hcm.http_filters[0]', 'router must be last'));
  test('the older name-only router is accepted', () => assert.equal(filters([{ name: 'envoy.filters.http.router' }])[0].kind, 'router'));
  test('unknown filter type', () =>
    assertConfigError(
      () => filters([{ name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } }, ROUTER]),
      'hcm.http_filters[0].typed_config.@type',
      'not supported',
    ));
  test('unknown name without typed_config', () => assertConfigError(() => filters([{ name: 'envoy.filters.http.cors' }, ROUTER]), 'hcm.http_filters[0]'));
  test('router options', () => {
    const r = translateHttpFilter({ name: 'rt', typed_config: { ...ROUTER.typed_config, suppress_envoy_headers: true, dynamic_stats: false } }, 'f');
    assert.deepEqual(r, { kind: 'router', name: 'rt', suppressEnvoyHeaders: true });
  });
});

describe('local_ratelimit', () => {
  test('defaults', () => {
    const f = translateHttpFilter(rl(), 'f');
    assert.deepEqual(f, {
      kind: 'local_ratelimit', name: 'envoy.filters.http.local_ratelimit', statPrefix: 'rl',
      tokenBucket: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000 },
      filterEnabled: 0, filterEnforced: 0, status: 429, responseHeadersToAdd: [],
    });
  });
  test('fractions, status, headers', () => {
    const f = translateHttpFilter(
      rl({
        filter_enabled: { default_value: { numerator: 100 }, runtime_key: 'a' },
        filter_enforced: { default_value: { numerator: 50, denominator: 'HUNDRED' } },
        status: { code: 'ServiceUnavailable' },
        response_headers_to_add: [{ header: { key: 'x-rl', value: '1' } }],
      }),
      'f',
    );
    assert.ok(f.kind === 'local_ratelimit');
    assert.deepEqual([f.filterEnabled, f.filterEnforced, f.status, f.responseHeadersToAdd[0].name], [1, 0.5, 503, 'x-rl']);
    const low = translateHttpFilter(rl({ status: { code: 200 } }), 'f');
    assert.ok(low.kind === 'local_ratelimit' && low.status === 429, 'below 400 means 429, as in Envoy');
  });
  const bad: [string, Record<string, unknown>, string][] = [
    ['fill interval under 50ms', { token_bucket: { max_tokens: 1, fill_interval: '0.01s' } }, 'f.typed_config.token_bucket.fill_interval'],
    ['no max_tokens', { token_bucket: { fill_interval: '1s' } }, 'f.typed_config.token_bucket.max_tokens'],
    ['descriptors', { descriptors: [{ entries: [] }] }, 'f.typed_config.descriptors'],
    ['x-ratelimit headers', { enable_x_ratelimit_headers: 'DRAFT_VERSION_03' }, 'f.typed_config.enable_x_ratelimit_headers'],
    ['no stat_prefix', { stat_prefix: '' }, 'f.typed_config.stat_prefix'],
  ];
  for (const [name, extra, path] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateHttpFilter(rl(extra), 'f'), path));
});

describe('fault', () => {
  test('delay and abort', () => {
    const f = translateHttpFilter(
      fault({
        delay: { fixed_delay: '0.2s', percentage: { numerator: 10 } },
        abort: { http_status: 503, percentage: { numerator: 1, denominator: 'TEN_THOUSAND' } },
        max_active_faults: 5,
        headers: [{ name: 'x-f' }],
      }),
      'f',
    );
    assert.ok(f.kind === 'fault');
    assert.deepEqual(f.delay, { fixedDelayMs: 200, percentage: 0.1 });
    assert.deepEqual(f.abort, { httpStatus: 503, grpcStatus: null, percentage: 0.0001 });
    assert.equal(f.maxActiveFaults, 5);
    assert.equal(f.headers[0].kind, 'present');
  });
  test('gRPC abort', () => {
    const f = translateHttpFilter(fault({ abort: { grpc_status: 14 } }), 'f');
    assert.ok(f.kind === 'fault' && f.abort!.grpcStatus === 14 && f.abort!.percentage === 0);
  });
  test('empty fault filter (configured per route)', () => {
    const f = translateHttpFilter(fault(), 'f');
    assert.ok(f.kind === 'fault' && f.delay === null && f.abort === null && f.maxActiveFaults === null);
  });
  const bad: [string, Record<string, unknown>, string][] = [
    ['header_delay', { delay: { header_delay: {} } }, 'f.typed_config.delay'],
    ['abort status out of range', { abort: { http_status: 700 } }, 'f.typed_config.abort.http_status'],
    ['abort with both statuses', { abort: { http_status: 500, grpc_status: 2 } }, 'f.typed_config.abort'],
    ['upstream_cluster', { upstream_cluster: 'x' }, 'f.typed_config.upstream_cluster'],
  ];
  for (const [name, extra, path] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateHttpFilter(fault(extra), 'f'), path));
});

describe('custom filters and per-route config', () => {
  const TYPE = 'type.googleapis.com/acme.AuthFilter';
  after(() => {
    unregisterHttpFilterType(TYPE);
    unregisterHttpFilterType('acme.named');
  });
  test('unregistered custom types are rejected; registered ones pass through', () => {
    const f = { name: 'acme.auth', typed_config: { '@type': TYPE, realm: 'x', nested: { a: [1] } } };
    assertConfigError(() => translateHttpFilter(f, 'f'), 'f.typed_config.@type');
    registerHttpFilterType(TYPE);
    assert.deepEqual(translateHttpFilter(f, 'f'), { kind: 'custom', name: 'acme.auth', typeUrl: TYPE, config: { realm: 'x', nested: { a: [1] } } });
  });
  test('registration by name, and TypedStruct unwrapping', () => {
    registerHttpFilterType('acme.named');
    assert.equal(translateHttpFilter({ name: 'acme.named' }, 'f').kind, 'custom');
    const ts = translateHttpFilter(
      { name: 'acme.named', typed_config: { '@type': 'type.googleapis.com/xds.type.v3.TypedStruct', type_url: 'acme.Named', value: { k: 1 } } },
      'f',
    );
    assert.deepEqual(ts, { kind: 'custom', name: 'acme.named', typeUrl: 'acme.Named', config: { k: 1 } });
  });
  test('typed_per_filter_config for fault and local_ratelimit, plain or wrapped in FilterConfig', () => {
    const m = translatePerFilterConfig(
      new Reader(
        {
          typed_per_filter_config: {
            'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { http_status: 500, percentage: { numerator: 100 } } },
            rl: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: rl().typed_config },
          },
        },
        'route',
      ),
      'typed_per_filter_config',
    );
    assert.equal(m['envoy.filters.http.fault'].kind, 'fault');
    assert.equal(m.rl.kind, 'local_ratelimit');
    assert.equal(m.rl.name, 'rl');
  });
  test('per-route config of an unknown type', () =>
    assertConfigError(
      () => translatePerFilterConfig(new Reader({ t: { x: { '@type': 'type.googleapis.com/foo.Bar' } } }, 'route'), 't'),
      'route.t.x.@type',
    ));
});
