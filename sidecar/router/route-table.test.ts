// Tests for the route table: virtual host domain order and every route matcher kind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  HeaderMatcherConfig,
  PathMatchConfig,
  RouteConfig,
  RouteConfiguration,
  RouteMatchConfig,
  VirtualHostConfig,
} from '../../src/config/types';
import { RouteTable, parseQuery, pathLength, stripPort, type RouteMatchRequest } from './route-table';

function vh(name: string, domains: string[], routes: RouteConfig[] = []): VirtualHostConfig {
  return {
    name,
    domains,
    routes,
    retryPolicy: null,
    requireTls: 'none',
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    perFilterConfig: {},
  };
}

function rc(virtualHosts: VirtualHostConfig[]): RouteConfiguration {
  return {
    name: 'rc',
    virtualHosts,
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
  };
}

function route(name: string, path: PathMatchConfig, extra: Partial<RouteMatchConfig> = {}): RouteConfig {
  return {
    name,
    match: { path, caseSensitive: true, headers: [], queryParameters: [], grpc: false, runtimeFraction: 1, ...extra },
    action: { kind: 'direct_response', status: 200, body: name },
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    perFilterConfig: {},
  };
}

const prefix = (value: string): PathMatchConfig => ({ kind: 'prefix', value });
const exact = (value: string): PathMatchConfig => ({ kind: 'path', value });
const sep = (value: string): PathMatchConfig => ({ kind: 'path_separated_prefix', value });
const regex = (value: string): PathMatchConfig => ({ kind: 'safe_regex', value, regex: new RegExp(`^(?:${value})$`) });

function hm(name: string, kind: HeaderMatcherConfig['kind'], over: Partial<HeaderMatcherConfig> = {}): HeaderMatcherConfig {
  return {
    name,
    kind,
    value: '',
    regex: null,
    ignoreCase: false,
    presentMatch: true,
    rangeStart: 0,
    rangeEnd: 0,
    invertMatch: false,
    treatMissingAsEmpty: false,
    ...over,
  };
}

function req(path: string, headers: RouteMatchRequest['headers'] = {}, extra: Partial<RouteMatchRequest> = {}): RouteMatchRequest {
  return { path, method: 'GET', headers, isGrpc: false, ...extra };
}

const never = (): number => {
  throw new Error('random must not be drawn');
};

test('virtual host domain order: exact, longest suffix, longest prefix, then *', () => {
  const table = new RouteTable(
    rc([
      vh('star', ['*']),
      vh('prefix-short', ['foo.*']),
      vh('prefix-long', ['foo.bar.*']),
      vh('suffix-short', ['*.com']),
      vh('suffix-long', ['*.foo.com']),
      vh('suffix-dash', ['*-bar.foo.com']),
      vh('exact', ['www.foo.com', 'api.example.org:8080']),
    ]),
  );
  const cases: [string, string][] = [
    ['www.foo.com', 'exact'],
    ['WWW.Foo.COM', 'exact'],
    ['a.foo.com', 'suffix-long'],
    ['baz-bar.foo.com', 'suffix-dash'],
    ['a.b.foo.com', 'suffix-long'],
    ['foo.com', 'suffix-short'],
    ['other.com', 'suffix-short'],
    ['foo.bar.net', 'prefix-long'],
    ['foo.net', 'prefix-short'],
    ['elsewhere.net', 'star'],
    // port handling: with the port first, then without it.
    ['www.foo.com:80', 'exact'],
    ['api.example.org:8080', 'exact'],
    ['api.example.org:9090', 'star'],
    ['a.foo.com:443', 'suffix-long'],
    ['foo.net:1', 'prefix-short'],
  ];
  for (const [authority, want] of cases) {
    assert.equal(table.selectVirtualHost(authority)?.name, want, authority);
    // and again from the cache
    assert.equal(table.selectVirtualHost(authority)?.name, want, `${authority} (cached)`);
  }
});

test('a suffix wildcard needs at least one character before it', () => {
  const table = new RouteTable(rc([vh('suffix', ['*.foo.com']), vh('prefix', ['foo*'])]));
  assert.equal(table.selectVirtualHost('.foo.com'), null);
  assert.equal(table.selectVirtualHost('x.foo.com')?.name, 'suffix');
  assert.equal(table.selectVirtualHost('foo'), null);
  assert.equal(table.selectVirtualHost('food')?.name, 'prefix');
});

test('no virtual host at all → null, and the cache stays bounded', () => {
  const table = new RouteTable(rc([vh('a', ['a.com'])]));
  for (let i = 0; i < 5000; i++) assert.equal(table.selectVirtualHost(`h${i}.com`), null);
  assert.ok((table as unknown as { cache: Map<string, unknown> }).cache.size <= 1024);
  assert.equal(table.selectVirtualHost('a.com')?.name, 'a');
});

test('stripPort and pathLength', () => {
  const cases: [string, string][] = [
    ['a.com:80', 'a.com'],
    ['a.com', 'a.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['::1', '::1'],
    ['a.com:x', 'a.com:x'],
  ];
  for (const [input, want] of cases) assert.equal(stripPort(input), want, input);
  assert.equal(pathLength('/a/b?x=1'), 4);
  assert.equal(pathLength('/a#f?x'), 2);
  assert.equal(pathLength('/a'), 2);
});

test('path matchers', () => {
  const cases: { match: PathMatchConfig; caseSensitive?: boolean; path: string; want: boolean }[] = [
    { match: prefix('/api'), path: '/api/v1', want: true },
    { match: prefix('/api'), path: '/apix', want: true },
    { match: prefix('/api'), path: '/ap', want: false },
    { match: prefix('/API'), path: '/api/v1', want: false },
    { match: prefix('/API'), caseSensitive: false, path: '/api/v1', want: true },
    { match: exact('/health'), path: '/health', want: true },
    { match: exact('/health'), path: '/health?full=1', want: true },
    { match: exact('/health'), path: '/healthz', want: false },
    { match: exact('/Health'), caseSensitive: false, path: '/HEALTH?x', want: true },
    { match: sep('/api'), path: '/api', want: true },
    { match: sep('/api'), path: '/api/v1', want: true },
    { match: sep('/api'), path: '/api?x=1', want: true },
    { match: sep('/api'), path: '/apix', want: false },
    { match: regex('/users/[0-9]+'), path: '/users/42', want: true },
    { match: regex('/users/[0-9]+'), path: '/users/42?page=2', want: true },
    { match: regex('/users/[0-9]+'), path: '/users/42/x', want: false },
    // full match: an unanchored RegExp from config must still not match a substring
    { match: { kind: 'safe_regex', value: '/u', regex: /\/u/ }, path: '/u/x', want: false },
  ];
  for (const c of cases) {
    const r = route('r', c.match, { caseSensitive: c.caseSensitive ?? true });
    const host = vh('h', ['*'], [r]);
    const table = new RouteTable(rc([host]));
    assert.equal(table.matchRoute(host, req(c.path), never) === r, c.want, `${c.match.kind} ${c.match.value} ${c.path}`);
  }
});

test('header matchers: every kind, invert, present, range, treat_missing_as_empty, joined values', () => {
  const cases: { m: HeaderMatcherConfig; headers: RouteMatchRequest['headers']; want: boolean; why: string }[] = [
    { m: hm('x', 'exact', { value: 'a' }), headers: { x: 'a' }, want: true, why: 'exact' },
    { m: hm('x', 'exact', { value: 'a' }), headers: { x: 'A' }, want: false, why: 'exact is case-sensitive' },
    { m: hm('x', 'exact', { value: 'a', ignoreCase: true }), headers: { x: 'A' }, want: true, why: 'ignore case' },
    { m: hm('x', 'exact', { value: 'a' }), headers: {}, want: false, why: 'missing' },
    { m: hm('x', 'exact', { value: 'a', invertMatch: true }), headers: { x: 'b' }, want: true, why: 'inverted' },
    { m: hm('x', 'exact', { value: 'a', invertMatch: true }), headers: {}, want: false, why: 'inverted, missing' },
    {
      m: hm('x', 'exact', { value: 'a', invertMatch: true, treatMissingAsEmpty: true }),
      headers: {},
      want: true,
      why: 'inverted, missing as empty',
    },
    { m: hm('x', 'exact', { value: '', treatMissingAsEmpty: true }), headers: {}, want: true, why: 'missing as empty' },
    { m: hm('x', 'prefix', { value: 'ab' }), headers: { x: 'abc' }, want: true, why: 'prefix' },
    { m: hm('x', 'suffix', { value: 'bc' }), headers: { x: 'abc' }, want: true, why: 'suffix' },
    { m: hm('x', 'suffix', { value: 'BC', ignoreCase: true }), headers: { x: 'abc' }, want: true, why: 'suffix ci' },
    { m: hm('x', 'contains', { value: 'b' }), headers: { x: 'abc' }, want: true, why: 'contains' },
    { m: hm('x', 'contains', { value: 'z' }), headers: { x: 'abc' }, want: false, why: 'contains miss' },
    { m: hm('x', 'safe_regex', { value: '\\d{3}', regex: /^(?:\d{3})$/ }), headers: { x: '123' }, want: true, why: 're' },
    {
      m: hm('x', 'safe_regex', { value: '\\d{3}', regex: /^(?:\d{3})$/, invertMatch: true }),
      headers: { x: '1234' },
      want: true,
      why: 'regex \\d{3} does not match 1234, so matches inverted',
    },
    { m: hm('x', 'present'), headers: { x: '' }, want: true, why: 'present' },
    { m: hm('x', 'present'), headers: {}, want: false, why: 'present, missing' },
    { m: hm('x', 'present', { presentMatch: false }), headers: {}, want: true, why: 'absent wanted' },
    { m: hm('x', 'present', { presentMatch: false }), headers: { x: 'v' }, want: false, why: 'absent wanted, present' },
    { m: hm('x', 'present', { invertMatch: true }), headers: {}, want: true, why: 'present inverted, missing' },
    { m: hm('x', 'present', { invertMatch: true }), headers: { x: 'v' }, want: false, why: 'present inverted' },
    { m: hm('x', 'range', { rangeStart: -10, rangeEnd: 0 }), headers: { x: '-1' }, want: true, why: 'range' },
    { m: hm('x', 'range', { rangeStart: -10, rangeEnd: 0 }), headers: { x: '0' }, want: false, why: 'range end open' },
    { m: hm('x', 'range', { rangeStart: -10, rangeEnd: 0 }), headers: { x: '10.9' }, want: false, why: 'float' },
    { m: hm('x', 'range', { rangeStart: -10, rangeEnd: 0 }), headers: { x: '-1x' }, want: false, why: 'junk' },
    {
      m: hm('x', 'range', { rangeStart: -10, rangeEnd: 0, invertMatch: true }),
      headers: { x: '-1' },
      want: false,
      why: 'range inverted',
    },
    {
      m: hm('x', 'range', { rangeStart: 0, rangeEnd: 10, invertMatch: true, treatMissingAsEmpty: true }),
      headers: {},
      want: true,
      why: 'empty is not in range, inverted',
    },
    { m: hm('x', 'exact', { value: 'a,b' }), headers: { x: ['a', 'b'] }, want: true, why: 'joined with ,' },
    { m: hm(':method', 'exact', { value: 'POST' }), headers: {}, want: false, why: ':method GET' },
    { m: hm(':authority', 'exact', { value: 'h.com' }), headers: { host: 'h.com' }, want: true, why: ':authority from host' },
    { m: hm(':path', 'prefix', { value: '/p' }), headers: {}, want: true, why: ':path' },
  ];
  for (const c of cases) {
    const r = route('r', prefix('/'), { headers: [c.m] });
    const host = vh('h', ['*'], [r]);
    const table = new RouteTable(rc([host]));
    assert.equal(table.matchRoute(host, req('/p', c.headers), never) === r, c.want, c.why);
  }
});

test('all header matchers must match', () => {
  const r = route('r', prefix('/'), { headers: [hm('a', 'present'), hm('b', 'exact', { value: '1' })] });
  const host = vh('h', ['*'], [r]);
  const table = new RouteTable(rc([host]));
  assert.equal(table.matchRoute(host, req('/', { a: 'x', b: '1' }), never), r);
  assert.equal(table.matchRoute(host, req('/', { a: 'x', b: '2' }), never), null);
  assert.equal(table.matchRoute(host, req('/', { b: '1' }), never), null);
});

test('query parameter matchers', () => {
  const sm = (kind: 'exact' | 'prefix' | 'safe_regex', value: string) => ({
    kind,
    value,
    regex: kind === 'safe_regex' ? new RegExp(`^(?:${value})$`) : null,
    ignoreCase: false,
  });
  const cases: { q: RouteMatchConfig['queryParameters']; path: string; want: boolean }[] = [
    { q: [{ name: 'debug', stringMatch: null, presentMatch: true }], path: '/?debug', want: true },
    { q: [{ name: 'debug', stringMatch: null, presentMatch: true }], path: '/?x=1&debug=0', want: true },
    { q: [{ name: 'debug', stringMatch: null, presentMatch: true }], path: '/?x=1', want: false },
    { q: [{ name: 'debug', stringMatch: null, presentMatch: true }], path: '/', want: false },
    { q: [{ name: 'v', stringMatch: sm('exact', '2'), presentMatch: false }], path: '/?v=2', want: true },
    { q: [{ name: 'v', stringMatch: sm('exact', '2'), presentMatch: false }], path: '/?v=3', want: false },
    { q: [{ name: 'v', stringMatch: sm('exact', '2'), presentMatch: false }], path: '/?v=2&v=3', want: true },
    { q: [{ name: 'v', stringMatch: sm('exact', 'a b'), presentMatch: false }], path: '/?v=a%20b', want: true },
    { q: [{ name: 'v', stringMatch: sm('prefix', 'ab'), presentMatch: false }], path: '/?v=abc#frag', want: true },
    { q: [{ name: 'v', stringMatch: sm('safe_regex', '[0-9]+'), presentMatch: false }], path: '/?v=12', want: true },
    { q: [{ name: 'v', stringMatch: sm('safe_regex', '[0-9]+'), presentMatch: false }], path: '/?v=12a', want: false },
    {
      q: [
        { name: 'a', stringMatch: null, presentMatch: true },
        { name: 'b', stringMatch: null, presentMatch: true },
      ],
      path: '/?a=1',
      want: false,
    },
  ];
  for (const c of cases) {
    const r = route('r', prefix('/'), { queryParameters: c.q });
    const host = vh('h', ['*'], [r]);
    const table = new RouteTable(rc([host]));
    assert.equal(table.matchRoute(host, req(c.path), never) === r, c.want, `${JSON.stringify(c.q)} ${c.path}`);
  }
  assert.deepEqual([...parseQuery('/p?a=1&b&a=2&=x&c=%zz', 2)], [
    ['a', '1'],
    ['b', ''],
    ['', 'x'],
    ['c', '%zz'],
  ]);
});

test('first match wins, grpc and runtime fraction with one random draw per request', () => {
  const grpc = route('grpc', prefix('/'), { grpc: true });
  const canary = route('canary', prefix('/api'), { runtimeFraction: 0.25 });
  const canary2 = route('canary2', prefix('/api'), { runtimeFraction: 0.5 });
  const api = route('api', prefix('/api'));
  const api2 = route('api-shadowed', prefix('/api/v1'));
  const fallback = route('fallback', prefix('/'));
  const host = vh('h', ['*'], [grpc, canary, canary2, api, api2, fallback]);
  const table = new RouteTable(rc([host]));

  assert.equal(table.matchRoute(host, req('/x', {}, { isGrpc: true }), never), grpc);
  let draws = 0;
  const fixed = (v: number) => () => {
    draws++;
    return v;
  };
  const cases: [number, RouteConfig][] = [
    [0, canary],
    [0.2499, canary],
    [0.25, canary2],
    [0.4999, canary2],
    [0.5, api],
    [0.99, api],
  ];
  for (const [r, want] of cases) {
    draws = 0;
    assert.equal(table.matchRoute(host, req('/api/v1'), fixed(r))?.name, want.name, `random ${r}`);
    assert.equal(draws, 1, 'one draw per request');
  }
  assert.equal(table.matchRoute(host, req('/other'), never), fallback);
  const empty = vh('e', ['*'], []);
  assert.equal(new RouteTable(rc([empty])).matchRoute(empty, req('/'), never), null);
});

test('route() combines host and route selection', () => {
  const r = route('r', prefix('/'));
  const table = new RouteTable(rc([vh('h', ['a.com'], [r])]));
  assert.equal(table.route('a.com:80', req('/'), never), r);
  assert.equal(table.route('b.com', req('/'), never), null);
});
