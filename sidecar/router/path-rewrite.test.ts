// Tests for path rewrites, host rewrites and redirect URLs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RedirectConfig, RouteActionConfig, RouteConfig } from '../../src/config/types';
import { buildRedirectUrl, parseSubstitution, prefixRewrite, regexRewrite, rewriteHost, rewritePath } from './path-rewrite';

test('prefix rewrite keeps the rest of the path and the query', () => {
  const cases: [string, number, string, string][] = [
    ['/api/v1/users?x=1', 4, '/', '//v1/users?x=1'],
    ['/api/v1/users?x=1', 5, '/', '/v1/users?x=1'],
    ['/api?x=1', 4, '/backend', '/backend?x=1'],
    ['/old', 4, '/new', '/new'],
  ];
  for (const [path, len, rw, want] of cases) assert.equal(prefixRewrite(path, len, rw), want);
});

test('regex rewrite: all matches, capture groups, query kept', () => {
  const cases: [RegExp, string, string, string][] = [
    [/^\/service\/([^/]+)(\/.*)$/, '\\2/instance/\\1', '/service/foo/v1/api', '/v1/api/instance/foo'],
    [/one/, 'two', '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/two/zzz'],
    [/^(.*?)one(.*)$/, '\\1two\\2', '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/one/zzz'],
    [/\/xxx\//i, '/yyy/', '/aaa/XxX/bbb', '/aaa/yyy/bbb'],
    [/one/, 'two', '/one?q=one', '/two?q=one'],
    [/a/, '$1\\\\\\9', '/a', '/$1\\'],
  ];
  for (const [regex, substitution, path, want] of cases) {
    const rw = { regex, substitution };
    assert.equal(regexRewrite(path, rw), want, `${regex} ${path}`);
    assert.equal(regexRewrite(path, rw), want, 'compiled form is reused');
  }
  assert.deepEqual(parseSubstitution('a\\1b\\\\c'), ['a', 1, 'b\\c']);
});

function action(over: Partial<RouteActionConfig>): RouteActionConfig {
  return {
    kind: 'route',
    cluster: 'c',
    clusterHeader: null,
    weightedClusters: null,
    totalWeight: 0,
    prefixRewrite: null,
    regexRewrite: null,
    hostRewriteLiteral: null,
    autoHostRewrite: false,
    timeoutMs: 15000,
    idleTimeoutMs: 0,
    retryPolicy: null,
    hashPolicy: [],
    upgradeTypes: null,
    ...over,
  };
}

test('rewritePath uses the matched prefix; rewriteHost prefers the literal', () => {
  const route = { match: { path: { kind: 'prefix', value: '/api/' } } } as unknown as RouteConfig;
  assert.equal(rewritePath('/api/x?y', route, action({ prefixRewrite: '/' })), '/x?y');
  assert.equal(rewritePath('/api/x', route, action({ regexRewrite: { regex: /x/, substitution: 'z' } })), '/api/z');
  assert.equal(rewritePath('/api/x', route, action({})), '/api/x');
  assert.equal(rewriteHost(action({ hostRewriteLiteral: 'lit' }), 'orig', 'up'), 'lit');
  assert.equal(rewriteHost(action({ autoHostRewrite: true }), 'orig', 'up.svc'), 'up.svc');
  assert.equal(rewriteHost(action({ autoHostRewrite: true }), 'orig', null), 'orig');
  assert.equal(rewriteHost(action({}), 'orig', 'up'), 'orig');
});

function redirect(over: Partial<RedirectConfig>): RedirectConfig {
  return {
    kind: 'redirect',
    schemeRedirect: null,
    hostRedirect: null,
    portRedirect: null,
    pathRedirect: null,
    prefixRewrite: null,
    responseCode: 301,
    stripQuery: false,
    ...over,
  };
}

test('redirect URLs', () => {
  const cases: { why: string; r: Partial<RedirectConfig>; scheme?: string; authority: string; path: string; prefix?: string; want: string }[] = [
    { why: 'https redirect', r: { schemeRedirect: 'https' }, authority: 'a.com', path: '/p?q', want: 'https://a.com/p?q' },
    {
      why: 'https redirect strips :80',
      r: { schemeRedirect: 'https' },
      authority: 'a.com:80',
      path: '/',
      want: 'https://a.com/',
    },
    {
      why: 'https redirect keeps another port',
      r: { schemeRedirect: 'https' },
      authority: 'a.com:8080',
      path: '/',
      want: 'https://a.com:8080/',
    },
    {
      why: 'http redirect strips :443',
      r: { schemeRedirect: 'http' },
      scheme: 'https',
      authority: 'a.com:443',
      path: '/',
      want: 'http://a.com/',
    },
    { why: 'host redirect drops the port', r: { hostRedirect: 'b.com' }, authority: 'a.com:8080', path: '/x', want: 'http://b.com/x' },
    { why: 'port redirect', r: { portRedirect: 8443 }, authority: 'a.com:8080', path: '/x', want: 'http://a.com:8443/x' },
    {
      why: 'host and port redirect',
      r: { hostRedirect: 'b.com', portRedirect: 9000 },
      authority: 'a.com',
      path: '/',
      want: 'http://b.com:9000/',
    },
    {
      why: 'scheme and default port redirect',
      r: { schemeRedirect: 'https', portRedirect: 443 },
      authority: 'a.com:80',
      path: '/',
      want: 'https://a.com/',
    },
    { why: 'ipv6 port redirect', r: { portRedirect: 81 }, authority: '[::1]:80', path: '/', want: 'http://[::1]:81/' },
    { why: 'path redirect keeps query', r: { pathRedirect: '/new-path-1' }, authority: 'a', path: '/old-path-1?bar=1', want: 'http://a/new-path-1?bar=1' },
    {
      why: 'path redirect + strip_query',
      r: { pathRedirect: '/new-path-2', stripQuery: true },
      authority: 'a',
      path: '/old-path-2?bar=1',
      want: 'http://a/new-path-2',
    },
    {
      why: 'path redirect query wins over strip_query',
      r: { pathRedirect: '/new-path-3?foo=1', stripQuery: true },
      authority: 'a',
      path: '/old-path-3?bar=1',
      want: 'http://a/new-path-3?foo=1',
    },
    {
      why: 'prefix rewrite',
      r: { prefixRewrite: '/v2/' },
      authority: 'a',
      path: '/v1/users?x',
      prefix: '/v1/',
      want: 'http://a/v2/users?x',
    },
    { why: 'strip query', r: { stripQuery: true }, authority: 'a', path: '/p?x=1', want: 'http://a/p' },
  ];
  for (const c of cases) {
    const got = buildRedirectUrl(redirect(c.r), { scheme: c.scheme ?? 'http', authority: c.authority, path: c.path }, c.prefix ?? null);
    assert.equal(got, c.want, c.why);
  }
});
