// Tests for StreamState's downstream writes: an upstream answer that does not fit the response (a head
// for a request already answered, body before a head) is dropped, counted and never thrown out of the
// proxy, and the client still gets exactly one answer.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock/clock';
import { RESPONSE_FLAGS_HEADER } from '../http/local-reply';
import { DownstreamConnection } from './downstream-connection';
import { StreamState, type ResponseConflict, type StreamHost } from './stream-state';

/** A connection manager's side of a stream that records what the stream reports. */
function recordingHost(): { host: StreamHost; conflicts: string[]; stats: string[] } {
  const conflicts: string[] = [];
  const stats: string[] = [];
  const host: StreamHost = {
    clock: systemClock,
    countStreamIdleTimeout: () => undefined,
    responseConflict: (_s, kind: ResponseConflict, status) => void conflicts.push(`${kind} ${status}`),
    applyResponseHeaders: () => undefined,
    recordStats: (_s, status, flag) => void stats.push(`${status} ${flag}`),
    finishFilters: () => undefined,
  };
  return { host, conflicts, stats };
}

/** What the client got: status, flags and body, or the socket error. */
type Got = { status: number; flags: string; body: string } | { error: string };

/**
 * Serves one request: `respond` drives a StreamState over the real response; resolves with what the
 * client got once `respond` has finished too.
 */
async function exchange(t: TestContext, host: StreamHost, respond: (s: StreamState, res: http.ServerResponse) => Promise<void>): Promise<Got> {
  let served: Promise<void> = Promise.resolve();
  const server = http.createServer((req, res) => {
    const s = new StreamState(host, req, res, 'HTTP/1.1', false, systemClock.now(), new DownstreamConnection({ remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, peerPrincipal: null }, false, null));
    served = respond(s, res);
  });
  server.on('clientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const got = await new Promise<Got>((resolve) => {
    http
      .get({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, flags: String(res.headers[RESPONSE_FLAGS_HEADER] ?? ''), body }));
        res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
  await served;
  return got;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a head for a response already answered in full: dropped and counted; the first answer stands', async (t) => {
  const { host, conflicts } = recordingHost();
  const got = await exchange(t, host, async (s, res) => {
    s.sendHeaders(503, { 'content-length': '5' });
    s.sendData(Buffer.from('first'));
    s.sendEnd(null);
    assert.doesNotThrow(() => s.sendHeaders(200, { 'content-type': 'text/plain' }));
    assert.doesNotThrow(() => s.sendData(Buffer.from('late body')));
    assert.doesNotThrow(() => s.sendEnd(null));
    assert.equal(res.destroyed, false, 'the complete first answer is not cut off');
    await turn();
  });
  assert.deepEqual(got, { status: 503, flags: '', body: 'first' });
  assert.deepEqual(conflicts, ['second_head 200']);
});

test('a second head while the first answer is under way: counted, the stream reset with UPE', async (t) => {
  const { host, conflicts, stats } = recordingHost();
  const got = await exchange(t, host, async (s, res) => {
    s.sendHeaders(200, { 'content-length': '10' });
    s.sendData(Buffer.from('half'));
    assert.doesNotThrow(() => s.sendHeaders(200, {}));
    assert.equal(res.destroyed, true, 'an answer that cannot be completed is reset');
    s.sendData(Buffer.from('other'));
    s.sendEnd(null);
    s.onRouterComplete();
    await turn();
  });
  assert.ok('error' in got, `the client sees the reset, got ${JSON.stringify(got)}`);
  assert.deepEqual(conflicts, ['second_head 200']);
  assert.deepEqual(stats, ['200 UPE']);
});

test('body before any head: counted, the client answered 502 UPE, the late head and body dropped', async (t) => {
  const { host, conflicts, stats } = recordingHost();
  const got = await exchange(t, host, async (s) => {
    assert.equal(s.sendData(Buffer.from('early body')), true);
    s.sendHeaders(200, { 'content-length': '10' });
    s.sendData(Buffer.from('more'));
    s.sendEnd(null);
    s.onRouterComplete();
    await turn();
  });
  assert.deepEqual(got, { status: 502, flags: 'UPE', body: 'upstream response out of order' });
  assert.deepEqual(conflicts, ['body_before_head 0']);
  assert.deepEqual(stats, ['502 UPE'], 'one outcome recorded');
});

test('a head the downstream codec refuses: the client answered 502 UPE in full, the upstream body dropped, one outcome', async (t) => {
  const { host, conflicts, stats } = recordingHost();
  const got = await exchange(t, host, async (s, res) => {
    // As a draining connection manager does: a header set before the head, kept on the 502.
    res.setHeader('connection', 'close');
    s.sendHeaders(200, { 'x-from-upstream': 'fine', 'x-bad': 'a\u0001b', 'content-length': '4' });
    s.sendData(Buffer.from('body'));
    s.sendEnd(null);
    s.onRouterComplete();
    await turn();
  });
  assert.deepEqual(got, { status: 502, flags: 'UPE', body: 'upstream response headers the downstream codec refused' });
  assert.deepEqual(conflicts, [], 'not an answer conflict');
  assert.deepEqual(stats, ['502 UPE']);
});
