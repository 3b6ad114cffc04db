// The proxy's drain on shutdown (drainAndStop, what SIGTERM runs): what clients sent before they were
// told to go away is still served, the wait ends once they are gone, and it never outlasts the drain time.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, httpUpstream, request, startProxy, type Upstream } from './support';

function h2get(s: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ':path': path, ':method': 'GET', ':authority': 'drain.test' });
    let status = 0;
    let body = '';
    st.setEncoding('utf8');
    st.on('response', (h) => (status = Number(h[':status'])));
    st.on('data', (c: string) => (body += c));
    st.on('end', () => resolve({ status, body }));
    st.on('error', reject);
    st.end();
  });
}

describe('drainAndStop', () => {
  const upstreams: Upstream[] = [];
  const proxies: Proxy[] = [];
  after(async () => {
    for (const p of proxies) await p.stop();
    for (const u of upstreams) await u.close();
  });

  async function proxyTo(handler: http.RequestListener, drainTimeoutMs = 5_000): Promise<{ proxy: Proxy; port: number }> {
    const up = await httpUpstream(handler);
    upstreams.push(up);
    const port = await closedPort();
    const proxy = await startProxy('single-route', { PORT: port, ADMIN_PORT: await closedPort(), UPSTREAM_PORT: up.port }, { drainTimeoutMs });
    proxies.push(proxy);
    return { proxy, port };
  }

  test('HTTP/2: a stream taken before the GOAWAY is served, one sent after it is refused at once; the drain ends when the client has closed', async (t) => {
    const seen: string[] = [];
    const { proxy, port } = await proxyTo((req, res) => {
      seen.push(req.url ?? '');
      setTimeout(() => res.end(`served ${req.url}`), 100);
    });
    const s = http2.connect(`http://127.0.0.1:${port}`);
    t.after(() => s.destroy());
    s.on('error', () => undefined);
    assert.equal((await h2get(s, '/warm')).status, 200); // stream 1
    const slow = h2get(s, '/slow'); // stream 3
    while (!seen.includes('/slow')) await new Promise((r) => setTimeout(r, 5));
    const goaway = new Promise<number>((r) => s.once('goaway', (_code: number, last: number) => r(last)));
    const t0 = Date.now();
    const stopped = proxy.drainAndStop();
    // Stream 5 reaches the proxy after its GOAWAY: not taken, so refused (REFUSED_STREAM), never left
    // hanging — a client retries it on a new connection knowing it was not processed.
    const late = h2get(s, '/late').then(() => 'served', (err: NodeJS.ErrnoException) => `${err.code} ${err.message}`);
    assert.equal(await goaway, 3, 'the GOAWAY names the last stream taken');
    assert.deepEqual(await slow, { status: 200, body: 'served /slow' });
    assert.match(await late, /NGHTTP2_REFUSED_STREAM/);
    assert.ok(!seen.includes('/late'), 'the refused stream never reached the upstream');
    await stopped;
    const tookMs = Date.now() - t0;
    assert.ok(tookMs < 2_000, `the drain ended once the client closed its session, not at the drain time (${tookMs} ms)`);
    await assert.rejects(request(port, '/after'), /ECONNREFUSED/, 'a stopped proxy accepts nothing');
  });

  test('an HTTP/1.1 request in flight gets its answer with connection: close; the idle keep-alive connection is closed after it', async () => {
    const { proxy, port } = await proxyTo((_req, res) => setTimeout(() => res.end('finished'), 300));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await request(port, '/warm', { agent })).status, 200);
      const inflight = request(port, '/slow', { agent });
      await new Promise((r) => setTimeout(r, 50));
      const stopped = proxy.drainAndStop();
      const reply = await inflight;
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'finished');
      assert.equal(reply.headers.connection, 'close');
      await stopped;
    } finally {
      agent.destroy();
    }
  });

  test('a request that never ends holds the drain no longer than the drain time', async () => {
    const hanging: http.ServerResponse[] = [];
    const { proxy, port } = await proxyTo((_req, res) => void hanging.push(res), 400);
    try {
      const inflight = request(port, '/hang');
      inflight.catch(() => undefined);
      while (hanging.length === 0) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      await proxy.drainAndStop();
      const tookMs = Date.now() - t0;
      assert.ok(tookMs >= 350 && tookMs < 1_500, `stopped at the drain time, 400 ms (${tookMs} ms)`);
    } finally {
      for (const r of hanging) r.destroy();
    }
  });
});
