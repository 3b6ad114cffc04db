// Tests for the workload issuer: leaf shape, TTL defaults and clamping, back-dating, serials, counters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { createWorkloadCsr } from './csr';
import { createIntermediateCa, subjectKeyId } from './intermediate-ca';
import { DEFAULT_WORKLOAD_TTL_MS, IssuerUnavailableError, WorkloadIssuer } from './issuer';
import { CA_KEY_USAGE, createRootCa, type CaKeyPair } from './root-ca';
import { issueWorkload, makeTestPki } from './test-pki.fixture';
import { TrustBundle } from './trust-bundle';
import { EC_SIGN_ALG, generateKeyPair, randomHex, toCertTime, x509 } from './x509';
import { FakeClock } from '../src/clock/fake-clock.fixture';

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const ID = 'spiffe://cluster.local/ns/default/sa/web';

test('sign: leaf is a SPIFFE SVID (URI SAN only, serverAuth+clientAuth, digitalSignature, not a CA)', async () => {
  const { ca, issuer } = await makeTestPki({ now: NOW });
  const w = await issueWorkload(issuer, ID);
  assert.equal(w.certChainPem.length, 2);
  assert.equal(w.certChainPem[1], ca.certPem);
  assert.equal(w.trustBundlePem, ca.trustBundle.toPem());
  assert.equal(w.spiffeId, ID);

  const leaf = new x509.X509Certificate(w.certChainPem[0]);
  assert.equal(leaf.subject, '');
  assert.equal(leaf.issuer, ca.cert.subject);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(san?.names.toJSON(), [{ type: 'url', value: ID }]);
  assert.equal(san?.critical, true, 'SAN is critical when the subject is empty');
  const bc = leaf.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, false);
  assert.equal(leaf.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  assert.deepEqual([...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.deepEqual(leaf.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });

  // Node's (OpenSSL's) view of the same chain.
  const nodeLeaf = new NodeX509(w.certChainPem[0]);
  const nodeCa = new NodeX509(w.certChainPem[1]);
  assert.equal(nodeLeaf.subjectAltName, `URI:${ID}`);
  assert.equal(nodeLeaf.ca, false);
  assert.ok(nodeLeaf.checkIssued(nodeCa));
  assert.ok(nodeLeaf.verify(nodeCa.publicKey));
  assert.ok(nodeCa.verify(new NodeX509(ca.trustBundle.rootPems[0]).publicKey));
  assert.deepEqual(nodeLeaf.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  ca.trustBundle.verifyChain(w.certChainPem, NOW);
});

test('sign: validity is back-dated 1 min and lasts 24 h by default', async () => {
  const { issuer } = await makeTestPki({ now: NOW - H, issuer: { clock: new FakeClock(0, NOW) } });
  const w = await issueWorkload(issuer, ID);
  assert.equal(w.notBefore, NOW - MIN);
  assert.equal(w.notAfter, NOW + DEFAULT_WORKLOAD_TTL_MS);
  const leaf = new x509.X509Certificate(w.certChainPem[0]);
  assert.equal(leaf.notBefore.getTime(), w.notBefore);
  assert.equal(leaf.notAfter.getTime(), w.notAfter);
});

test('sign: TTL requested, configured, capped at maxTtlMs and clamped to the issuer', async () => {
  const cases: Array<{ name: string; issuer?: object; requested?: number; at?: number; want: number }> = [
    { name: 'requested shorter', requested: H, want: NOW + H },
    { name: 'configured default', issuer: { ttlMs: 2 * H }, want: NOW + 2 * H },
    { name: 'requested above max is capped', issuer: { maxTtlMs: 3 * DAY }, requested: 30 * DAY, want: NOW + 3 * DAY },
    { name: 'clamped to issuer expiry', at: NOW + 10 * DAY - 5 * H, want: NOW + 10 * DAY },
    { name: 'requested clamped to issuer expiry', at: NOW + 9 * DAY, requested: 2 * DAY, want: NOW + 10 * DAY },
  ];
  const root = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW, ttlMs: 10 * DAY });
  for (const c of cases) {
    const at = c.at ?? NOW;
    const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, at), ...c.issuer });
    const w = await issueWorkload(issuer, ID, c.requested);
    assert.equal(w.notAfter, c.want, c.name);
    assert.equal(new x509.X509Certificate(w.certChainPem[0]).notAfter.getTime(), c.want, c.name);
  }
});

test('sign: the configured lifetime is the maximum: a request for 7 days from a 60 s issuer gets 60 s', async () => {
  const root = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW, ttlMs: 30 * DAY });
  const cases: Array<{ name: string; issuer: object; requested?: number; want: number }> = [
    { name: 'ttlMs alone is also the ceiling', issuer: { ttlMs: MIN }, requested: 7 * DAY, want: NOW + MIN },
    { name: 'maxTtlMs alone is the ceiling and the default', issuer: { maxTtlMs: MIN }, want: NOW + MIN },
    { name: 'maxTtlMs alone caps a request', issuer: { maxTtlMs: MIN }, requested: 7 * DAY, want: NOW + MIN },
    { name: 'a shorter request is honoured', issuer: { ttlMs: H, maxTtlMs: H }, requested: 2 * MIN, want: NOW + 2 * MIN },
    { name: 'default options cap at 24 h', issuer: {}, requested: 7 * DAY, want: NOW + DEFAULT_WORKLOAD_TTL_MS },
  ];
  for (const c of cases) {
    const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, NOW), ...c.issuer });
    const w = await issueWorkload(issuer, ID, c.requested);
    assert.equal(new x509.X509Certificate(w.certChainPem[0]).notAfter.getTime(), c.want, c.name);
    assert.equal(w.notAfter, c.want, c.name);
  }
});

/** An issuing CA signed by `root` without the clamp to the root's expiry (as another tool may make one). */
async function caOutliving(root: CaKeyPair, ttlMs: number) {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `O=Ferry, CN=Outliving CA ${randomHex(4)}`,
    issuer: root.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: root.privateKey,
    signingAlgorithm: EC_SIGN_ALG,
    serialNumber: randomHex(16),
    notBefore: toCertTime(NOW),
    notAfter: toCertTime(NOW + ttlMs),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(CA_KEY_USAGE, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(subjectKeyId(root.cert)),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, privateKey: keys.privateKey };
}

test('sign: an issuer expiring in 1 h caps a 24 h request at its notAfter, whether the issuing CA or the root ends first', async () => {
  // The issuing CA ends in 1 h.
  const root = await createRootCa({ now: NOW });
  const shortCa = await createIntermediateCa(root, { now: NOW, ttlMs: H });
  const a = await issueWorkload(new WorkloadIssuer(shortCa, shortCa.trustBundle, { clock: new FakeClock(0, NOW) }), ID, DAY);
  assert.equal(a.notAfter, NOW + H);
  // The root ends in 1 h, the issuing CA under it in a year: the leaf still ends with the root.
  const shortRoot = await createRootCa({ now: NOW, ttlMs: H });
  const longCa = await caOutliving(shortRoot, 365 * DAY);
  const bundle = new TrustBundle([shortRoot.certPem]);
  const issuer = new WorkloadIssuer(longCa, bundle, { clock: new FakeClock(0, NOW) });
  assert.equal(issuer.issuerNotAfter, NOW + H);
  const b = await issueWorkload(issuer, ID, DAY);
  assert.equal(b.notAfter, NOW + H);
  assert.equal(new x509.X509Certificate(b.certChainPem[0]).notAfter.getTime(), NOW + H);
  bundle.verifyChain(b.certChainPem, NOW + H - 1000);
});

test('sign: notBefore is never earlier than the issuer', async () => {
  const root = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW });
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, NOW + 10_000) });
  assert.equal((await issueWorkload(issuer, ID)).notBefore, NOW);
});

test('sign: random 128-bit serials, unique', async () => {
  const { issuer } = await makeTestPki({ now: NOW });
  const { csrPem } = await createWorkloadCsr(ID);
  const serials = new Set<string>();
  for (let i = 0; i < 20; i++) serials.add((await issuer.sign(csrPem, ID)).serialNumber);
  assert.equal(serials.size, 20);
  for (const s of serials) assert.ok(s.length >= 28 && s.length <= 32, `serial ${s} is about 16 bytes`);
});

test('sign: counts issued and rejected by reason; issuer failures apart', async () => {
  const root = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW, ttlMs: DAY });
  const clock = new FakeClock(0, NOW);
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock });
  const good = await createWorkloadCsr(ID);
  const other = await createWorkloadCsr('spiffe://cluster.local/ns/default/sa/db');
  await issuer.sign(good.csrPem, ID);
  await issuer.sign(good.csrPem, ID);
  await assert.rejects(issuer.sign(other.csrPem, ID), { reason: 'identity_mismatch' });
  await assert.rejects(issuer.sign('junk', ID), { reason: 'malformed' });
  await assert.rejects(issuer.sign(good.csrPem, ID, 0), { reason: 'bad_ttl' });
  await assert.rejects(issuer.sign(good.csrPem, ID, Number.POSITIVE_INFINITY), { reason: 'bad_ttl' });
  clock.advance(DAY + 1000);
  await assert.rejects(issuer.sign(good.csrPem, ID), IssuerUnavailableError);
  assert.equal(issuer.counters.issued, 2);
  assert.equal(issuer.counters.rejected.identity_mismatch, 1);
  assert.equal(issuer.counters.rejected.malformed, 1);
  assert.equal(issuer.counters.rejected.bad_ttl, 2);
  assert.equal(issuer.counters.rejected.extra_sans, 0);
  assert.equal(issuer.counters.failed, 1);
  assert.equal(issuer.issuerNotAfter, NOW + DAY);
});

test('constructor refuses a non-CA, bad options, and an issuer the bundle does not trust', async () => {
  const { ca, issuer } = await makeTestPki({ now: NOW });
  const other = await makeTestPki({ now: NOW });
  const w = await issueWorkload(issuer, ID);
  const leafKey = (await createWorkloadCsr(ID)).keys.privateKey;
  assert.throws(() => new WorkloadIssuer({ certPem: w.certChainPem[0], privateKey: leafKey }, ca.trustBundle), {
    code: 'FERRY_ERR_ISSUER_CONFIG',
  });
  assert.throws(() => new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, NOW), ttlMs: 10 }), { code: 'FERRY_ERR_ISSUER_CONFIG' });
  assert.throws(() => new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, NOW), ttlMs: 2 * DAY, maxTtlMs: DAY }), {
    code: 'FERRY_ERR_ISSUER_CONFIG',
  });
  assert.throws(() => new WorkloadIssuer(ca, other.ca.trustBundle, { clock: new FakeClock(0, NOW) }), { code: 'FERRY_ERR_CHAIN' });
});

test('replaceSigningCa: later certificates are signed by the new issuing CA; one the bundle does not trust is refused and the current one stays', async () => {
  const { ca, issuer } = await makeTestPki({ now: NOW });
  const otherRoot = await createRootCa({ now: NOW });
  const other = await createIntermediateCa(otherRoot, { now: NOW });
  assert.throws(() => issuer.replaceSigningCa(other), /not signed by any of 1 trusted roots/);
  assert.equal(issuer.signingCaPem, ca.certPem);
  assert.equal((await issueWorkload(issuer, ID)).certChainPem[1], ca.certPem);
  issuer.trustBundle.add(otherRoot.certPem);
  issuer.replaceSigningCa(other);
  assert.equal(issuer.signingCaPem, other.certPem);
  const w = await issueWorkload(issuer, ID);
  assert.equal(w.certChainPem[1], other.certPem);
  assert.equal(issuer.trustBundle.verifyChain(w.certChainPem, NOW).rootFingerprint256, new TrustBundle([otherRoot.certPem]).fingerprints[0]);
  assert.equal(issuer.issuerNotAfter, Math.min(other.cert.notAfter.getTime(), otherRoot.cert.notAfter.getTime()));
});
