// The sidecar proxy end to end on loopback: retries, ejection, overflow, health checks, balancing,
// HTTP/2 and gRPC, WebSocket, TCP proxying, local replies, and bad input from both sides.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, eventually, httpUpstream, metric, request, sleep, startProxy, tcpUpstream, type Upstream } from './support';

const passthrough = {
  path: '/test.Echo/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

describe('sidecar proxy features (proxy-features.yaml)', () => {
  let proxy: Proxy;
  let port = 0;
  let tcpPort = 0;
  const ups: Record<string, Upstream> = {};
  let grpcServer: grpc.Server;
  let grpcPort = 0;
  let retryCalls = 0;
  let hcBHealthy = true;
  const hcHits = { a: 0, b: 0 };

  before(async () => {
    ups.retry = await httpUpstream((_req, res) => {
      retryCalls++;
      res.statusCode = retryCalls % 2 === 1 ? 503 : 200;
      res.end(res.statusCode === 200 ? 'recovered' : 'failing');
    });
    ups.outlierA = await httpUpstream((_req, res) => {
      res.statusCode = 500;
      res.end('broken');
    });
    ups.outlierB = await httpUpstream((_req, res) => res.end('B'));
    ups.slow = await httpUpstream((_req, res) => {
      setTimeout(() => res.end('slow'), 400);
    });
    ups.hcA = await httpUpstream((req, res) => {
      if (req.url !== '/healthz') hcHits.a++;
      res.end('A');
    });
    ups.hcB = await httpUpstream((req, res) => {
      if (req.url === '/healthz') {
        res.statusCode = hcBHealthy ? 200 : 503;
        return res.end();
      }
      hcHits.b++;
      res.end('B');
    });
    const named = (name: string): ((req: http.IncomingMessage, res: http.ServerResponse) => void) => (req, res) =>
      res.end(req.url?.endsWith('/headers') ? JSON.stringify(req.headers) : name);
    ups.w1 = await httpUpstream(named('w1'));
    ups.w3 = await httpUpstream(named('w3'));
    ups.ringA = await httpUpstream((_req, res) => res.end('A'));
    ups.ringB = await httpUpstream((_req, res) => res.end('B'));
    ups.ringC = await httpUpstream((_req, res) => res.end('C'));
    // An echo server for WebSocket (upgrade, then echo bytes) and for the TCP proxy (echo).
    ups.ws = await tcpUpstream((s) => {
      let head = '';
      let upgraded = false;
      s.on('data', (c: Buffer) => {
        if (upgraded) return void s.write(c);
        head += c.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (!/^[A-Z]+ /.test(head) && head.length > 0) {
            // Plain TCP client: echo.
            upgraded = true;
            s.write(head);
          }
          return;
        }
        if (/^upgrade: websocket/im.test(head)) {
          upgraded = true;
          s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
          const rest = head.slice(end + 4);
          if (rest) s.write(rest);
        } else {
          upgraded = true;
          s.write(head);
        }
      });
    });
    ups.bound = await httpUpstream((req, res) => {
      if (req.method !== 'POST') return void res.end(req.socket.remoteAddress);
      // A slow reader: takes 64 KiB, pauses, takes more — the proxy must stream, not buffer.
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        req.pause();
        setTimeout(() => req.resume(), 1);
      });
      req.on('end', () => res.end(String(n)));
    });
    ups.garbage = await tcpUpstream((s) => {
      s.once('data', () => s.end('THIS IS NOT HTTP\r\n\r\n'));
    });
    grpcServer = new grpc.Server();
    grpcServer.addService({ Echo: passthrough } as unknown as grpc.ServiceDefinition, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const text = call.request.toString();
        if (text === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
        const trailer = new grpc.Metadata();
        trailer.set('x-echo-trailer', 'yes');
        cb(null, Buffer.from(`echo:${text}`), trailer);
      },
    });
    grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    proxy = await startProxy('proxy-features', {
      ADMIN_PORT: 0,
      PORT: 0,
      TCP_PORT: 0,
      RETRY_PORT: ups.retry.port,
      OUTLIER_A_PORT: ups.outlierA.port,
      OUTLIER_B_PORT: ups.outlierB.port,
      SLOW_PORT: ups.slow.port,
      HC_A_PORT: ups.hcA.port,
      HC_B_PORT: ups.hcB.port,
      W1_PORT: ups.w1.port,
      W3_PORT: ups.w3.port,
      RING_A_PORT: ups.ringA.port,
      RING_B_PORT: ups.ringB.port,
      RING_C_PORT: ups.ringC.port,
      GRPC_PORT: grpcPort,
      WS_PORT: ups.ws.port,
      GARBAGE_PORT: ups.garbage.port,
      DEAD_PORT: await closedPort(),
      BOUND_PORT: ups.bound.port,
    });
    port = proxy.listenerPort('http');
    tcpPort = proxy.listenerPort('tcp');
  });

  after(async () => {
    await proxy?.stop();
    grpcServer?.forceShutdown();
    await Promise.all(Object.values(ups).map((u) => u.close()));
  });

  test('a 5xx upstream with retry_on 5xx gives the client a 200, and the retry is counted', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await request(port, '/retry');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'recovered');
    }
    assert.equal(await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'retry', outcome: 'attempted' }), 3);
    assert.equal(await metric(proxy, 'ferry_requests_total', { destination_cluster: 'retry', response_code: '200' }), 3);
  });

  test('an endpoint failing consecutive 5xx is ejected and traffic moves to the other', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) seen.push((await request(port, '/outlier')).body);
    assert.equal(await metric(proxy, 'ferry_upstream_ejections_total', { destination_cluster: 'outlier' }), 1);
    // After the ejection every request lands on B.
    const after = [];
    for (let i = 0; i < 10; i++) after.push((await request(port, '/outlier')).body);
    assert.deepEqual(new Set(after), new Set(['B']));
    const clusters = (proxy.clustersJson() as { clusters: { name: string; hosts: { address: string; ejected: boolean }[] }[] }).clusters;
    const hosts = clusters.find((c) => c.name === 'outlier')!.hosts;
    assert.equal(hosts.find((h) => h.address.endsWith(`:${ups.outlierA.port}`))!.ejected, true);
    assert.ok(seen.includes('broken'));
  });

  test('a slow upstream with max_connections 1 and max_pending_requests 1 overflows with 503 UO', async () => {
    const before = await metric(proxy, 'ferry_upstream_rq_overflow_total', { destination_cluster: 'overflow' });
    const results = await Promise.all([0, 1, 2, 3].map(() => request(port, '/overflow')));
    const overflowed = results.filter((r) => r.status === 503);
    const ok = results.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1, `some requests get through: ${results.map((r) => r.status)}`);
    assert.ok(overflowed.length >= 1, `some requests overflow: ${results.map((r) => r.status)}`);
    for (const r of overflowed) assert.equal(r.headers['x-ferry-response-flags'], 'UO');
    const afterCount = await metric(proxy, 'ferry_upstream_rq_overflow_total', { destination_cluster: 'overflow' });
    assert.equal(afterCount - before, overflowed.length);
  });

  test('the route timeout answers 504 UT', async () => {
    const r = await request(port, '/timeout');
    assert.equal(r.status, 504);
    assert.equal(r.headers['x-ferry-response-flags'], 'UT');
  });

  test('an active health check takes a host out and puts it back', async () => {
    // Both hosts pass their first checks.
    assert.ok(await eventually(async () => (await metric(proxy, 'ferry_upstream_endpoints', { destination_cluster: 'hc', health: 'healthy' })) === 2));
    hcBHealthy = false;
    assert.ok(await eventually(async () => (await metric(proxy, 'ferry_upstream_endpoints', { destination_cluster: 'hc', health: 'healthy' })) === 1));
    hcHits.a = 0;
    hcHits.b = 0;
    for (let i = 0; i < 10; i++) assert.equal((await request(port, '/hc')).body, 'A');
    assert.equal(hcHits.b, 0);
    hcBHealthy = true;
    assert.ok(await eventually(async () => (await metric(proxy, 'ferry_upstream_endpoints', { destination_cluster: 'hc', health: 'healthy' })) === 2));
    for (let i = 0; i < 10; i++) await request(port, '/hc');
    assert.ok(hcHits.b > 0, 'the healthy-again host gets traffic');
  });

  test('weighted round robin splits 1:3', async () => {
    const counts: Record<string, number> = { w1: 0, w3: 0 };
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 400; i++) counts[(await request(port, '/weighted', { agent })).body]++;
    agent.destroy();
    assert.ok(Math.abs(counts.w1 - 100) <= 10, `w1 got ${counts.w1} of 400`);
    assert.ok(Math.abs(counts.w3 - 300) <= 10, `w3 got ${counts.w3} of 400`);
  });

  test('ring hash keeps each key on one host and spreads keys', async () => {
    const hostsUsed = new Set<string>();
    for (let k = 0; k < 20; k++) {
      const first = (await request(port, '/ring', { headers: { 'x-user': `user-${k}` } })).body;
      hostsUsed.add(first);
      for (let i = 0; i < 3; i++) {
        assert.equal((await request(port, '/ring', { headers: { 'x-user': `user-${k}` } })).body, first);
      }
    }
    assert.ok(hostsUsed.size >= 2, `20 keys spread over ${hostsUsed.size} hosts`);
  });

  test('gRPC passes through over HTTP/2 with trailers and grpc-status', async () => {
    const Client = grpc.makeGenericClientConstructor({ Echo: passthrough } as unknown as grpc.ServiceDefinition, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
      Echo(req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
      close(): void;
    };
    try {
      const trailers = await new Promise<{ res: string; trailer: string }>((resolve, reject) => {
        const call = client.Echo(Buffer.from('hello'), (err, res) => {
          if (err) reject(err);
          else resolve({ res: res!.toString(), trailer: String(trailerSeen) });
        });
        let trailerSeen: unknown = '';
        call.on('status', (s: grpc.StatusObject) => (trailerSeen = s.metadata.get('x-echo-trailer')[0]));
      });
      assert.equal(trailers.res, 'echo:hello');
      const err = await new Promise<grpc.ServiceError>((resolve) => client.Echo(Buffer.from('missing'), (e) => resolve(e!)));
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assert.equal(err.details, 'no such thing');
      assert.equal(await metric(proxy, 'ferry_requests_total', { destination_cluster: 'grpc', grpc_response_status: '5' }), 1);
    } finally {
      client.close();
    }
  });

  test('HTTP/2 prior knowledge from the client reaches an HTTP/2 upstream', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const s = session.request({ ':path': '/h2/test.Echo/Echo', ':method': 'POST', 'content-type': 'application/grpc' });
        s.on('response', (h) => resolve(Number(h[':status'])));
        s.on('error', reject);
        s.end(Buffer.from([0, 0, 0, 0, 2, 104, 105]));
        s.resume();
      });
      assert.equal(status, 200);
    } finally {
      session.close();
    }
  });

  test('a WebSocket upgrade is passed through and echoes', async () => {
    const sock = net.connect(port, '127.0.0.1');
    try {
      let got = '';
      sock.on('data', (c) => (got += c.toString()));
      await new Promise((r) => sock.once('connect', r));
      sock.write('GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
      assert.ok(await eventually(() => got.includes('101 Switching Protocols')));
      sock.write('frame-bytes');
      assert.ok(await eventually(() => got.endsWith('frame-bytes')), `echo seen: ${JSON.stringify(got)}`);
    } finally {
      sock.destroy();
    }
  });

  test('the TCP proxy splices bytes and counts them', async () => {
    const sock = net.connect(tcpPort, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => (got += c.toString()));
    await new Promise((r) => sock.once('connect', r));
    sock.write('opaque bytes');
    assert.ok(await eventually(() => got === 'opaque bytes'));
    sock.destroy();
    assert.ok(await eventually(async () => (await metric(proxy, 'ferry_tcp_connections_closed_total', { destination_cluster: 'ws' })) >= 1));
    assert.ok((await metric(proxy, 'ferry_tcp_received_bytes_total', { destination_cluster: 'ws' })) >= 12);
    assert.ok((await metric(proxy, 'ferry_tcp_sent_bytes_total', { destination_cluster: 'ws' })) >= 12);
  });

  test('direct responses, redirects and no-route answers', async () => {
    const d = await request(port, '/direct');
    assert.equal(d.status, 200);
    assert.equal(d.body, 'direct hello');
    const r = await request(port, '/old/path', { headers: { host: 'example.com' } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'http://example.com/new');
    const n = await request(port, '/nothing-here');
    assert.equal(n.status, 404);
    assert.equal(n.headers['x-ferry-response-flags'], 'NR');
  });

  test('request ids and forwarding headers are added, hop-by-hop headers dropped', async () => {
    const r = await request(port, '/weighted/headers', {
      headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep-me': '2' },
    });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as Record<string, string>;
    assert.match(seen['x-request-id'], /^[0-9a-f-]{36}$/);
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-keep-me'], '2');
    assert.equal(seen['x-drop-me'], undefined);
    assert.equal(seen.connection === undefined || seen.connection === 'keep-alive' || seen.connection === 'close', true);
  });

  test('upstream_bind_config: connections to the upstream come from the configured source address', async () => {
    assert.equal((await request(port, '/bound')).body, '127.0.0.6');
  });

  test('a large upload streams to a slow upstream intact', async () => {
    const size = 12 * 1024 * 1024;
    const body = Buffer.alloc(size, 7);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/bound', method: 'POST', headers: { 'content-length': String(size) } }, (r) => {
        let b = '';
        r.on('data', (c) => (b += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, String(size));
  });

  test('garbage from an upstream gives 502 and the proxy keeps serving', async () => {
    const r = await request(port, '/garbage');
    assert.equal(r.status, 502);
    assert.equal(r.headers['x-ferry-response-flags'], 'UPE');
    assert.equal((await request(port, '/direct')).status, 200);
  });

  test('garbage from a client gives 400 and that connection is closed', async () => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => (got += c.toString()));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write('HELLO THERE\r\n\r\n');
    await closed;
    assert.match(got, /^HTTP\/1\.1 400/);
    assert.equal((await request(port, '/direct')).status, 200);
  });

  test('oversized request headers give 431', async () => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => (got += c.toString()));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(`GET /direct HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(16 * 1024)}\r\n\r\n`);
    await closed;
    assert.match(got, /^HTTP\/1\.1 431/);
    assert.equal((await request(port, '/direct')).status, 200);
  });

  test('a client sending headers too slowly is cut off after the headers timeout', async () => {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('data', () => undefined);
    const start = Date.now();
    const closed = new Promise((r) => sock.once('close', r));
    sock.write('GET /direct HTTP/1.1\r\nhost: x\r\n');
    const timer = setInterval(() => sock.write('x-slow: 1\r\n'), 200);
    try {
      await closed;
    } finally {
      clearInterval(timer);
    }
    const took = Date.now() - start;
    assert.ok(took >= 900, `closed after ${took} ms, before the 1 s headers timeout`);
    assert.ok(took < 5_000, `closed only after ${took} ms`);
    assert.equal((await request(port, '/direct')).status, 200);
  });

  test('a connect failure gives 503 UF and the proxy keeps serving', async () => {
    const r = await request(port, '/dead');
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-ferry-response-flags'], 'UF');
    assert.match(r.body, /connection failure/);
    assert.equal((await request(port, '/direct')).status, 200);
    const res = await request(proxy.adminPort, '/clusters');
    assert.equal(res.status, 200);
    assert.match(res.body, /outlier::127\.0\.0\.1:\d+::health_flags::\/failed_outlier_check/);
  });

  test('admin: /ready, /config_dump, /stats/prometheus', async () => {
    assert.equal((await request(proxy.adminPort, '/ready')).body.trim(), 'LIVE');
    const dump = JSON.parse((await request(proxy.adminPort, '/config_dump')).body);
    assert.equal(dump.bootstrap.clusters.length, 11);
    const prom = await request(proxy.adminPort, '/stats/prometheus');
    assert.match(prom.body, /ferry_requests_total\{/);
    assert.equal((await request(proxy.adminPort, '/quitquitquit')).status, 405);
  });

  test('HTTP/1.1 keep-alive, chunked bodies and 100-continue reach the upstream intact', async () => {
    const body = 'x'.repeat(100_000);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/retry', method: 'POST', headers: { expect: '100-continue', 'transfer-encoding': 'chunked' } },
        (r) => {
          let b = '';
          r.on('data', (c) => (b += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
        },
      );
      req.on('continue', () => {
        req.write(body.slice(0, 50_000));
        req.end(body.slice(50_000));
      });
      req.on('error', reject);
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'recovered');
    await sleep(0);
  });
});
