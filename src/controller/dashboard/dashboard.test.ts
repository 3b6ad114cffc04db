// The dashboard through the controller's admin server on a real socket: redirect, page, libraries from node_modules, caching, 404s.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FerryError } from '../../errors';
import { ControllerMetrics } from '../../observability/controller-metrics';
import { AdminServer } from '../admin/admin-server';
import { Dashboard, dashboardFiles, STATIC_DIR } from './dashboard';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A raw GET: the path goes on the wire exactly as given (no client-side normalization). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function server(t: TestContext, pages = true): Promise<number> {
  const dashboard = new Dashboard();
  const admin = new AdminServer({
    metrics: new ControllerMetrics(),
    syncz: () => [],
    configDump: () => null,
    ready: () => true,
    api: { stats: () => ({ workloads: [] }) },
    ...(pages ? { pages: (p: string, h: Parameters<Dashboard['page']>[1]) => dashboard.page(p, h) } : {}),
  });
  const port = await admin.listen('127.0.0.1', 0);
  t.after(() => admin.close());
  return port;
}

test('/ and /dashboard redirect to /dashboard/, which is the page with a same-origin policy, revalidated by ETag', async (t) => {
  const port = await server(t);
  for (const path of ['/', '/dashboard']) {
    const r = await get(port, path);
    assert.deepEqual([r.status, r.headers.location], [302, '/dashboard/'], path);
  }
  const page = await get(port, '/dashboard/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  assert.deepEqual(page.body, readFileSync(join(STATIC_DIR, 'index.html')));
  const etag = String(page.headers.etag);
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await get(port, '/dashboard/', { 'if-none-match': inm });
    assert.deepEqual([again.status, again.body.length, again.headers.etag], [304, 0, etag], inm);
  }
  assert.equal((await get(port, '/dashboard/', { 'if-none-match': '"stale"' })).status, 200);
  const head = await get(port, '/dashboard/', {}, 'HEAD');
  assert.deepEqual([head.status, head.body.length, head.headers['content-length']], [200, 0, String(page.body.length)]);
});

test('every file the page references is served with its content type; the libraries come from their npm packages', async (t) => {
  const port = await server(t);
  const html = readFileSync(join(STATIC_DIR, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('#'));
  assert.ok(refs.includes('lib/cytoscape.min.js') && refs.includes('lib/uPlot.iife.min.js') && refs.includes('lib/uPlot.min.css'), refs.join(' '));
  for (const ref of refs) {
    assert.doesNotMatch(ref, /^(https?:)?\/\//, `${ref}: nothing from another origin`);
    const r = await get(port, `/dashboard/${ref}`);
    assert.equal(r.status, 200, ref);
    const type = ref.endsWith('.css') ? 'text/css; charset=utf-8' : ref.endsWith('.svg') ? 'image/svg+xml' : 'text/javascript; charset=utf-8';
    assert.equal(r.headers['content-type'], type, ref);
  }
  const cy = await get(port, '/dashboard/lib/cytoscape.min.js');
  assert.deepEqual(cy.body, readFileSync(require.resolve('cytoscape/dist/cytoscape.min.js')));
  assert.equal(cy.headers['cache-control'], 'public, max-age=86400');
  const uplot = await get(port, '/dashboard/lib/uPlot.iife.min.js');
  assert.deepEqual(uplot.body, readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')));
  const own = await get(port, '/dashboard/dashboard.mjs');
  assert.equal(own.headers['cache-control'], 'no-cache');
  assert.equal(own.headers['content-security-policy'], undefined, 'the policy is the page’s');
});

test('anything else is a 404 from the admin server, however the path tries to leave the folder', async (t) => {
  const port = await server(t);
  for (const path of [
    '/dashboard/../package.json',
    '/dashboard/%2e%2e/package.json',
    '/dashboard/..%2f..%2fpackage.json',
    '/dashboard/lib/../../../../package.json',
    '/dashboard/lib/%2e%2e%2f%2e%2e%2fpackage.json',
    '/dashboard/lib/cytoscape.cjs.js',
    '/dashboard/lib/',
    '/dashboard/dashboard.ts',
    '/dashboard/routes.js',
    '/dashboard//etc/passwd',
    '/dashboard/static/index.html',
    '/favicon.ico',
  ]) {
    const r = await get(port, path);
    assert.equal(r.status, 404, path);
    assert.match(r.body.toString('utf8'), /^not found; try:/, path);
  }
  assert.equal((await get(port, '/dashboard/', {}, 'POST')).status, 405);
  // The admin server's own routes still win.
  assert.equal((await get(port, '/api/stats')).headers['content-type'], 'application/json');
});

test('without a page source, / stays the admin server’s 404', async (t) => {
  const port = await server(t, false);
  assert.equal((await get(port, '/')).status, 404);
  assert.equal((await get(port, '/dashboard/')).status, 404);
});

test('missing files are a clear FERRY_ERR_DASHBOARD_FILES naming the folder or the package', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dashboard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fails = (fn: () => unknown, what: RegExp): void =>
    assert.throws(fn, (err: unknown) => err instanceof FerryError && err.code === 'FERRY_ERR_DASHBOARD_FILES' && what.test(err.message));
  fails(() => dashboardFiles(join(dir, 'nope')), /cannot read its page folder .*nope/);
  fails(() => dashboardFiles(dir), /no index\.html in /);
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(join(dir, '.hidden.mjs'), '');
  writeFileSync(join(dir, 'notes.txt'), '');
  const noUplot = (id: string): string => {
    if (id.startsWith('uplot/')) throw new Error(`Cannot find module '${id}'\nRequire stack: …`);
    return `/pkg/${id}`;
  };
  fails(() => dashboardFiles(dir, noUplot), /cannot find uplot\/dist\/uPlot\.iife\.min\.js \(package uplot\): Cannot find module/);
  const files = dashboardFiles(dir, (id) => `/pkg/${id}`);
  assert.deepEqual([...files.own.keys()], ['index.html'], 'hidden files and unknown types are not picked up');
  assert.deepEqual([...files.libs.keys()], ['cytoscape.min.js', 'uPlot.iife.min.js', 'uPlot.min.css']);
});
