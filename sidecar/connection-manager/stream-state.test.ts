// Tests for StreamState's downstream writes: an upstream answer for a response that was already
// answered (or is gone) closes the stream and never throws out of the proxy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock/clock';
import { DownstreamConnection } from './downstream-connection';
import { StreamState, type StreamHost } from './stream-state';

const host: StreamHost = {
  clock: systemClock,
  countStreamIdleTimeout: () => undefined,
  applyResponseHeaders: () => undefined,
  recordStats: () => undefined,
  finishFilters: () => undefined,
};

test('headers for a response already answered: the stream is closed, nothing throws, later body and end are dropped', async (t) => {
  let checked: Promise<void> = Promise.resolve();
  const server = http.createServer((req, res) => {
    res.writeHead(503, { 'content-length': '0' });
    res.end();
    const s = new StreamState(host, req, res, 'HTTP/1.1', false, systemClock.now(), new DownstreamConnection({ remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, peerPrincipal: null }, false, null));
    checked = (async () => {
      assert.doesNotThrow(() => s.sendHeaders(200, { 'content-type': 'text/plain' }));
      assert.equal(res.destroyed, true, 'the response is closed');
      assert.doesNotThrow(() => s.sendData(Buffer.from('late body')));
      assert.doesNotThrow(() => s.sendEnd(null));
      await new Promise((r) => setImmediate(r));
    })();
  });
  server.on('clientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const status = await new Promise<number>((resolve) => {
    http.get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0));
  });
  await checked;
  assert.equal(status, 503, 'the first answer is what the client got');
});
