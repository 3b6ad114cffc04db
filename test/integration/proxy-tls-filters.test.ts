// The sidecar with TLS (termination with client certificates, ALPN h2, upstream TLS with SAN checks,
// SNI-based filter chains), the HTTP filters, DNS clusters, weighted clusters, per-try timeouts, the
// stats listener and draining.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Proxy } from '../../sidecar/proxy';
import { eventually, httpUpstream, metric, request, startProxy, type Upstream } from './support';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed P-256 certificate that is also its own CA (written as cert.pem, key.pem, ca.pem). */
function makeCert(dir: string, sans: string): { cert: Buffer; key: Buffer } {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=ferry-test', '-addext', `subjectAltName=${sans}`],
    { stdio: 'ignore' },
  );
  execFileSync('cp', [join(dir, 'cert.pem'), join(dir, 'ca.pem')]);
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
}

const skipTls = haveOpenssl() ? false : 'openssl is not on PATH';
if (skipTls) {
  if (process.env.CI) throw new Error('openssl is required in CI');
  console.log(`# skipping TLS tests: ${skipTls}`);
}

describe('TLS termination and origination (tls.yaml)', { skip: skipTls }, () => {
  let dir = '';
  let pem: { cert: Buffer; key: Buffer };
  let upstream: https.Server;
  let proxy: Proxy;
  let port = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
    pem = makeCert(dir, 'DNS:upstream.example.com,URI:spiffe://cluster.local/ns/default/sa/upstream');
    upstream = https.createServer({ cert: pem.cert, key: pem.key, ca: pem.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const sock = req.socket as tls.TLSSocket;
      const peer = sock.getPeerCertificate();
      res.end(`upstream saw client ${peer.subjectaltname ?? 'none'} sni ${String((sock as unknown as { servername?: string }).servername)} ${sock.getProtocol()}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const upstreamPort = (upstream.address() as net.AddressInfo).port;
    proxy = await startProxy('tls', { PORT: 0, UPSTREAM_PORT: upstreamPort, CERT_DIR: dir });
    port = proxy.listenerPort('inbound_tls');
  });
  after(async () => {
    await proxy?.stop();
    upstream?.closeAllConnections();
    upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an mTLS client over ALPN h2 is proxied to a TLS upstream that checks the proxy certificate', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      servername: 'inbound.example.com',
      ca: pem.cert,
      cert: pem.cert,
      key: pem.key,
      // The test certificate names the upstream, not inbound.example.com; trust is checked by the CA.
      checkServerIdentity: () => undefined,
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/', ':method': 'GET' });
        let b = '';
        s.setEncoding('utf8');
        s.on('data', (c: string) => (b += c));
        s.on('end', () => resolve(b));
        s.on('error', reject);
        s.end();
      });
      assert.match(body, /upstream saw client .*URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/upstream/);
    } finally {
      session.close();
    }
    assert.equal(await metric(proxy, 'ferry_requests_total', { source_principal: 'spiffe://cluster.local/ns/default/sa/upstream', connection_security_policy: 'mutual_tls' }), 1);
  });

  test("the cluster's sni and tls_minimum_protocol_version (TLSv1_3) reach the upstream handshake", async () => {
    const r = await new Promise<string>((resolve, reject) => {
      const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'inbound.example.com', ca: pem.cert, cert: pem.cert, key: pem.key, checkServerIdentity: () => undefined });
      const st = session.request({ ':path': '/' });
      let b = '';
      st.setEncoding('utf8');
      st.on('data', (c: string) => (b += c));
      st.on('end', () => {
        session.close();
        resolve(b);
      });
      st.on('error', reject);
      st.end();
    });
    assert.match(r, / sni upstream\.example\.com TLSv1\.3$/);
  });

  test("the listener's tls_maximum_protocol_version (TLSv1_2) caps what a TLS 1.3 client gets", async () => {
    const protocol = await new Promise<string | null>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'inbound.example.com', ca: pem.cert, cert: pem.cert, key: pem.key, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined, maxVersion: 'TLSv1.3' }, () => {
        resolve(s.getProtocol());
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.equal(protocol, 'TLSv1.2');
  });

  test('HTTP/1.1 over TLS works on the same chain', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          servername: 'inbound.example.com',
          ca: pem.cert,
          cert: pem.cert,
          key: pem.key,
          checkServerIdentity: () => undefined,
          ALPNProtocols: ['http/1.1'],
          agent: false,
        } as https.RequestOptions,
        (res) => {
          let b = '';
          res.on('data', (c) => (b += c));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.match(body, /upstream saw client/);
  });

  test('a client without a certificate is refused', async () => {
    const err = await new Promise<Error | null>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'inbound.example.com', ca: pem.cert, ALPNProtocols: ['http/1.1'] }, () => {
        s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      s.on('data', () => resolve(null));
      s.on('error', (e) => resolve(e));
      s.on('close', () => resolve(new Error('closed')));
    });
    assert.ok(err, 'the handshake or the connection must fail');
  });
});

describe('filter chains by SNI, filters, DNS and weighted clusters (chains-filters-dns.yaml)', { skip: skipTls }, () => {
  let dir = '';
  let proxy: Proxy;
  let port = 0;
  let sniPort = 0;
  const ups: Upstream[] = [];
  const tlsServers: tls.Server[] = [];
  let perTryCalls = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-sni-'));
    const pem = makeCert(dir, 'DNS:a.example.com,DNS:*.example.org');
    const a = await httpUpstream((_req, res) => res.end('A'));
    const b = await httpUpstream((req, res) => {
      if (req.url?.startsWith('/pertry')) {
        perTryCalls++;
        if (perTryCalls % 2 === 1) return void setTimeout(() => res.end('late'), 1_000);
      }
      res.end('B');
    });
    ups.push(a, b);
    const tlsPorts: number[] = [];
    for (const name of ['tls-A', 'tls-B']) {
      const s = tls.createServer({ cert: pem.cert, key: pem.key }, (sock) => sock.end(name));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      tlsServers.push(s);
      tlsPorts.push((s.address() as net.AddressInfo).port);
    }
    let n = 0;
    proxy = await startProxy(
      'chains-filters-dns',
      { ADMIN_PORT: 0, PORT: 0, SNI_PORT: 0, A_PORT: a.port, B_PORT: b.port, TLS_A_PORT: tlsPorts[0], TLS_B_PORT: tlsPorts[1] },
      // A deterministic sequence for the weighted split: 0, 0.01, …, 0.99, 0, …
      { random: () => (n++ % 100) / 100 },
      (cfg) => ({ ...cfg, statsAddress: { host: '127.0.0.1', port: 0 } }),
    );
    port = proxy.listenerPort('http');
    sniPort = proxy.listenerPort('sni');
  });
  after(async () => {
    await proxy?.stop();
    for (const u of ups) await u.close();
    for (const s of tlsServers) s.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const viaSni = (servername: string): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      const s = tls.connect({ host: '127.0.0.1', port: sniPort, servername, rejectUnauthorized: false });
      s.on('data', (c) => (got += c));
      s.on('error', () => resolve(got || 'error'));
      s.on('close', () => resolve(got || 'closed'));
    });

  test('TLS passthrough picks the filter chain by SNI, exact and wildcard; no match is closed', async () => {
    assert.equal(await viaSni('a.example.com'), 'tls-A');
    assert.equal(await viaSni('x.example.org'), 'tls-B');
    const none = await viaSni('nothing.example.net');
    assert.ok(none === 'closed' || none === 'error', `unexpected answer ${none}`);
  });

  test('STRICT_DNS resolves localhost and serves', async () => {
    assert.equal((await request(port, '/faulty')).body, 'A');
  });

  test('the fault filter aborts requests whose headers match, with flag FI', async () => {
    const r = await request(port, '/faulty', { headers: { 'x-fault': 'abort' } });
    assert.equal(r.status, 418);
    assert.equal(r.headers['x-ferry-response-flags'], 'FI');
    assert.equal((await request(port, '/faulty')).status, 200);
    assert.equal(await metric(proxy, 'ferry_http_faults_injected_total', { kind: 'abort' }), 1);
  });

  test('the local rate limit answers 429 once the route bucket is empty', async () => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await request(port, '/limited')).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    assert.equal(await metric(proxy, 'ferry_http_local_rate_limited_total'), 2);
  });

  test('weighted clusters split 20/80', async () => {
    const counts: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 200; i++) counts[(await request(port, '/split')).body]++;
    assert.ok(Math.abs(counts.A - 40) <= 12, `A got ${counts.A} of 200`);
    assert.ok(Math.abs(counts.B - 160) <= 12, `B got ${counts.B} of 200`);
  });

  test('a per-try timeout is retried and the retry succeeds', async () => {
    const r = await request(port, '/pertry');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'B');
    assert.ok((await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: 'logical_dns' })) >= 1);
  });

  test('metrics are served on the stats address too', async () => {
    assert.ok(proxy.statsPort > 0);
    const r = await request(proxy.statsPort, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.body, /ferry_requests_total\{/);
  });

  test('POST /drain_listeners stops new connections while the admin server stays up', async () => {
    assert.equal((await request(proxy.adminPort, '/drain_listeners', { method: 'POST' })).status, 200);
    assert.equal((await request(proxy.adminPort, '/ready')).status, 503);
    const refused = await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1');
          s.on('connect', () => {
            s.destroy();
            resolve(false);
          });
          s.on('error', () => resolve(true));
        }),
      3_000,
    );
    assert.ok(refused, 'the listener no longer accepts');
  });
});
