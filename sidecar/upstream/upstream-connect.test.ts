// The upstream TLS options: one secure context per cluster TLS config and certificate, rebuilt on rotation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueWorkload, makeTestPki } from '../../certs/test-pki.fixture';
import type { UpstreamTlsConfig } from '../../src/config/types';
import { StaticIdentity, type WorkloadCertificate } from '../tls/workload-identity';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { DownstreamTls } from '../tls/downstream-tls';
import { connectUpstream, tlsConnectOptions } from './upstream-connect';

const TLS: UpstreamTlsConfig = {
  sni: 'outbound_.80_._.s.n.svc.cluster.local',
  alpnProtocols: ['h2'],
  ca: null,
  certChain: null,
  privateKey: null,
  workloadCertificate: true,
  workloadTrustBundle: true,
  matchSubjectAltNames: [],
  minVersion: null,
  maxVersion: null,
  maxSessionKeys: 1,
};

test('tlsConnectOptions: connections share the secure context until the certificate rotates; another cluster gets its own', async () => {
  const pki = await makeTestPki();
  const cert = async (): Promise<WorkloadCertificate> => {
    const w = await issueWorkload(pki.issuer, 'spiffe://cluster.local/ns/n/sa/a');
    return { keyPem: w.keyPem, certChainPem: w.chainPem, trustBundlePem: w.trustBundlePem, spiffeId: 'spiffe://cluster.local/ns/n/sa/a', notAfter: new Date(w.notAfter) };
  };
  const id = new StaticIdentity(await cert());
  const ep = { host: '10.0.0.1', port: 80 };
  const first = tlsConnectOptions(TLS, ep, id).secureContext;
  assert.ok(first);
  assert.equal(tlsConnectOptions(TLS, { host: '10.0.0.2', port: 80 }, id).secureContext, first, 'the same context for every endpoint of the cluster');
  assert.notEqual(tlsConnectOptions({ ...TLS, sni: 'other' }, ep, id).secureContext, first, 'another cluster config, another context');
  id.set(await cert());
  const rotated = tlsConnectOptions(TLS, ep, id).secureContext;
  assert.notEqual(rotated, first, 'a rotated certificate gets a new context');
  assert.equal(tlsConnectOptions(TLS, ep, id).secureContext, rotated);
});

/** A Ferry server chain (DownstreamTls over a plain listener) answering each connection with its principal and whether it resumed. */
async function tlsServer(t: { after: (fn: () => void) => void }, id: StaticIdentity, sessionTickets = true): Promise<{ port: number }> {
  const chain = new DownstreamTls(
    { certChain: null, privateKey: null, ca: null, workloadCertificate: true, workloadTrustBundle: true, requireClientCertificate: true, matchSubjectAltNames: [], alpnProtocols: [], sessionTickets, minVersion: null, maxVersion: null },
    { identity: id, alpn: undefined, handshakeTimeoutMs: 5000 },
  );
  const server = net.createServer((sock) => chain.terminate(sock, (tlsSock, principal) => tlsSock.end(`${principal} ${tlsSock.isSessionReused()}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    chain.close();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port };
}

/** One connection through connectUpstream: what the server answered, and whether the client resumed. */
function exchange(cfg: UpstreamTlsConfig, port: number, id: StaticIdentity): Promise<{ answer: string; resumed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connectUpstream(cfg, { host: '127.0.0.1', port }, id) as tls.TLSSocket;
    let answer = '';
    let resumed = false;
    sock.once('secureConnect', () => (resumed = sock.isSessionReused()));
    sock.on('data', (d) => (answer += d));
    sock.on('error', reject);
    // The session arrives after the handshake: wait for the close, so the next connection can offer it.
    sock.on('close', () => resolve({ answer, resumed }));
  });
}

test('connectUpstream: the second connection to an endpoint resumes its TLS session, the server still knows the client SPIFFE ID; a rotation, max_session_keys 0 and a server without tickets each mean a full handshake', async (t) => {
  const pki = await makeTestPki();
  const issue = async (spiffeId: string): Promise<WorkloadCertificate> => {
    const w = await issueWorkload(pki.issuer, spiffeId);
    return { keyPem: w.keyPem, certChainPem: w.chainPem, trustBundlePem: w.trustBundlePem, spiffeId, notAfter: new Date(w.notAfter) };
  };
  const client = new StaticIdentity(await issue('spiffe://cluster.local/ns/n/sa/client'));
  const serverId = new StaticIdentity(await issue('spiffe://cluster.local/ns/n/sa/server'));
  const { port } = await tlsServer(t, serverId);
  const cfg: UpstreamTlsConfig = { ...TLS, sni: null, alpnProtocols: [], matchSubjectAltNames: [{ kind: 'exact', value: 'spiffe://cluster.local/ns/n/sa/server', regex: null, ignoreCase: false }] };
  const principal = 'spiffe://cluster.local/ns/n/sa/client';
  assert.deepEqual(await exchange(cfg, port, client), { answer: `${principal} false`, resumed: false }, 'the first connection: a full handshake');
  assert.deepEqual(await exchange(cfg, port, client), { answer: `${principal} true`, resumed: true }, 'the second resumes, and the server still has the client certificate');
  client.set(await issue(principal));
  assert.deepEqual(await exchange(cfg, port, client), { answer: `${principal} false`, resumed: false }, 'a rotated client certificate: the old session is forgotten');
  assert.equal((await exchange(cfg, port, client)).resumed, true);
  serverId.set(await issue('spiffe://cluster.local/ns/n/sa/server'));
  await new Promise((r) => setImmediate(r));
  assert.equal((await exchange(cfg, port, client)).resumed, false, "the server's rotation ends resumption of sessions made before it");
  const off = { ...cfg, maxSessionKeys: 0 };
  await exchange(off, port, client);
  assert.equal((await exchange(off, port, client)).resumed, false, 'max_session_keys 0: never resumed');
  const noTickets = await tlsServer(t, serverId, false);
  await exchange(cfg, noTickets.port, client);
  assert.equal((await exchange(cfg, noTickets.port, client)).resumed, false, 'disable_stateless_session_resumption: no ticket, no resumption');
});
