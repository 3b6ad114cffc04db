// Access logs through a running proxy: Envoy's default line and JSON per HTTP request (proxied, refused
// with a local reply), a custom line per TCP connection — each written when the request or connection ends.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Proxy } from '../../sidecar/proxy';
import { eventually, httpUpstream, request, startProxy, tcpUpstream, type Upstream } from './support';

let proxy: Proxy;
let app: Upstream;
let echo: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'ferry-access-log-'));
const vars = { PORT: 0, ADMIN_PORT: 0, TCP_PORT: 0 };

before(async () => {
  app = await httpUpstream((req, res) => {
    req.resume();
    req.on('end', () => res.end('hello from app'));
  });
  echo = await tcpUpstream((s) => s.pipe(s));
  proxy = await startProxy('access-log', { ...vars, UPSTREAM_PORT: app.port, ECHO_PORT: echo.port, LOG_DIR: dir });
});

after(async () => {
  await proxy.stop();
  await app.close();
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (name: string): string[] => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean) : []);

test('HTTP: one default text line and one JSON object per request, for a proxied request and a local reply', async () => {
  const port = proxy.listenerPort('http');
  const ok = await request(port, '/app/cart', { method: 'POST', body: 'x'.repeat(12), headers: { 'user-agent': 'access-test/1' } });
  assert.equal(ok.status, 200);
  const nr = await request(port, '/nowhere');
  assert.equal(nr.status, 404);
  assert.ok(await eventually(() => lines('json.log').length === 2 && lines('text.log').length === 2), 'two lines in each log');
  const [first, second] = lines('json.log').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(first, {
    method: 'POST', path: '/app/cart', code: 200, flags: null, rx: 12, tx: 14, upstream: `127.0.0.1:${app.port}`, cluster: 'app', route: 'app', agent: 'access-test/1', protocol: 'HTTP/1.1',
  });
  assert.equal(second!.code, 404);
  assert.equal(second!.flags, 'NR');
  assert.equal(second!.upstream, null);
  const text = lines('text.log');
  assert.match(text[0]!, new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\] "POST /app/cart HTTP/1\\.1" 200 - 12 14 \\d+ - "-" "access-test/1" "[0-9a-f-]+" "127\\.0\\.0\\.1:${port}" "127\\.0\\.0\\.1:${app.port}"$`));
  assert.match(text[1]!, /"GET \/nowhere HTTP\/1\.1" 404 NR 0 \d+ \d+ - /);
});

test('TCP: a custom line per connection when it closes', async () => {
  const port = proxy.listenerPort('tcp');
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('ping!'));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got === 'ping!') s.end();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  assert.ok(await eventually(() => lines('tcp.log').length === 1));
  assert.equal(lines('tcp.log')[0], `tcp 127.0.0.1:${echo.port} rx=5 tx=5 flags=-`);
});
