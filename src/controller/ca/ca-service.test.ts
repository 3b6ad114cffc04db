// The CA and the mTLS port end to end on loopback: who gets a certificate, who may open an ADS stream, TokenReview.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createWorkloadCsr } from '../../../certs/csr';
import { makeTestPki, issueWorkload, type TestPki } from '../../../certs/test-pki.fixture';
import { verifyServerSpiffeId, requestCertificate, CaRequestError } from '../../../sidecar/identity/ca-client';
import { CA_TOKEN_AUDIENCE } from '../../mesh/constants';
import { BOOTSTRAP_TOKEN_PREFIX, mintBootstrapToken, tokenKeyId } from './bootstrap-token';
import { FakeTokenReviewApi } from './fake-token-review-api.fixture';
import { KubernetesTokenReviewer } from './token-review';
import { createHmac } from 'node:crypto';
import { CREATE_CERTIFICATE_PATH, certificateServiceClient } from '../../ca-api/ca-proto';
import { TEST_CONTROLLER_ID, probeAds, startTestMesh, type TestMesh } from './test-mesh.fixture';
import { systemClock } from '../../clock/clock';

const CART = 'spiffe://cluster.local/ns/shop/sa/cart';

let mesh: TestMesh;
let kube: FakeTokenReviewApi;
let foreign: TestPki;

before(async () => {
  kube = new FakeTokenReviewApi();
  await kube.listen();
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: kube.url, skipTLSVerify: true }],
    users: [{ name: 'ferry-controller', token: 'controller-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'ferry-controller' }],
    currentContext: 'fake',
  });
  mesh = await startTestMesh({ reviewer: new KubernetesTokenReviewer({ kubeConfig: kc }), plaintext: true });
  foreign = await makeTestPki({ issuer: { clock: systemClock, backdateMs: 0 } });
});

after(async () => {
  await mesh?.stop();
  await kube?.close();
});

async function ask(token: string, csrFor: string, opts: { ttlSeconds?: number; serverId?: string; address?: string } = {}) {
  const csr = await createWorkloadCsr(csrFor);
  const res = await requestCertificate({
    address: opts.address ?? mesh.address,
    trustBundlePem: mesh.pki.ca.trustBundle.toPem(),
    serverSpiffeId: opts.serverId ?? TEST_CONTROLLER_ID,
    token,
    csrPem: csr.csrPem,
    ttlSeconds: opts.ttlSeconds ?? 0,
    timeoutMs: 5000,
  });
  return { res, csr };
}

async function refusal(p: Promise<unknown>): Promise<{ code: grpc.status; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CaRequestError, String(err));
    return { code: err.grpcCode, message: err.message };
  }
  assert.fail('the request was accepted');
}

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await mesh.controller.metrics.registry.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, want]) => x.labels[k] === want));
  return v?.value ?? 0;
}

test('a bootstrap token for shop/cart gets a certificate for exactly that identity, chained to the bundle', async () => {
  const issuedBefore = await counter('ferry_ca_certificates_issued_total');
  const { res, csr } = await ask(mesh.token('shop', 'cart'), CART, { ttlSeconds: 600 });
  assert.equal(res.certChain.length, 2);
  mesh.pki.ca.trustBundle.verifyChain(res.certChain, Date.now());
  assert.equal(res.trustBundle, mesh.pki.ca.trustBundle.toPem());
  const leaf = new X509Certificate(res.certChain[0]);
  assert.equal(leaf.subjectAltName, `URI:${CART}`);
  assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(csr.privateKeyPem)));
  const life = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
  assert.ok(life <= 600_000 && life >= 598_000, `lifetime ${life}`);
  assert.equal(await counter('ferry_ca_certificates_issued_total'), issuedBefore + 1);
  assert.ok((await counter('ferry_ca_issuer_expiry_timestamp_seconds')) * 1000 === mesh.pki.issuer.issuerNotAfter);
});

test('the configured lifetime caps what a CSR asks for: 7 days from a 60 s CA → 60 s; a CA ending in 1 h caps a 24 h request', async () => {
  const DAY_S = 24 * 3600;
  const lifetimeOf = async (m: TestMesh, ttlSeconds: number) => {
    const csr = await createWorkloadCsr(CART);
    const res = await requestCertificate({
      address: m.address,
      trustBundlePem: m.pki.ca.trustBundle.toPem(),
      serverSpiffeId: TEST_CONTROLLER_ID,
      token: m.token('shop', 'cart'),
      csrPem: csr.csrPem,
      ttlSeconds,
      timeoutMs: 5000,
    });
    const leaf = new X509Certificate(res.certChain[0]);
    return { from: Date.parse(leaf.validFrom), to: Date.parse(leaf.validTo) };
  };
  // As `--workload-ttl-seconds 60` configures the issuer.
  const short = await startTestMesh({ issuer: { ttlMs: 60_000 } });
  try {
    const asked = Date.now();
    const { from, to } = await lifetimeOf(short, 7 * DAY_S);
    assert.ok(to - from <= 60_000, `lifetime ${(to - from) / 1000} s, want at most 60 s`);
    assert.ok(to >= Math.floor(asked / 1000) * 1000 + 59_000, `notAfter ${new Date(to).toISOString()}`);
  } finally {
    await short.stop();
  }
  // An issuing CA that expires in an hour: a 24 h request ends with it.
  const ending = await startTestMesh({ pki: await makeTestPki({ caTtlMs: 3600_000, issuer: { clock: systemClock, backdateMs: 0 } }) });
  try {
    const { to } = await lifetimeOf(ending, DAY_S);
    assert.ok(to <= ending.pki.issuer.issuerNotAfter, `notAfter ${new Date(to).toISOString()} is past the CA's`);
    assert.ok(to <= Date.now() + 3600_000);
  } finally {
    await ending.stop();
  }
});

test('a CSR for another identity than the token proves → PERMISSION_DENIED, counted as identity_mismatch', async () => {
  const before = await counter('ferry_ca_csr_rejected_total', { reason: 'identity_mismatch' });
  const r = await refusal(ask(mesh.token('shop', 'cart'), 'spiffe://cluster.local/ns/bank/sa/vault'));
  assert.equal(r.code, grpc.status.PERMISSION_DENIED);
  assert.match(r.message, /identity_mismatch/);
  assert.equal(await counter('ferry_ca_csr_rejected_total', { reason: 'identity_mismatch' }), before + 1);
  // Same namespace, other account; and another trust domain with the same path.
  assert.equal((await refusal(ask(mesh.token('shop', 'cart'), 'spiffe://cluster.local/ns/shop/sa/admin'))).code, grpc.status.PERMISSION_DENIED);
  assert.equal((await refusal(ask(mesh.token('shop', 'cart'), 'spiffe://evil.example/ns/shop/sa/cart'))).code, grpc.status.PERMISSION_DENIED);
});

function craft(claims: Record<string, unknown>, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signed = BOOTSTRAP_TOKEN_PREFIX + payload;
  return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
}

test('tokens that prove nothing → UNAUTHENTICATED (wrong audience, forged, expired, missing), counted', async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { ns: 'shop', sa: 'cart', aud: CA_TOKEN_AUDIENCE, iat: now, exp: now + 600, kid: tokenKeyId(mesh.tokenKey) };
  const before = await counter('ferry_ca_csr_rejected_total', { reason: 'unauthenticated' });
  const cases: [string, string, RegExp][] = [
    ['wrong audience', craft({ ...claims, aud: 'kubernetes' }, mesh.tokenKey), /wrong_audience/],
    ['forged (another key)', mintBootstrapToken(Buffer.alloc(32, 1), { namespace: 'shop', serviceAccount: 'cart' }, Date.now(), 600_000), /bad_signature/],
    ['expired', craft({ ...claims, iat: now - 7200, exp: now - 3600 }, mesh.tokenKey), /expired/],
    ['missing', '', /no bearer token/],
    ['unknown to the API server', 'some-random-jwt', /not_authenticated/],
  ];
  for (const [name, token, why] of cases) {
    const r = await refusal(ask(token, CART));
    assert.equal(r.code, grpc.status.UNAUTHENTICATED, name);
    assert.match(r.message, why, name);
  }
  assert.equal(await counter('ferry_ca_csr_rejected_total', { reason: 'unauthenticated' }), before + cases.length);
});

test('Kubernetes: a projected token the TokenReview accepts for audience ferry-ca yields that ServiceAccount', async () => {
  kube.tokens.set('jwt-cart', { username: 'system:serviceaccount:shop:cart', audiences: [CA_TOKEN_AUDIENCE] });
  kube.tokens.set('jwt-api-audience', { username: 'system:serviceaccount:shop:cart', audiences: ['https://kubernetes.default.svc'] });
  kube.tokens.set('jwt-user', { username: 'alice', audiences: [CA_TOKEN_AUDIENCE] });
  const { res } = await ask('jwt-cart', CART);
  assert.equal(new X509Certificate(res.certChain[0]).subjectAltName, `URI:${CART}`);
  assert.deepEqual(kube.reviews.at(-1), { token: 'jwt-cart', audiences: [CA_TOKEN_AUDIENCE] });
  // The token's identity, not the CSR's wish, decides.
  assert.equal((await refusal(ask('jwt-cart', 'spiffe://cluster.local/ns/kube-system/sa/default'))).code, grpc.status.PERMISSION_DENIED);
  // A token for the API server's own audience is not one for us; nor is a user that is no ServiceAccount.
  assert.equal((await refusal(ask('jwt-api-audience', CART))).code, grpc.status.UNAUTHENTICATED);
  assert.equal((await refusal(ask('jwt-user', CART))).code, grpc.status.UNAUTHENTICATED);
  // An API server that ignores the requested audience says "authenticated" with no audiences: still refused.
  kube.audienceUnaware = true;
  try {
    const r = await refusal(ask('jwt-api-audience', CART));
    assert.equal(r.code, grpc.status.UNAUTHENTICATED);
    assert.match(r.message, /wrong_audience/);
  } finally {
    kube.audienceUnaware = false;
  }
  // The API server failing is not the caller's fault: UNAVAILABLE, so the sidecar retries.
  kube.failWith = 500;
  try {
    assert.equal((await refusal(ask('jwt-cart', CART))).code, grpc.status.UNAVAILABLE);
  } finally {
    kube.failWith = null;
  }
});

test('the sidecar refuses a CA that is not the controller it expects', async () => {
  const r = await refusal(ask(mesh.token('shop', 'cart'), CART, { serverId: 'spiffe://cluster.local/ns/ferry-system/sa/impostor' }));
  assert.equal(r.code, grpc.status.UNAVAILABLE);
  assert.ok(verifyServerSpiffeId({ subjectaltname: `URI:${TEST_CONTROLLER_ID}` } as never, TEST_CONTROLLER_ID) === undefined);
  assert.ok(verifyServerSpiffeId({ subjectaltname: `URI:${TEST_CONTROLLER_ID}, URI:spiffe://x/ns/a/sa/b` } as never, TEST_CONTROLLER_ID) instanceof Error);
});

function mtls(bundlePem: string, w: { keyPem: string; chainPem: string } | null): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(bundlePem), w ? Buffer.from(w.keyPem) : null, w ? Buffer.from(w.chainPem) : null, {
    checkServerIdentity: (_h, cert) => verifyServerSpiffeId(cert, TEST_CONTROLLER_ID),
  });
}

test('ADS on the mTLS port: no client certificate → UNAUTHENTICATED; a mesh certificate → served', async () => {
  const bundle = mesh.pki.ca.trustBundle.toPem();
  const anon = await probeAds(mesh.address, mtls(bundle, null));
  assert.equal(anon.code, grpc.status.UNAUTHENTICATED, JSON.stringify(anon));
  assert.match(anon.details ?? '', /client certificate/);

  const cart = await issueWorkload(mesh.pki.issuer, CART, 600_000);
  const ok = await probeAds(mesh.address, mtls(bundle, cart));
  assert.ok(ok.response, JSON.stringify(ok));
  assert.equal(ok.response.resources.length, 0);
});

test('ADS on the mTLS port: a certificate from another mesh, or from another trust domain, is refused', async () => {
  const bundle = mesh.pki.ca.trustBundle.toPem();
  // Same SPIFFE ID, but signed by a root this mesh does not trust.
  const stranger = await issueWorkload(foreign.issuer, CART, 600_000);
  const r1 = await probeAds(mesh.address, mtls(bundle, stranger));
  assert.equal(r1.code, grpc.status.UNAUTHENTICATED, JSON.stringify(r1));
  // Signed by our CA, but for another trust domain.
  const otherTd = await issueWorkload(mesh.pki.issuer, 'spiffe://other.example/ns/shop/sa/cart', 600_000);
  const r2 = await probeAds(mesh.address, mtls(bundle, otherTd));
  assert.equal(r2.code, grpc.status.UNAUTHENTICATED, JSON.stringify(r2));
  assert.match(r2.details ?? '', /trust domain "other.example"/);
});

test('the CA is never served on the plaintext xDS port (tokens do not travel in the clear)', async () => {
  const Client = certificateServiceClient();
  const client = new Client(`127.0.0.1:${mesh.ports.plaintextXds}`, grpc.credentials.createInsecure());
  try {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${mesh.token('shop', 'cart')}`);
    const csr = await createWorkloadCsr(CART);
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      (client as unknown as Record<string, Function>).CreateCertificate({ csr: csr.csrPem, ttlSeconds: 0 }, md, (e: grpc.ServiceError | null) => resolve(e)),
    );
    assert.equal(err?.code, grpc.status.FAILED_PRECONDITION);
    assert.equal(CREATE_CERTIFICATE_PATH, '/ferry.ca.v1.CertificateService/CreateCertificate');
  } finally {
    client.close();
  }
  // ADS on the plaintext port stays open to proxyless clients.
  const plain = await probeAds(`127.0.0.1:${mesh.ports.plaintextXds}`, grpc.credentials.createInsecure());
  assert.ok(plain.response, JSON.stringify(plain));
});

test("the controller's serving certificate is its SPIFFE ID from the mesh CA, and rotates", async () => {
  const first = mesh.serving.current!;
  assert.equal(new X509Certificate(first.certChainPem[0]).subjectAltName, `URI:${TEST_CONTROLLER_ID}`);
  // A short-lived controller: 3 s certificates, renewed at about half-life; new connections see the new one.
  const m2 = await startTestMesh({ pki: mesh.pki, servingTtlMs: 3000 });
  try {
    const serialOnWire = () =>
      new Promise<string>((resolve, reject) => {
        const tls = require('node:tls') as typeof import('node:tls');
        const s = tls.connect({ host: '127.0.0.1', port: m2.ports.xds, ca: mesh.pki.ca.trustBundle.toPem(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
          const serial = s.getPeerCertificate().serialNumber.toLowerCase();
          s.destroy();
          resolve(serial);
        });
        s.on('error', reject);
      });
    const s1 = await serialOnWire();
    assert.equal(s1.replace(/^0+/, ''), m2.serving.current!.serialNumber.replace(/^0+/, ''));
    const deadline = Date.now() + 4000;
    let s2 = s1;
    while (s2 === s1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      s2 = await serialOnWire();
    }
    assert.notEqual(s2, s1, 'the serving certificate was not rotated');
  } finally {
    await m2.stop();
  }
});
