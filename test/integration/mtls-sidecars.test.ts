// Two Ferry sidecars with workload certificates from Ferry's CA: mTLS over HTTP/2 between them with
// SPIFFE checks on both sides, STRICT refusing what is not the mesh, and certificate rotation.
// Each protection has a test that fails if it is removed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { Proxy } from '../../sidecar/proxy';
import { StaticIdentity, type WorkloadCertificate } from '../../sidecar/tls/workload-identity';
import { issueWorkload, makeTestPki, type TestPki } from '../../certs/test-pki.fixture';
import type { BootstrapConfig, ClusterConfig } from '../../src/config/types';
import { closedPort, eventually, httpUpstream, metric, request, startProxy, type Upstream } from './support';
import { translateHealthCheck } from '../../src/config/health-check';

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';

async function identityFor(pki: TestPki, spiffeId: string, ttlMs?: number): Promise<WorkloadCertificate> {
  const w = await issueWorkload(pki.issuer, spiffeId, ttlMs);
  return { keyPem: w.keyPem, certChainPem: w.chainPem, trustBundlePem: w.trustBundlePem, spiffeId, notAfter: new Date(w.notAfter) };
}

/** A raw TLS client to the inbound port: resolves with the error, or null when the handshake passed. */
function handshake(port: number, opts: tls.ConnectionOptions): Promise<{ err: Error | null; cert: tls.PeerCertificate | null }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['http/1.1'], ...opts, checkServerIdentity: () => undefined });
    s.once('secureConnect', () => {
      // TLS 1.3: a rejected client certificate shows up as an alert right after the handshake.
      s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    s.once('data', () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      resolve({ err: null, cert });
    });
    s.once('error', (err) => resolve({ err, cert: null }));
    s.once('close', () => resolve({ err: new Error('closed'), cert: null }));
  });
}

/** One HTTP/1.1 request written raw over TLS with `id`'s certificate; resolves with whatever came back before close. */
function talkOverTls(port: number, id: WorkloadCertificate, caPem: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = tls.connect({ host: '127.0.0.1', port, key: id.keyPem, cert: id.certChainPem, ca: caPem, checkServerIdentity: () => undefined }, () =>
      s.write('GET /tcp HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'),
    );
    s.on('data', (c) => (got += c));
    s.on('close', () => resolve(got));
    s.on('error', () => undefined);
  });
}

describe('mTLS between two Ferry sidecars (mtls-pair.yaml)', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let app: Upstream;
  let server: Proxy; // the server side: inbound listener in front of the app
  let client: Proxy; // the client side: outbound listener originating mTLS
  let serverIdentity: StaticIdentity;
  let clientIdentity: StaticIdentity;
  let inboundPort = 0;
  let outboundPort = 0;
  const extra: Proxy[] = [];

  before(async () => {
    pki = await makeTestPki();
    otherPki = await makeTestPki();
    app = await httpUpstream((req, res) => res.end(`app saw ${req.headers['x-forwarded-client-cert'] ? 'xfcc' : 'request'}`));
    serverIdentity = new StaticIdentity(await identityFor(pki, SERVER_ID));
    clientIdentity = new StaticIdentity(await identityFor(pki, CLIENT_ID));
    const sds = await closedPort();
    server = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: await closedPort(), UPSTREAM_PORT: app.port, SDS_PORT: sds },
      { identity: serverIdentity },
    );
    inboundPort = server.listenerPort('inbound');
    client = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: inboundPort, UPSTREAM_PORT: await closedPort(), SDS_PORT: sds },
      { identity: clientIdentity },
    );
    outboundPort = client.listenerPort('outbound');
  });

  after(async () => {
    for (const p of [client, server, ...extra]) await p?.stop();
    await app?.close();
  });

  test('a request crosses both sidecars over mTLS; the server side sees the client SPIFFE ID', async () => {
    const r = await request(outboundPort, '/hello');
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^app saw/);
    assert.equal(
      await metric(server, 'ferry_requests_total', { source_principal: CLIENT_ID, connection_security_policy: 'mutual_tls', request_protocol: 'http' }),
      1,
    );
  });

  test('metadata exchange: each side labels the other workload, the header never reaches an app, and an app cannot forge it', async () => {
    let seenByApp: Record<string, unknown> = {};
    const echo = await httpUpstream((req, res) => {
      seenByApp = { ...req.headers };
      res.setHeader('x-ferry-peer-metadata', 'workload=forged;namespace=default');
      res.end('ok');
    });
    const withNode = (sa: string, app: string, version: string) => (cfg: BootstrapConfig): BootstrapConfig => ({
      ...cfg,
      node: { ...cfg.node, metadata: { NAMESPACE: 'default', SERVICE_ACCOUNT: sa, LABELS: { app, version } } },
    });
    const sds = await closedPort();
    const srv = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: await closedPort(), UPSTREAM_PORT: echo.port, SDS_PORT: sds },
      { identity: serverIdentity },
      withNode('server', 'server', 'v2'),
    );
    const cli = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: srv.listenerPort('inbound'), UPSTREAM_PORT: await closedPort(), SDS_PORT: sds },
      { identity: clientIdentity },
      withNode('client', 'client', 'v1'),
    );
    extra.push(srv, cli);
    try {
      // The client app tries to pass itself off as another workload: its header is dropped.
      const r = await request(cli.listenerPort('outbound'), '/x', { headers: { 'x-ferry-peer-metadata': 'workload=admin;namespace=default' } });
      assert.equal(r.status, 200, r.body);
      assert.equal(seenByApp['x-ferry-peer-metadata'], undefined, 'the server app never sees the exchange header');
      assert.equal(r.headers['x-ferry-peer-metadata'], undefined, 'the client app never sees it either');
      assert.equal(await metric(srv, 'ferry_requests_total', {
        reporter: 'destination', source_workload: 'client', source_app: 'client', source_version: 'v1', source_principal: CLIENT_ID,
        destination_workload: 'server', destination_app: 'server', destination_version: 'v2', destination_principal: SERVER_ID,
      }), 1);
      assert.equal(await metric(cli, 'ferry_requests_total', {
        reporter: 'source', source_workload: 'client', source_principal: CLIENT_ID, destination_workload: 'server', destination_version: 'v2', destination_principal: SERVER_ID,
      }), 1, 'the caller labels the callee from its answer, not from what the server app wrote');
      assert.equal(await metric(srv, 'ferry_requests_total', { source_workload: 'admin' }), 0);
    } finally {
      await echo.close();
    }
  });

  test('STRICT: plaintext to the inbound port is refused', async () => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(inboundPort, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      let data = '';
      s.on('data', (c) => (data += c));
      s.on('close', () => resolve(data));
      s.on('error', () => undefined);
    });
    assert.doesNotMatch(got, /app saw/);
    assert.doesNotMatch(got, /^HTTP\/1\.1 200/);
  });

  test('a client certificate from another trust root is refused', async () => {
    const stranger = await identityFor(otherPki, CLIENT_ID);
    const r = await handshake(inboundPort, { key: stranger.keyPem, cert: stranger.certChainPem, ca: pki.ca.trustBundle.toPem() });
    assert.ok(r.err, 'handshake must fail');
  });

  test('no client certificate is refused', async () => {
    const r = await handshake(inboundPort, { ca: pki.ca.trustBundle.toPem() });
    assert.ok(r.err, 'handshake must fail');
  });

  test('a connection that never finishes its TLS handshake is closed after 10 s (HTTP_HANDSHAKE_TIMEOUT_MS)', async () => {
    // A TLS record header announcing a ClientHello that never comes.
    const s = net.connect({ host: '127.0.0.1', port: inboundPort }, () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])));
    s.on('error', () => undefined);
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const guard = setTimeout(() => {
        s.destroy();
        reject(new Error('still open after 15 s'));
      }, 15_000);
      s.once('close', () => {
        clearTimeout(guard);
        resolve(Date.now() - t0);
      });
    });
    assert.ok(closedAfter >= 9_000, `closed after ${closedAfter} ms: before the handshake timeout`);
  });

  test('a plaintext first byte on the STRICT listener is refused at once; a silent connection after 10 s', async () => {
    const closedAfter = (write: Buffer | null): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const s = net.connect({ host: '127.0.0.1', port: inboundPort }, () => (write === null ? undefined : s.write(write)));
        s.on('error', () => undefined);
        const guard = setTimeout(() => {
          s.destroy();
          reject(new Error('still open after 15 s'));
        }, 15_000);
        s.once('close', () => {
          clearTimeout(guard);
          resolve(Date.now() - t0);
        });
      });
    const [plain, silent] = await Promise.all([closedAfter(Buffer.from('G')), closedAfter(null)]);
    assert.ok(plain < 1_000, `a plaintext byte closed after ${plain} ms`);
    assert.ok(silent >= 9_000, `a silent connection closed after ${silent} ms: before the handshake timeout`);
  });

  test('an expired client certificate is refused', async () => {
    // A CA from two hours ago whose issuer signed a one-minute certificate back then.
    const oldPki = await makeTestPki({ now: Date.now() - 2 * 3600_000, issuer: { ttlMs: 60_000 } });
    const expired = await issueWorkload(oldPki.issuer, CLIENT_ID, 60_000);
    assert.ok(Date.parse(new X509Certificate(expired.certChainPem[0]).validTo) < Date.now(), 'the test certificate is expired');
    const valid = await issueWorkload(pki.issuer, CLIENT_ID, 60_000);
    // A sidecar trusting that old CA still refuses the expired leaf.
    const s2 = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: await closedPort(), UPSTREAM_PORT: app.port, SDS_PORT: await closedPort() },
      { identity: new StaticIdentity({ ...(await identityFor(pki, SERVER_ID)), trustBundlePem: oldPki.ca.trustBundle.toPem() + pki.ca.trustBundle.toPem() }) },
    );
    extra.push(s2);
    const r = await handshake(s2.listenerPort('inbound'), { key: expired.keyPem, cert: expired.chainPem, ca: pki.ca.trustBundle.toPem() });
    assert.ok(r.err, 'an expired certificate must be refused');
    // The same sidecar accepts a valid one (so the refusal above is about expiry).
    const ok = await handshake(s2.listenerPort('inbound'), { key: valid.keyPem, cert: valid.chainPem, ca: pki.ca.trustBundle.toPem() });
    assert.equal(ok.err, null);
  });

  test('the client refuses a server whose SPIFFE ID is not the one expected for the destination', async () => {
    const wrong = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: inboundPort, UPSTREAM_PORT: await closedPort(), SDS_PORT: await closedPort() },
      { identity: clientIdentity },
      (cfg: BootstrapConfig) => ({
        ...cfg,
        clusters: cfg.clusters.map((c: ClusterConfig) =>
          c.name === 'server_mtls' && c.tls
            ? { ...c, tls: { ...c.tls, matchSubjectAltNames: [{ kind: 'exact' as const, value: 'spiffe://cluster.local/ns/default/sa/other', regex: null, ignoreCase: false }] } }
            : c,
        ),
      }),
    );
    extra.push(wrong);
    const r = await request(wrong.listenerPort('outbound'), '/');
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-ferry-response-flags'], 'UF');
    assert.equal((await request(outboundPort, '/')).status, 200, 'the correctly configured client still works');
  });

  test('authorization: another mesh identity gets 403 on a private path and 200 on a public one', async () => {
    const intruder = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: inboundPort, UPSTREAM_PORT: await closedPort(), SDS_PORT: await closedPort() },
      { identity: new StaticIdentity(await identityFor(pki, 'spiffe://cluster.local/ns/default/sa/intruder')) },
    );
    extra.push(intruder);
    const denied = await request(intruder.listenerPort('outbound'), '/private');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'RBAC: access denied');
    assert.equal((await request(intruder.listenerPort('outbound'), '/public/page')).status, 200);
    assert.equal((await request(outboundPort, '/private')).status, 200, 'the allowed identity still passes');
    assert.equal(await metric(server, 'ferry_requests_total', { response_code: '403', response_flags: 'RBAC', source_principal: 'spiffe://cluster.local/ns/default/sa/intruder' }), 1);
    assert.equal(await metric(server, 'ferry_authz_denied_total', { stat_prefix: 'inbound' }), 1);
  });

  test('active health checks to a STRICT peer use the workload certificate', async () => {
    const hc = translateHealthCheck({ timeout: '1s', interval: '0.05s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/' } }, 'hc');
    const checked = await startProxy(
      'mtls-pair',
      { ADMIN_PORT: 0, PORT: 0, INBOUND_PORT: 0, INBOUND_TCP_PORT: 0, PEER_PORT: inboundPort, UPSTREAM_PORT: await closedPort(), SDS_PORT: await closedPort() },
      { identity: clientIdentity },
      (cfg: BootstrapConfig) => ({
        ...cfg,
        clusters: cfg.clusters.map((c: ClusterConfig) => (c.name === 'server_mtls' ? { ...c, healthChecks: [hc] } : c)),
      }),
    );
    extra.push(checked);
    const healthy = await eventually(async () => (await metric(checked, 'ferry_upstream_endpoints', { destination_cluster: 'server_mtls', health: 'healthy' })) === 1, 5_000);
    assert.ok(healthy, 'the health checker passed mTLS with the workload identity');
    // The checks are counted apart on the peer: no workload made them, so they stay out of the graph.
    const served = await metric(server, 'ferry_requests_total', { source_principal: CLIENT_ID });
    // One check so far: with no traffic the next waits for no_traffic_interval (Envoy's 60 s here).
    const counted = await eventually(async () => (await metric(server, 'ferry_inbound_health_check_requests_total', { response_code: '200' })) >= 1, 5_000);
    assert.ok(counted, 'the peer counts the checks it answered');
    assert.equal(await metric(server, 'ferry_requests_total', { source_principal: CLIENT_ID }), served, 'checks are not requests of the caller');
    assert.equal((await request(checked.listenerPort('outbound'), '/')).status, 200);
  });

  test('network RBAC: a TCP chain admits only the allowed SPIFFE ID and closes the rest', async () => {
    const tcpPort = server.listenerPort('inbound_tcp');
    const talk = (id: WorkloadCertificate): Promise<string> => talkOverTls(tcpPort, id, pki.ca.trustBundle.toPem());
    assert.match(await talk(clientIdentity.current()!), /app saw request/);
    const before = await metric(server, 'ferry_authz_denied_total', { stat_prefix: 'inbound_tcp' });
    assert.equal(await talk(await identityFor(pki, 'spiffe://cluster.local/ns/default/sa/intruder')), '');
    assert.equal((await metric(server, 'ferry_authz_denied_total', { stat_prefix: 'inbound_tcp' })) - before, 1);
  });

  test('a TCP chain requiring a client certificate refuses one from another trust root, whatever SPIFFE ID it names', async () => {
    // The same TLS termination as HTTP chains: the certificate is checked before its SAN is believed.
    const tcpPort = server.listenerPort('inbound_tcp');
    const talk = (id: WorkloadCertificate): Promise<string> => talkOverTls(tcpPort, id, pki.ca.trustBundle.toPem());
    assert.equal(await talk(await identityFor(otherPki, CLIENT_ID)), '', 'a stranger claiming the allowed ID gets nothing through');
    assert.match(await talk(clientIdentity.current()!), /app saw request/, 'the real client still does');
  });

  test('rotation: new handshakes get the new certificate, traffic keeps flowing', async () => {
    const before = await handshake(inboundPort, { key: (clientIdentity.current()!).keyPem, cert: clientIdentity.current()!.certChainPem, ca: pki.ca.trustBundle.toPem() });
    assert.equal(before.err, null);
    const oldSerial = before.cert!.serialNumber;
    serverIdentity.set(await identityFor(pki, SERVER_ID));
    const afterRotation = await handshake(inboundPort, { key: clientIdentity.current()!.keyPem, cert: clientIdentity.current()!.certChainPem, ca: pki.ca.trustBundle.toPem() });
    assert.equal(afterRotation.err, null);
    assert.notEqual(afterRotation.cert!.serialNumber, oldSerial);
    clientIdentity.set(await identityFor(pki, CLIENT_ID));
    for (let i = 0; i < 5; i++) assert.equal((await request(outboundPort, '/')).status, 200);
  });
});
