// Real TLS 1.3 handshakes on loopback with Ferry-issued certificates: mTLS works, foreign/expired/misnamed certificates fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import { AddressInfo } from 'node:net';
import { createIntermediateCa } from './intermediate-ca';
import { WorkloadIssuer } from './issuer';
import { createRootCa } from './root-ca';
import { TestWorkload, issueWorkload, makeTestPki } from './test-pki.fixture';
import { TrustBundle } from './trust-bundle';
import { systemClock } from '../src/clock/clock';

const DAY = 24 * 3600 * 1000;
const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const DB = 'spiffe://cluster.local/ns/default/sa/db';

interface Side {
  readonly w?: TestWorkload;
  /** Roots this side trusts. */
  readonly bundle: TrustBundle;
}

interface Outcome {
  readonly ok: boolean;
  readonly clientError?: NodeJS.ErrnoException;
  /** Why the server refused the client's certificate (OpenSSL verify code), if it did. */
  readonly serverAuthError?: string;
  /** The URI SAN each side saw of its peer. */
  readonly serverSawClient?: string;
  readonly clientSawServer?: string;
}

/** The SPIFFE check a sidecar makes on its upstream: the server's only SAN must be the expected URI. */
function expectSpiffe(expected: string) {
  return (_host: string, cert: tls.PeerCertificate): Error | undefined =>
    cert.subjectaltname === `URI:${expected}` ? undefined : new Error(`server is ${cert.subjectaltname}, want ${expected}`);
}

/** One request/response over mTLS between `server` and `client`; resolves with what happened on each side. */
async function handshake(t: test.TestContext, server: Side, client: Side, expectServer: string): Promise<Outcome> {
  let serverAuthError: string | undefined;
  let serverSawClient: string | undefined;
  const srv = tls.createServer(
    {
      key: server.w?.keyPem,
      cert: server.w?.chainPem,
      ca: server.bundle.rootPems,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (sock) => {
      serverSawClient = sock.getPeerCertificate().subjectaltname;
      sock.end('pong');
    },
  );
  srv.on('tlsClientError', (err: NodeJS.ErrnoException, sock) => (serverAuthError = String(sock.authorizationError ?? err.code)));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  let clientSawServer: string | undefined;
  const clientError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      key: client.w?.keyPem,
      cert: client.w?.chainPem,
      ca: client.bundle.rootPems,
      checkServerIdentity: expectSpiffe(expectServer),
      minVersion: 'TLSv1.3',
    });
    let body = '';
    sock.on('secureConnect', () => (clientSawServer = sock.getPeerCertificate().subjectaltname));
    sock.on('data', (d: Buffer) => (body += d.toString()));
    sock.on('end', () => resolve(body === 'pong' ? undefined : Object.assign(new Error('no response'), { code: 'NO_RESPONSE' })));
    sock.on('error', (err) => {
      sock.destroy();
      resolve(err);
    });
  });
  // Give the server's error event a turn when the client saw the failure first.
  await new Promise((r) => setImmediate(r));
  return { ok: !clientError, clientError, serverAuthError, serverSawClient, clientSawServer };
}

test('mTLS handshake succeeds with certificates from the same mesh; each side sees the other\'s SPIFFE ID', async (t) => {
  const { ca, issuer } = await makeTestPki({ issuer: { clock: systemClock } });
  const web = await issueWorkload(issuer, WEB);
  const db = await issueWorkload(issuer, DB);
  const r = await handshake(t, { w: db, bundle: ca.trustBundle }, { w: web, bundle: ca.trustBundle }, DB);
  assert.equal(r.clientError, undefined);
  assert.equal(r.ok, true);
  assert.equal(r.serverSawClient, `URI:${WEB}`);
  assert.equal(r.clientSawServer, `URI:${DB}`);
});

test('client refuses a server certificate from another root', async (t) => {
  const mesh = await makeTestPki({ issuer: { clock: systemClock } });
  const other = await makeTestPki({ issuer: { clock: systemClock } });
  const server = await issueWorkload(other.issuer, DB);
  const client = await issueWorkload(mesh.issuer, WEB);
  const r = await handshake(t, { w: server, bundle: other.ca.trustBundle }, { w: client, bundle: mesh.ca.trustBundle }, DB);
  assert.equal(r.ok, false);
  assert.equal(r.clientError?.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
});

test('server refuses a client certificate from another root', async (t) => {
  const mesh = await makeTestPki({ issuer: { clock: systemClock } });
  const other = await makeTestPki({ issuer: { clock: systemClock } });
  const server = await issueWorkload(mesh.issuer, DB);
  const intruder = await issueWorkload(other.issuer, WEB);
  // The intruder trusts the mesh root, so only the server's check can stop it.
  const r = await handshake(t, { w: server, bundle: mesh.ca.trustBundle }, { w: intruder, bundle: mesh.ca.trustBundle }, DB);
  assert.equal(r.ok, false);
  assert.equal(r.serverAuthError, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
  assert.equal(r.serverSawClient, undefined);
});

test('server refuses a client with no certificate', async (t) => {
  const { ca, issuer } = await makeTestPki({ issuer: { clock: systemClock } });
  const server = await issueWorkload(issuer, DB);
  const r = await handshake(t, { w: server, bundle: ca.trustBundle }, { bundle: ca.trustBundle }, DB);
  assert.equal(r.ok, false);
  assert.ok(r.serverAuthError, 'the server noticed');
  assert.equal(r.serverSawClient, undefined);
});

test('expired certificates are refused on both sides', async (t) => {
  const past = Date.now() - 10 * DAY;
  const { ca, issuer: pastIssuer } = await makeTestPki({ now: past }); // CA valid for a year from `past`
  const nowIssuer = new WorkloadIssuer(ca, ca.trustBundle);
  const expired = await issueWorkload(pastIssuer, DB, 3600_000);
  assert.ok(expired.notAfter < Date.now());
  const fresh = await issueWorkload(nowIssuer, WEB);

  const a = await handshake(t, { w: expired, bundle: ca.trustBundle }, { w: fresh, bundle: ca.trustBundle }, DB);
  assert.equal(a.ok, false);
  assert.equal(a.clientError?.code, 'CERT_HAS_EXPIRED');

  const expiredClient = await issueWorkload(pastIssuer, WEB, 3600_000);
  const server = await issueWorkload(nowIssuer, DB);
  const b = await handshake(t, { w: server, bundle: ca.trustBundle }, { w: expiredClient, bundle: ca.trustBundle }, DB);
  assert.equal(b.ok, false);
  assert.equal(b.serverAuthError, 'CERT_HAS_EXPIRED');
});

test('client refuses a server whose SPIFFE ID is not the one expected for the destination', async (t) => {
  const { ca, issuer } = await makeTestPki({ issuer: { clock: systemClock } });
  const impostor = await issueWorkload(issuer, 'spiffe://cluster.local/ns/default/sa/cache');
  const client = await issueWorkload(issuer, WEB);
  const r = await handshake(t, { w: impostor, bundle: ca.trustBundle }, { w: client, bundle: ca.trustBundle }, DB);
  assert.equal(r.ok, false);
  assert.match(String(r.clientError?.message), /want spiffe:\/\/cluster.local\/ns\/default\/sa\/db/);
});

test('root rotation is live: old-root and new-root workloads talk while both roots are trusted', async (t) => {
  const oldRoot = await createRootCa();
  const oldCa = await createIntermediateCa(oldRoot);
  const bundle = oldCa.trustBundle;
  const oldWorkload = await issueWorkload(new WorkloadIssuer(oldCa, bundle), DB);

  const newRoot = await createRootCa();
  bundle.add(newRoot.certPem);
  const newCa = await createIntermediateCa(newRoot);
  const newWorkload = await issueWorkload(new WorkloadIssuer(newCa, bundle), WEB);
  assert.equal(newWorkload.trustBundlePem, oldRoot.certPem + newRoot.certPem);

  const both = TrustBundle.fromPem(newWorkload.trustBundlePem);
  const a = await handshake(t, { w: oldWorkload, bundle: both }, { w: newWorkload, bundle: both }, DB);
  assert.equal(a.clientError, undefined, 'new client → old server');
  const b = await handshake(t, { w: newWorkload, bundle: both }, { w: oldWorkload, bundle: both }, WEB);
  assert.equal(b.clientError, undefined, 'old client → new server');

  bundle.remove(oldRoot.certPem);
  const onlyNew = TrustBundle.fromPem(bundle.toPem());
  const c = await handshake(t, { w: oldWorkload, bundle: both }, { w: newWorkload, bundle: onlyNew }, DB);
  assert.equal(c.ok, false, 'after removal the old root no longer authenticates');
  assert.equal(c.clientError?.code, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY');
});
