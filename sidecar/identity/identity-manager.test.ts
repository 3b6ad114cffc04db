// The sidecar identity against a real controller CA on loopback: first certificate, rotation, CA outage, mTLS ADS credentials.

import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { TrustBundle } from '../../certs/trust-bundle';
import { probeAds, startTestMesh, TEST_CONTROLLER_ID, type TestMesh } from '../../src/controller/ca/test-mesh.fixture';
import { Logger } from '../../src/observability/logger';
import { identityChannelCredentials } from './identity-credentials';
import { IdentityManager, IdentityStoppedError, retryDelayMs, type IdentityManagerOptions, type WorkloadIdentity } from './identity-manager';

const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const quiet = new Logger('test', 'off');

function manager(mesh: TestMesh, over: Partial<IdentityManagerOptions> = {}): IdentityManager {
  return new IdentityManager({
    caAddress: mesh.address,
    spiffeId: CART,
    controllerSpiffeId: TEST_CONTROLLER_ID,
    rootCertPem: mesh.pki.root.certPem,
    token: { value: mesh.token('shop', 'cart') },
    backoff: { initialMs: 100, maxMs: 300 },
    random: () => 0.5,
    logger: quiet,
    ...over,
  });
}

function nextRotation(m: IdentityManager, timeoutMs: number): Promise<WorkloadIdentity> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no rotation in time')), timeoutMs);
    const off = m.onRotate((i) => {
      clearTimeout(t);
      off();
      resolve(i);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('retryDelayMs: exponential, capped, jittered to 50–100 %', () => {
  const cases: [number, number, number][] = [
    [1, 0, 50],
    [1, 0.999, 99],
    [2, 0, 100],
    [4, 0, 400],
    [10, 0, 500],
    [10, 0.999, 999],
    [1000, 0.5, 750],
  ];
  for (const [attempt, r, want] of cases) assert.equal(retryDelayMs(attempt, 100, 1000, () => r), want, `attempt ${attempt}, random ${r}`);
});

test('retryDelayMs: never more than a quarter of what is left of the certificate, never under the first delay', () => {
  const cases: [number, number, number][] = [
    // [attempt, remainingMs, want] with random 0.999 and 100 ms / 30 s back-off
    [10, Infinity, 29_985],
    [10, 40_000, 10_000],
    [10, 2_000, 500],
    [10, 100, 100],
    [10, -5_000, 100],
    [1, 40_000, 99],
  ];
  for (const [attempt, remaining, want] of cases) assert.equal(retryDelayMs(attempt, 100, 30_000, () => 0.999, remaining), want, `attempt ${attempt}, ${remaining} ms left`);
});

test('first certificate: start() resolves with a verified chain for our identity; metric; mTLS ADS with it', async (t) => {
  const mesh = await startTestMesh();
  const registry = new Registry();
  const m = manager(mesh, { metrics: registry });
  t.after(async () => {
    m.stop();
    await mesh.stop();
  });
  assert.equal(m.current(), null);
  await m.start();
  const id = m.current()!;
  assert.equal(id.spiffeId, CART);
  TrustBundle.fromPem(id.trustBundlePem).verifyChain(id.certChainPem, Date.now());
  assert.match(id.key, /BEGIN PRIVATE KEY/);
  const gauge = (await registry.getSingleMetricAsString('ferry_identity_cert_expiration_timestamp_seconds')).split('\n').at(-1)!;
  assert.equal(Number(gauge.split(' ')[1]), id.notAfter.getTime() / 1000);

  const ok = await probeAds(mesh.address, identityChannelCredentials(m, TEST_CONTROLLER_ID));
  assert.ok(ok.response, JSON.stringify(ok));
  // The same identity, but expecting another server identity: the client refuses the controller.
  const wrong = await probeAds(mesh.address, identityChannelCredentials(m, 'spiffe://cluster.local/ns/ferry-system/sa/other'), 3000);
  assert.equal(wrong.code, grpc.status.UNAVAILABLE, JSON.stringify(wrong));
});

test('rotation at half-life: a new key and serial; the old certificate still verifies until it expires', async (t) => {
  const mesh = await startTestMesh();
  const m = manager(mesh, { ttlSeconds: 4 });
  t.after(async () => {
    m.stop();
    await mesh.stop();
  });
  await m.start();
  const rotated = nextRotation(m, 6000);
  const old = m.current()!;
  const life = old.notAfter.getTime() - old.notBefore.getTime();
  assert.ok(life <= 4000, `lifetime ${life} ms`);
  const fresh = await rotated;
  assert.notEqual(fresh.serialNumber, old.serialNumber);
  assert.notEqual(fresh.key, old.key);
  assert.equal(m.current(), fresh);
  const bundle = TrustBundle.fromPem(fresh.trustBundlePem);
  assert.ok(Date.now() < old.notAfter.getTime(), 'rotated before the old certificate expired');
  bundle.verifyChain(old.certChainPem, Date.now()); // still good
  assert.throws(() => bundle.verifyChain(old.certChainPem, old.notAfter.getTime() + 1000), /expired/);
  // New connections present the new certificate.
  const ok = await probeAds(mesh.address, identityChannelCredentials(m, TEST_CONTROLLER_ID));
  assert.ok(ok.response, JSON.stringify(ok));
});

test('CA down: keeps serving the current certificate until it expires, retries, and recovers; token file re-read', async (t) => {
  let mesh = await startTestMesh();
  const port = mesh.ports.xds;
  const pki = mesh.pki;
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'ferry-identity-'));
  const tokenFile = path.join(dir, 'token');
  await fs.writeFile(tokenFile, mesh.token('shop', 'cart'));
  const m = manager(mesh, { ttlSeconds: 3, token: { file: tokenFile } });
  t.after(async () => {
    m.stop();
    await mesh.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  await m.start();
  const held = m.current()!;
  await mesh.stop();
  // Renewal is due at about half of 3 s; every attempt fails while the CA is away.
  await sleep(Math.max(0, held.notAfter.getTime() - Date.now() - 600));
  assert.ok(m.failures > 0, 'renewal was attempted');
  assert.equal(m.current(), held, 'still serving with the certificate it has');
  await sleep(Math.max(0, held.notAfter.getTime() - Date.now() + 100));
  assert.equal(m.current(), null, 'an expired certificate is not offered');
  // The CA comes back (same port, same PKI) with a rotated token file.
  const token2 = mesh.token('shop', 'cart', 7200_000);
  await fs.writeFile(tokenFile, token2);
  const back = nextRotation(m, 5000);
  mesh = await startTestMesh({ pki, port });
  const fresh = await back;
  assert.notEqual(fresh.serialNumber, held.serialNumber);
  assert.equal(m.failures, 0);
  assert.ok(m.current());
});

test('refused by the CA: start() keeps trying; stop() ends the wait', async (t) => {
  const mesh = await startTestMesh();
  t.after(() => mesh.stop());
  // A token for another account: every attempt is PERMISSION_DENIED.
  const m = manager(mesh, { token: { value: mesh.token('shop', 'admin') } });
  const started = m.start();
  await sleep(500);
  assert.ok(m.failures >= 1);
  assert.equal(m.current(), null);
  m.stop();
  await assert.rejects(started, IdentityStoppedError);
});

async function metricLines(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => l.startsWith(name));
}

test('renewNow: a new serial at once; the metrics follow renewals, failures and the seconds left', async (t) => {
  const mesh = await startTestMesh();
  const port = mesh.ports.xds;
  const pki = mesh.pki;
  const registry = new Registry();
  const m = manager(mesh, { ttlSeconds: 600, metrics: registry });
  let current = mesh;
  t.after(async () => {
    m.stop();
    await current.stop();
  });
  await m.start();
  const first = m.current()!;
  const renewed = await m.renewNow();
  assert.notEqual(renewed.serialNumber, first.serialNumber);
  assert.equal(m.current(), renewed);
  const root = TrustBundle.fromPem(pki.root.certPem).fingerprints[0];
  assert.equal(renewed.rootFingerprint, root);
  assert.deepEqual(await metricLines(registry, 'ferry_identity_cert_info'), [`ferry_identity_cert_info{serial="${renewed.serialNumber}",root="${root}"} 1`]);
  assert.deepEqual(await metricLines(registry, 'ferry_identity_trusted_root_info'), [`ferry_identity_trusted_root_info{root="${root}"} 1`]);
  assert.deepEqual(await metricLines(registry, 'ferry_identity_renewals_total'), ['ferry_identity_renewals_total{result="success"} 2']);
  const left = Number((await metricLines(registry, 'ferry_identity_cert_expiry_seconds'))[0].split(' ')[1]);
  assert.ok(left > 590 && left <= 600, `seconds left ${left}`);

  await mesh.stop();
  await assert.rejects(m.renewNow(), /certificate request failed/);
  assert.equal(m.current(), renewed, 'a failed renewal keeps the certificate');
  assert.deepEqual(await metricLines(registry, 'ferry_identity_renewal_failures'), ['ferry_identity_renewal_failures 1']);
  assert.deepEqual(await metricLines(registry, 'ferry_identity_renewals_total'), ['ferry_identity_renewals_total{result="success"} 2', 'ferry_identity_renewals_total{result="failure"} 1']);
  const due = Number((await metricLines(registry, 'ferry_identity_cert_renewal_timestamp_seconds'))[0].split(' ')[1]);
  assert.ok(due * 1000 > Date.now() - 1000 && due * 1000 < Date.now() + 1000, 'the retry is due within the back-off');

  const back = nextRotation(m, 5000);
  current = await startTestMesh({ pki, port });
  await back;
  assert.deepEqual(await metricLines(registry, 'ferry_identity_renewal_failures'), ['ferry_identity_renewal_failures 0']);
});
