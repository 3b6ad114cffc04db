// The admin server's certificate renewal endpoint: POST only, the renewed certificate, 503 with the reason, 404 without an identity.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { AdminServer, type AdminTarget } from './admin-server';

function target(renew: AdminTarget['renewIdentity']): AdminTarget {
  return {
    state: 'LIVE',
    configDump: () => ({}),
    clustersText: () => '',
    clustersJson: () => ({}),
    metricsText: async () => '',
    metricsContentType: 'text/plain',
    drainListeners: () => undefined,
    quit: () => undefined,
    renewIdentity: renew,
  };
}

function call(port: number, path: string, method: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('POST /identity/renew answers with the new certificate, 503 and the reason when the CA fails, 404 without an identity', async (t) => {
  const cases: { name: string; renew: AdminTarget['renewIdentity']; method: string; status: number; body: RegExp }[] = [
    { name: 'renewed', renew: async () => ({ serial: 'ab12', notAfter: '2030-01-01T00:00:00.000Z', root: 'AA:BB' }), method: 'POST', status: 200, body: /"serial": "ab12"/ },
    { name: 'CA away', renew: async () => { throw new Error('certificate request failed (UNAVAILABLE): no connection'); }, method: 'POST', status: 503, body: /renewal failed: .*UNAVAILABLE/ },
    { name: 'no identity', renew: async () => null, method: 'POST', status: 404, body: /no workload identity/ },
    { name: 'not a proxy with renewals', renew: undefined, method: 'POST', status: 404, body: /no workload identity/ },
    { name: 'GET', renew: async () => { throw new Error('must not renew on GET'); }, method: 'GET', status: 405, body: /use POST/ },
  ];
  for (const c of cases) {
    const admin = new AdminServer(target(c.renew), { host: '127.0.0.1', port: 0 });
    const port = await admin.listen();
    t.after(() => admin.close());
    const res = await call(port, '/identity/renew', c.method);
    assert.equal(res.status, c.status, c.name);
    assert.match(res.body, c.body, c.name);
  }
});
