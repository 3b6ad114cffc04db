// Property tests for route matching: random route configurations (through the real translator) against a plain model.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { translateRouteConfiguration } from '../../src/config/route';
import { ConfigError } from '../../src/errors';
import { RouteTable, stripPort } from './route-table';

type Kind = 'prefix' | 'path' | 'path_separated_prefix';

interface RouteSpec {
  readonly kind: Kind;
  readonly value: string;
  readonly caseSensitive: boolean | null;
  readonly header: boolean;
}

// A small alphabet, so that paths and route values collide often.
const segment = fc.constantFrom('a', 'b', 'A', 'ab', '');
const pathValue = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`);
const routeSpec: fc.Arbitrary<RouteSpec> = fc.record({
  kind: fc.constantFrom<Kind>('prefix', 'path', 'path_separated_prefix'),
  value: pathValue,
  caseSensitive: fc.option(fc.boolean()),
  header: fc.boolean(),
});
const requestPath = fc.tuple(pathValue, fc.constantFrom('', '?q=1', '?a/b', '#f', '/')).map(([p, tail]) => p + tail);

function routeConfig(routes: readonly RouteSpec[]): unknown {
  return {
    name: 'rc',
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: routes.map((r, i) => ({
          match: {
            [r.kind]: r.value,
            ...(r.caseSensitive === null ? {} : { case_sensitive: r.caseSensitive }),
            ...(r.header ? { headers: [{ name: 'x-h', present_match: true }] } : {}),
          },
          direct_response: { status: 200 + i },
        })),
      },
    ],
  };
}

/** Envoy's path matching, written plainly. */
function modelMatches(r: RouteSpec, path: string, hasHeader: boolean): boolean {
  const cut = path.search(/[?#]/);
  const bare = cut < 0 ? path : path.slice(0, cut);
  const fold = (s: string) => (r.caseSensitive === false ? s.toLowerCase() : s);
  let ok: boolean;
  if (r.kind === 'prefix') ok = fold(path).startsWith(fold(r.value));
  else if (r.kind === 'path') ok = fold(bare) === fold(r.value);
  else ok = fold(bare) === fold(r.value) || fold(bare).startsWith(`${fold(r.value)}/`);
  return ok && (!r.header || hasHeader);
}

test('property: the route chosen is the first one whose match accepts the request', () => {
  fc.assert(
    fc.property(fc.array(routeSpec, { maxLength: 8 }), requestPath, fc.boolean(), (routes, path, hasHeader) => {
      let config;
      try {
        config = translateRouteConfiguration(routeConfig(routes), 'rc');
      } catch (err) {
        if (err instanceof ConfigError) return; // e.g. a path_separated_prefix ending in '/'
        throw err;
      }
      const table = new RouteTable(config);
      const vh = table.selectVirtualHost('any.host')!;
      const req = { path, method: 'GET', headers: hasHeader ? { 'x-h': '1' } : {}, isGrpc: false };
      const got = table.matchRoute(vh, req, () => 0.5);
      const expected = routes.findIndex((r) => modelMatches(r, path, hasHeader));
      const status = got === null ? -1 : (got.action as { status: number }).status - 200;
      assert.equal(status, expected, `${path} over ${JSON.stringify(routes)}`);
    }),
  );
});

// Virtual hosts: unique domains of each kind, and authorities that may hit them with case and port changes.
const label = fc.constantFrom('a', 'b', 'ab', 'x-a');
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const domain = fc.oneof(host, host.map((h) => `*.${h}`), host.map((h) => `*${h}`), host.map((h) => `${h}.*`), fc.constant('*'), host.map((h) => `${h}:8080`));

/** Envoy's domain order: exact, longest suffix wildcard, longest prefix wildcard; then without the port; then '*'. */
function modelVirtualHost(domainsPerHost: readonly string[][], authority: string): number {
  const find = (h: string): number => {
    let best = -1;
    domainsPerHost.forEach((ds, i) => ds.forEach((d) => {
      if (best < 0 && d.toLowerCase() === h) best = i;
    }));
    if (best >= 0) return best;
    for (const wildcardAt of ['start', 'end'] as const) {
      let bestLen = -1;
      domainsPerHost.forEach((ds, i) => ds.forEach((raw) => {
        const d = raw.toLowerCase();
        if (d === '*') return;
        const part = wildcardAt === 'start' ? (d.startsWith('*') ? d.slice(1) : null) : d.endsWith('*') && !d.startsWith('*') ? d.slice(0, -1) : null;
        if (part === null || h.length <= part.length) return;
        const hit = wildcardAt === 'start' ? h.endsWith(part) : h.startsWith(part);
        if (hit && part.length > bestLen) {
          bestLen = part.length;
          best = i;
        }
      }));
      if (best >= 0) return best;
    }
    return -1;
  };
  const lower = authority.toLowerCase();
  let found = find(lower);
  if (found < 0 && stripPort(lower) !== lower) found = find(stripPort(lower));
  if (found < 0) found = domainsPerHost.findIndex((ds) => ds.includes('*'));
  return found;
}

test('property: the virtual host chosen follows Envoy domain order, with and without the port, in any case', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(domain, { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 4 }),
      fc.tuple(host, fc.constantFrom('', ':8080', ':80'), fc.boolean()),
      ([first, ...rest], groups, [h, port, upper]) => {
        const all = [first, ...rest];
        const perHost: string[][] = Array.from({ length: groups }, () => []);
        all.forEach((d, i) => perHost[i % groups].push(d));
        const config = translateRouteConfiguration(
          { name: 'rc', virtual_hosts: perHost.filter((ds) => ds.length > 0).map((domains, i) => ({ name: `vh${i}`, domains, routes: [] })) },
          'rc',
        );
        const used = perHost.filter((ds) => ds.length > 0);
        const table = new RouteTable(config);
        const authority = (upper ? h.toUpperCase() : h) + port;
        const expected = modelVirtualHost(used, authority);
        for (let i = 0; i < 2; i++) {
          // Twice: the second answer comes from the table's cache.
          const got = table.selectVirtualHost(authority);
          assert.equal(got === null ? -1 : Number(got.name.slice(2)), expected, `${authority} over ${JSON.stringify(used)}`);
        }
      },
    ),
  );
});
