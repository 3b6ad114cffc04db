// Route resolution of the dashboard, table-tested: redirects, the page's files, libraries, and every way out of the lists.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentTypeOf, LIB_CACHE, OWN_CACHE, resolveDashboardRoute, type DashboardFiles, type DashboardRoute } from './routes';

const FILES: DashboardFiles = {
  own: new Map([
    ['index.html', '/static/index.html'],
    ['dashboard.mjs', '/static/dashboard.mjs'],
    ['dashboard.css', '/static/dashboard.css'],
    ['icon.svg', '/static/icon.svg'],
    ['notes.txt', '/static/notes.txt'],
  ]),
  libs: new Map([
    ['cytoscape.min.js', '/pkg/cytoscape/dist/cytoscape.min.js'],
    ['uPlot.min.css', '/pkg/uplot/dist/uPlot.min.css'],
  ]),
};

const html = 'text/html; charset=utf-8';
const js = 'text/javascript; charset=utf-8';
const css = 'text/css; charset=utf-8';
const own = (file: string, contentType: string): DashboardRoute => ({ kind: 'file', file, contentType, cacheControl: OWN_CACHE });
const lib = (file: string, contentType: string): DashboardRoute => ({ kind: 'file', file, contentType, cacheControl: LIB_CACHE });

const CASES: readonly [string, DashboardRoute | null][] = [
  ['/', { kind: 'redirect', location: '/dashboard/' }],
  ['/dashboard', { kind: 'redirect', location: '/dashboard/' }],
  ['/dashboard/', own('/static/index.html', html)],
  ['/dashboard/index.html', own('/static/index.html', html)],
  ['/dashboard/dashboard.mjs', own('/static/dashboard.mjs', js)],
  ['/dashboard/dashboard.css', own('/static/dashboard.css', css)],
  ['/dashboard/icon.svg', own('/static/icon.svg', 'image/svg+xml')],
  ['/dashboard/lib/cytoscape.min.js', lib('/pkg/cytoscape/dist/cytoscape.min.js', js)],
  ['/dashboard/lib/uPlot.min.css', lib('/pkg/uplot/dist/uPlot.min.css', css)],
  // Not listed, or listed in the other map.
  ['/dashboard/missing.mjs', null],
  ['/dashboard/cytoscape.min.js', null],
  ['/dashboard/lib/dashboard.mjs', null],
  ['/dashboard/lib/', null],
  ['/dashboard/lib', null],
  ['/dashboard/lib/cytoscape.cjs.js', null],
  // A listed file of a type the dashboard does not serve.
  ['/dashboard/notes.txt', null],
  // Ways out of the folder: the path is looked up whole, never joined onto a directory.
  ['/dashboard/../package.json', null],
  ['/dashboard/%2e%2e/package.json', null],
  ['/dashboard/..%2fpackage.json', null],
  ['/dashboard/lib/../../package.json', null],
  ['/dashboard/lib/..%2f..%2fpackage.json', null],
  ['/dashboard/lib/%2Fetc%2Fpasswd', null],
  ['/dashboard//etc/passwd', null],
  ['/dashboard/static/index.html', null],
  ['/dashboard/./index.html', null],
  ['/dashboard/index.html/', null],
  ['/dashboard/INDEX.HTML', null],
  ['/dashboard/index.html%00.css', null],
  ['/dashboard/\\..\\package.json', null],
  // Outside /dashboard/.
  ['/dashboardx', null],
  ['/index.html', null],
  ['/api/stats', null],
  ['', null],
];

for (const [path, want] of CASES) {
  test(`dashboard route ${JSON.stringify(path)} → ${want === null ? '404' : want.kind === 'redirect' ? `redirect ${want.location}` : want.file}`, () => {
    assert.deepEqual(resolveDashboardRoute(path, FILES), want);
  });
}

test('content types by extension; unknown extensions and names without one are not served', () => {
  assert.deepEqual(
    ['a.html', 'a.mjs', 'a.js', 'a.css', 'a.svg', 'a.txt', 'a.json', 'Makefile', 'a.min.js'].map(contentTypeOf),
    [html, js, js, css, 'image/svg+xml', null, null, null, js],
  );
});
