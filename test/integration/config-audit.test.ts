// Accepted config fields that change a request on its way: each test shows the difference between a
// listener that sets the field and one that leaves it at its default (config-audit.yaml).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, eventually, httpUpstream, metric, request, sleep, startProxy, tcpUpstream, type Upstream } from './support';

/** Sends a raw HTTP/1.1 request head on a new connection; resolves with what came back first. */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(head));
    let got = '';
    s.setTimeout(3_000, () => s.destroy(new Error(`no answer; got ${JSON.stringify(got)}`)));
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

const upgradeHead = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nhost: audit.test\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n`;

describe('accepted fields that change a request (config-audit.yaml)', () => {
  let proxy: Proxy;
  let audit = 0;
  let plain = 0;
  const ups: Record<string, Upstream> = {};
  /** Request heads the WebSocket upstream received. */
  const wsHeads: string[] = [];
  /** x-fail-first ids the flaky upstream has failed once already. */
  const failed = new Set<string>();

  before(async () => {
    ups.echo = await httpUpstream((req, res) => {
      res.setHeader('server', 'upstream-server');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    // Fails the first request of each x-fail-first id with 503 (after reading its body), then answers 200.
    ups.flaky = await httpUpstream((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        const id = String(req.headers['x-fail-first'] ?? '');
        if (id !== '' && !failed.has(id)) {
          failed.add(id);
          res.statusCode = 503;
          return void res.end('first attempt fails');
        }
        res.end(JSON.stringify({ bytes: n, attemptCount: req.headers['x-envoy-attempt-count'] ?? null }));
      });
    });
    // A WebSocket upstream that records each request head; plain requests get their head back as a 200.
    ups.ws = await tcpUpstream((s) => {
      let head = '';
      s.on('data', (c: Buffer) => {
        if (head.includes('\r\n\r\n')) return void s.write(c);
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        wsHeads.push(head);
        if (/^upgrade: websocket/im.test(head)) {
          s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
        } else {
          s.end(`HTTP/1.1 200 OK\r\ncontent-length: ${head.length}\r\nconnection: close\r\n\r\n${head}`);
        }
      });
    });
    ups.tcpEcho = await tcpUpstream((s) => s.pipe(s));
    ups.greeter = await tcpUpstream((s) => s.write('HELLO\r\n'));
    proxy = await startProxy('config-audit', {
      PORT: 0,
      PLAIN_PORT: 0,
      H2ONLY_PORT: 0,
      TCP_PORT: 0,
      TCP_WEIGHTED_PORT: 0,
      SNIFF_CONTINUE_PORT: 0,
      SNIFF_CLOSE_PORT: 0,
      ECHO_PORT: ups.echo.port,
      FLAKY_PORT: ups.flaky.port,
      WS_PORT: ups.ws.port,
      TCP_ECHO_PORT: ups.tcpEcho.port,
      GREETER_PORT: ups.greeter.port,
      DEAD_PORT: await closedPort(),
    });
    audit = proxy.listenerPort('audit');
    plain = proxy.listenerPort('plain');
  });

  after(async () => {
    await proxy?.stop();
    await Promise.all(Object.values(ups).map((u) => u.close()));
  });

  const echoed = async (port: number, path: string, headers: Record<string, string> = {}) => {
    const r = await request(port, path, { headers });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  };

  test('normalize_path and merge_slashes: the upstream receives the normalized path', async () => {
    assert.equal((await echoed(audit, '//x/./a/../b%41//c?q=//../')).url, '/x/bA/c?q=//../');
    assert.equal((await echoed(plain, '//x/./a/../b%41//c?q=//../')).url, '//x/./a/../b%41//c?q=//../', 'left alone by default');
  });

  test('strip_matching_host_port strips the listener port only; strip_any_host_port strips any', async () => {
    assert.equal((await echoed(audit, '/h', { host: `audit.test:${audit}` })).headers.host, 'audit.test');
    assert.equal((await echoed(audit, '/h', { host: 'audit.test:1234' })).headers.host, 'audit.test:1234');
    assert.equal((await echoed(plain, '/h', { host: 'audit.test:1234' })).headers.host, 'audit.test');
  });

  test("server_name overwrites the server header, also on local replies; the default is Ferry's name", async () => {
    assert.equal((await request(audit, '/s')).headers.server, 'audit-proxy');
    assert.equal((await request(plain, '/s')).headers.server, 'ferry');
    const denied = await request(audit, '/private');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.server, 'audit-proxy');
  });

  test('forward_client_cert_details SANITIZE: a client-sent x-forwarded-client-cert never reaches the upstream', async () => {
    const xfcc = 'By=spiffe://evil/ns/x/sa/y;URI=spiffe://evil/ns/x/sa/z';
    assert.equal((await echoed(audit, '/x', { 'x-forwarded-client-cert': xfcc })).headers['x-forwarded-client-cert'], undefined);
    assert.equal((await echoed(plain, '/x', { 'x-forwarded-client-cert': xfcc })).headers['x-forwarded-client-cert'], undefined);
  });

  test('suppress_envoy_headers: a retried attempt carries no x-envoy-attempt-count', async () => {
    const quiet = await request(audit, '/flaky', { headers: { 'x-fail-first': 'suppress-a' } });
    assert.equal(quiet.status, 200, quiet.body);
    assert.equal(JSON.parse(quiet.body).attemptCount, null);
    const loud = await request(plain, '/flaky', { headers: { 'x-fail-first': 'suppress-p' } });
    assert.equal(loud.status, 200, loud.body);
    assert.equal(JSON.parse(loud.body).attemptCount, '2');
  });

  test("the listener's per_connection_buffer_limit_bytes bounds the body kept for a retry", async () => {
    const post = (port: number, id: string, size: number) =>
      request(port, '/flaky', { method: 'POST', headers: { 'x-fail-first': id, 'content-length': String(size) }, body: 'b'.repeat(size) });
    const small = await post(audit, 'limit-small', 512);
    assert.equal(small.status, 200, 'a body within 1024 bytes is replayed');
    assert.equal(JSON.parse(small.body).bytes, 512);
    const before = await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'flaky', outcome: 'not_replayable' });
    const big = await post(audit, 'limit-big', 4096);
    assert.equal(big.status, 503, 'a body over the limit is not retried; the failure reaches the client');
    assert.equal(await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'flaky', outcome: 'not_replayable' }), before + 1);
    const plainBig = await post(plain, 'limit-plain', 4096);
    assert.equal(plainBig.status, 200, 'the default limit (1 MiB) keeps 4 KiB');
    assert.equal(JSON.parse(plainBig.body).bytes, 4096);
  });

  test("a virtual host's typed_per_filter_config applies to its routes", async () => {
    const r = await request(audit, '/private/thing');
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-ferry-response-flags'], 'RBAC');
    assert.equal((await request(audit, '/public')).status, 200);
  });

  test('generate_request_id false makes up no x-request-id; preserve_external_request_id keeps the client one under use_remote_address', async () => {
    assert.equal((await echoed(audit, '/r')).headers['x-request-id'], undefined);
    assert.equal((await echoed(audit, '/r', { 'x-request-id': 'mine' })).headers['x-request-id'], 'mine');
    assert.equal((await echoed(plain, '/r', { 'x-request-id': 'client-id' })).headers['x-request-id'], 'client-id');
    assert.match((await echoed(plain, '/r')).headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  test('require_tls ALL answers a plaintext request with a redirect to https', async () => {
    const r = await request(plain, '/x?y=1', { headers: { host: 'secure.test' } });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://secure.test/x?y=1');
  });

  test('cluster_header routes to the cluster the header names; an unknown one is 503 NC', async () => {
    assert.equal((await request(plain, '/by-header', { headers: { 'x-target': 'echo' } })).status, 200);
    const r = await request(plain, '/by-header', { headers: { 'x-target': 'nowhere' } });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-ferry-response-flags'], 'NC');
  });

  test('codec_type HTTP2: the listener speaks HTTP/2 only', async (t) => {
    const h2only = proxy.listenerPort('h2only');
    assert.equal(await h2get(h2session(h2only, t), '/c'), 200);
    await assert.rejects(request(h2only, '/c'), 'an HTTP/1.1 request gets no HTTP/1.1 answer');
  });

  /** Connects, sends `x`, resolves with what came back and whether the proxy closed the connection. */
  const tcpExchange = (port: number, opts: { send: boolean; waitMs: number }): Promise<{ got: string; closedAfterMs: number | null }> =>
    new Promise((resolve) => {
      const started = Date.now();
      let got = '';
      let closedAfterMs: number | null = null;
      const s = net.connect(port, '127.0.0.1', () => {
        if (opts.send) s.write('x');
      });
      s.on('data', (c: Buffer) => (got += c.toString()));
      s.on('error', () => undefined);
      s.on('close', () => {
        closedAfterMs = Date.now() - started;
        clearTimeout(timer);
        resolve({ got, closedAfterMs });
      });
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ got, closedAfterMs });
      }, opts.waitMs);
    });

  test('tcp_proxy: max_connect_attempts moves past a dead endpoint; idle_timeout closes a silent connection', async () => {
    const port = proxy.listenerPort('tcp');
    for (let i = 0; i < 6; i++) {
      const r = await tcpExchange(port, { send: true, waitMs: 2_000 });
      assert.equal(r.got, 'x', `connection ${i}: the live endpoint echoes, whichever endpoint was tried first`);
      assert.ok(r.closedAfterMs !== null && r.closedAfterMs < 1_900, `connection ${i} closed by the 0.3 s idle timeout`);
    }
  });

  test('tcp_proxy weighted_clusters spreads connections over its clusters', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 24 && seen.size < 2; i++) seen.add((await tcpExchange(proxy.listenerPort('tcp_weighted'), { send: true, waitMs: 300 })).got);
    assert.deepEqual([...seen].sort(), ['HELLO\r\n', 'x'], 'both the echo and the greeter answered');
  });

  test('listener_filters_timeout: a silent client goes to the default chain with continue_on_listener_filters_timeout, else is closed', async () => {
    const cont = await tcpExchange(proxy.listenerPort('sniff_continue'), { send: false, waitMs: 2_000 });
    assert.equal(cont.got, 'HELLO\r\n', 'the server-first upstream greets once inspection gives up');
    const closed = await tcpExchange(proxy.listenerPort('sniff_close'), { send: false, waitMs: 2_000 });
    assert.equal(closed.got, '');
    assert.ok(closed.closedAfterMs !== null, 'the connection is closed after the timeout');
  });

  /** An HTTP/2 prior-knowledge session to a listener, closed after the test. */
  const h2session = (port: number, t: { after(fn: () => void): void }): http2.ClientHttp2Session => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on('error', () => undefined);
    t.after(() => s.destroy());
    return s;
  };
  const h2get = (s: http2.ClientHttp2Session, path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const st = s.request({ ':path': path });
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', reject);
      st.resume();
    });

  test('request_timeout: an HTTP/2 request whose body does not arrive in time gets 408', async (t) => {
    const s = h2session(audit, t);
    const st = s.request({ ':method': 'POST', ':path': '/flaky' });
    st.on('error', () => undefined);
    st.write('part of a body that never ends');
    const status = await new Promise<number>((resolve) => {
      st.on('response', (h) => resolve(Number(h[':status'])));
      setTimeout(() => resolve(0), 3_000).unref();
    });
    assert.equal(status, 408);
  });

  test("idle_timeout drains an HTTP/2 connection with no stream open; the default (1 h) leaves it", async (t) => {
    const idle = h2session(audit, t);
    let idleGoaway = false;
    idle.once('goaway', () => (idleGoaway = true));
    assert.equal(await h2get(idle, '/i'), 200);
    const kept = h2session(plain, t);
    let keptGoaway = false;
    kept.once('goaway', () => (keptGoaway = true));
    assert.equal(await h2get(kept, '/i'), 200);
    assert.ok(await eventually(() => idleGoaway, 3_000), 'the idle session got GOAWAY');
    await sleep(300);
    assert.equal(keptGoaway, false);
  });

  test("a route's upgrade_configs allows an upgrade the connection manager does not", async () => {
    assert.match(await rawExchange(plain, upgradeHead('/ws-route/x')), /^HTTP\/1\.1 101 /);
    assert.match(await rawExchange(plain, upgradeHead('/other')), /^HTTP\/1\.1 403 /, 'no upgrade on routes without it');
  });

  test("a route's upgrade_configs adds to the connection manager's upgrades, never takes one away", async () => {
    assert.match(await rawExchange(audit, upgradeHead('/ws-more/x')), /^HTTP\/1\.1 101 /);
  });

  test('over HTTP/1.1: request_timeout answers an incomplete request with 408; idle_timeout closes an idle keep-alive connection', async () => {
    const timedOut = await rawExchange(audit, 'POST /flaky HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\nonly part');
    assert.match(timedOut, /^HTTP\/1\.1 408 /, timedOut);
    const idle = await new Promise<number>((resolve) => {
      const started = Date.now();
      const s = net.connect(audit, '127.0.0.1', () => s.write('GET /k HTTP/1.1\r\nhost: a\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      s.on('close', () => resolve(Date.now() - started));
      setTimeout(() => s.destroy(), 3_000).unref();
    });
    assert.ok(idle < 2_500, `the idle connection was closed after ${idle} ms (idle_timeout 0.3 s)`);
  });

  test('an upgrade request runs the HTTP filters and gets the route header edits', async () => {
    const denied = await rawExchange(audit, upgradeHead('/private/socket'));
    assert.match(denied, /^HTTP\/1\.1 403 /, denied);
    assert.match(denied, /x-ferry-response-flags: RBAC/i);
    assert.ok(!wsHeads.some((h) => h.startsWith('GET /private/socket')), 'a denied upgrade never reaches the upstream');
    const ok = await rawExchange(audit, upgradeHead('/ws/socket'));
    assert.match(ok, /^HTTP\/1\.1 101 /, ok);
    const head = wsHeads.find((h) => h.startsWith('GET /ws/socket'));
    assert.ok(head, 'the upgrade reached the upstream');
    assert.match(head, /^x-route: ws\r$/m);
  });

  // Drains every listener: keep this test last.
  test('HTTP/2 draining sends one GOAWAY naming the last stream taken (a later stream is refused, not left hanging)', async (t) => {
    const s = h2session(audit, t);
    assert.equal(await h2get(s, '/d'), 200);
    const first = new Promise<number>((resolve) => s.once('goaway', (_code: number, last: number) => resolve(last)));
    proxy.drainListeners();
    assert.equal(await first, 1, 'the GOAWAY names stream 1, the only one taken');
  });
});
