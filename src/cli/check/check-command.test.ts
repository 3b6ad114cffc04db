// `ferry check` against real metrics endpoints on loopback, found through a ferry up state file.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { identityMetrics } from '../../observability/identity-metrics';
import { checkCommand } from './check-command';

/** A metrics endpoint with the identity gauges as a sidecar sets them. */
async function sidecar(t: { after(fn: () => unknown): void }, set: (r: Registry) => void): Promise<string> {
  const registry = new Registry();
  set(registry);
  const server: Server = createServer((req, res) => {
    if (req.url !== '/stats/prometheus') return void res.writeHead(404).end();
    void registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function certificate(r: Registry, leftS: number, failures: number): void {
  const m = identityMetrics(r);
  const notAfter = Date.now() + leftS * 1000;
  m.certExpiration.set(notAfter / 1000);
  m.watchExpiry(() => notAfter, () => Date.now());
  m.renewalDue.set((Date.now() + 20_000) / 1000);
  m.renewalFailures.set(failures);
  m.certInfo.set({ serial: '0a', root: 'AA:BB:CC:DD:EE' }, 1);
  m.trustedRoots.set({ root: 'AA:BB:CC:DD:EE' }, 1);
  m.trustedRoots.set({ root: '11:22:33:44:55' }, 1);
}

test('ferry check: exit 0 when every certificate is fine, 1 with a line naming each failing or unreachable sidecar', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = await sidecar(t, (r) => certificate(r, 50, 0));
  const failing = await sidecar(t, (r) => certificate(r, 30, 3));
  const pod = (name: string, stats: string) => ({ namespace: 'shop', name, sidecar: { stats } });
  const state = (pods: unknown[]): string => {
    const f = join(dir, `state-${pods.length}.json`);
    writeFileSync(f, JSON.stringify({ pods: [...pods, { namespace: 'shop', name: 'plain', sidecar: null }], outbound: null }));
    return f;
  };

  let text = '';
  assert.equal(await checkCommand(['--state', state([pod('catalog-1', good)])], { out: (s) => (text += s) }), 0);
  assert.match(text, /shop\/catalog-1 +ok +certificate expires in (49|50) s, renewal in (19|20) s  \[root AA:BB:CC:DD; trusts AA:BB:CC:DD, 11:22:33:44\]/);
  assert.match(text, /1 sidecar: 1 ok, 0 warnings, 0 errors/);
  assert.doesNotMatch(text, /plain/, 'pods without a sidecar are not checked');

  text = '';
  const gone = '127.0.0.1:1';
  assert.equal(await checkCommand(['--state', state([pod('catalog-1', good), pod('catalog-2', failing), pod('client', gone)])], { out: (s) => (text += s) }), 1);
  assert.match(text, /shop\/catalog-2 +WARN +rotation failing: 3 renewal attempts failed; certificate expires in (29|30) s/);
  assert.match(text, /shop\/client +ERROR +metrics unreachable: 127\.0\.0\.1:1\/stats\/prometheus: .*ECONNREFUSED/);
  assert.match(text, /3 sidecars: 1 ok, 1 warning, 1 error/);

  await assert.rejects(checkCommand(['--state', join(dir, 'missing.json')], { out: () => undefined }), { code: 'FERRY_ERR_CHECK_TARGETS' });
  await assert.rejects(checkCommand(['--state', 'a', '--controller', 'b:1'], { out: () => undefined }), /exclude each other/);
});

test("ferry check --controller: the sidecars come from the controller's /api/targets; a controller that does not answer is named", async (t) => {
  const good = await sidecar(t, (r) => certificate(r, 50, 0));
  const server: Server = createServer((req, res) => {
    if (req.url !== '/api/targets') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ targets: [good], labels: { __metrics_path__: '/stats/prometheus', namespace: 'shop', pod: 'cart-1', workload: 'cart' } }]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  let text = '';
  assert.equal(await checkCommand(['--controller', `http://127.0.0.1:${(server.address() as AddressInfo).port}`], { out: (s) => (text += s) }), 0);
  assert.match(text, /shop\/cart-1 +ok +certificate expires in/);
  await assert.rejects(checkCommand(['--controller', 'http://127.0.0.1:1'], { out: () => undefined }), { code: 'FERRY_ERR_CHECK_TARGETS', message: /the controller at 127\.0\.0\.1:1: \/api\/targets: .*ECONNREFUSED/ });
});
