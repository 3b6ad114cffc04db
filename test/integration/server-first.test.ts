// Server-first protocols through a listener that has inspectors: the greeting arrives at once,
// because no chain that could serve the destination chooses by the client's first bytes.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, startProxy, tcpUpstream, type Upstream } from './support';

let proxy: Proxy | undefined;
let db: Upstream | undefined;
after(async () => {
  await proxy?.stop();
  await db?.close();
});

test('a MySQL-style greeting reaches a client that has sent nothing', async () => {
  db = await tcpUpstream((s) => s.write('HELLO\n'));
  const port = await closedPort();
  proxy = await startProxy('server-first', { PORT: port, OTHER_PORT: await closedPort(), UPSTREAM_PORT: db.port });
  const started = Date.now();
  const got = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(data);
    }, 3_000);
    s.on('data', (c) => {
      data += c;
      if (data.includes('\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(data);
      }
    });
    s.on('error', () => resolve(data));
  });
  assert.equal(got, 'HELLO\n');
  assert.ok(Date.now() - started < 2_000, `the greeting took ${Date.now() - started} ms`);
});
