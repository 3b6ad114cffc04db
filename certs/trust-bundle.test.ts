// Tests for the trust bundle: membership, chain verification against any root, and a root rotation step by step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { createIntermediateCa, signIntermediateCsr } from './intermediate-ca';
import { WorkloadIssuer } from './issuer';
import { createRootCa } from './root-ca';
import { issueWorkload, makeTestPki } from './test-pki.fixture';
import { ChainVerificationError, TrustBundle, TrustBundleError } from './trust-bundle';
import { EC_SIGN_ALG, generateKeyPair, x509 } from './x509';
import { FakeClock } from '../src/clock/fake-clock.fixture';

const H = 3600 * 1000;
const NOW = Date.UTC(2030, 0, 1);
const ID = 'spiffe://cluster.local/ns/default/sa/web';

function reason(r: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ChainVerificationError, String(err));
    assert.equal(err.reason, r, err.message);
    return true;
  };
}

test('add/remove/has/toPem, duplicates and non-roots', async () => {
  const a = await createRootCa({ now: NOW });
  const b = await createRootCa({ now: NOW });
  const bundle = new TrustBundle([a.certPem]);
  assert.equal(bundle.add(a.certPem), false, 'duplicate');
  assert.equal(bundle.add(b.certPem), true);
  assert.equal(bundle.size, 2);
  assert.equal(bundle.toPem(), a.certPem + b.certPem);
  assert.deepEqual(TrustBundle.fromPem(bundle.toPem()).fingerprints, bundle.fingerprints);
  assert.equal(bundle.has(new NodeX509(b.certPem).fingerprint256), true);
  assert.equal(bundle.remove(a.certPem), true);
  assert.equal(bundle.remove(a.certPem), false);
  assert.equal(bundle.has(a.certPem), false);
  assert.equal(bundle.toPem(), b.certPem);

  const ca = await createIntermediateCa(b, { now: NOW });
  assert.throws(() => bundle.add(ca.certPem), TrustBundleError, 'an intermediate is not a root');
  const { leafPem } = await leafFrom(ca, NOW);
  assert.throws(() => bundle.add(leafPem), TrustBundleError, 'a leaf is not a root');
  assert.throws(() => bundle.add(a.certPem + b.certPem), TrustBundleError);
  assert.throws(() => TrustBundle.fromPem('nothing'), TrustBundleError);
});

async function leafFrom(ca: Awaited<ReturnType<typeof createIntermediateCa>>, now: number, ttlMs?: number) {
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock: new FakeClock(0, now) });
  const w = await issueWorkload(issuer, ID, ttlMs);
  return { leafPem: w.certChainPem[0], chain: w.certChainPem };
}

test('verifyChain: good chain, with and without the root appended', async () => {
  const { root, ca } = await makeTestPki({ now: NOW });
  const { chain } = await leafFrom(ca, NOW);
  const v = ca.trustBundle.verifyChain(chain, NOW + H);
  assert.equal(v.rootFingerprint256, new NodeX509(root.certPem).fingerprint256);
  ca.trustBundle.verifyChain([...chain, root.certPem], NOW + H);
  ca.trustBundle.verifyChain(chain.join(''), NOW + H);
});

test('verifyChain: refusals', async () => {
  const { ca } = await makeTestPki({ now: NOW });
  const other = await makeTestPki({ now: NOW });
  const { chain, leafPem } = await leafFrom(ca, NOW, H);
  const b = ca.trustBundle;
  assert.throws(() => b.verifyChain([], NOW), reason('empty'));
  assert.throws(() => b.verifyChain(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'], NOW), reason('malformed'));
  assert.throws(() => b.verifyChain(chain, NOW + 2 * H), reason('expired'));
  assert.throws(() => b.verifyChain(chain, NOW - 2 * 60_000), reason('not_yet_valid'));
  assert.throws(() => b.verifyChain([leafPem], NOW), reason('untrusted'), 'leaf without its intermediate');
  assert.throws(() => b.verifyChain([leafPem, other.ca.certPem], NOW), reason('bad_signature'));
  const foreign = await leafFrom(other.ca, NOW);
  assert.throws(() => b.verifyChain(foreign.chain, NOW), reason('untrusted'));
  assert.throws(() => b.verifyChain([chain[0], chain[0]], NOW), reason('not_ca'));
});

test('verifyChain: pathLen 0 on the issuing CA forbids a CA below it', async () => {
  const { root, ca } = await makeTestPki({ now: NOW });
  // An issuing CA (pathLen 0) signs another CA: structurally a valid signature, but over the limit.
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=sub', keys, signingAlgorithm: EC_SIGN_ALG });
  const subPem = await signIntermediateCsr(ca, csr.toString('pem'), { now: NOW });
  const subCert = new x509.X509Certificate(subPem);
  const leafKeys = await generateKeyPair();
  const leaf = await x509.X509CertificateGenerator.create({
    issuer: subCert.subjectName,
    subject: 'CN=leaf',
    publicKey: leafKeys.publicKey,
    signingKey: keys.privateKey,
    notBefore: new Date(NOW),
    notAfter: new Date(NOW + H),
  });
  assert.throws(() => ca.trustBundle.verifyChain([leaf.toString('pem'), subPem, ca.certPem], NOW), reason('path_too_long'));
});

test('root rotation: add new root → switch issuer → remove old root; every step verified', async () => {
  const oldPki = await makeTestPki({ now: NOW });
  const bundle = oldPki.ca.trustBundle; // the live bundle the mesh distributes
  const oldIssuer = new WorkloadIssuer(oldPki.ca, bundle, { clock: new FakeClock(0, NOW) });
  const oldLeaf = await issueWorkload(oldIssuer, ID);
  bundle.verifyChain(oldLeaf.certChainPem, NOW);

  // Step 1: the new root joins the bundle; old certificates still verify; responses now carry both roots.
  const newRoot = await createRootCa({ now: NOW });
  bundle.add(newRoot.certPem);
  bundle.verifyChain(oldLeaf.certChainPem, NOW);
  const stillOld = await issueWorkload(oldIssuer, ID);
  assert.equal(stillOld.trustBundlePem, oldPki.root.certPem + newRoot.certPem);

  // Step 2: the issuer switches to an issuing CA under the new root; old and new leaves both verify.
  const newCa = await createIntermediateCa(newRoot, { now: NOW });
  const newIssuer = new WorkloadIssuer(newCa, bundle, { clock: new FakeClock(0, NOW) });
  const newLeaf = await issueWorkload(newIssuer, ID);
  assert.equal(bundle.verifyChain(newLeaf.certChainPem, NOW).rootFingerprint256, new NodeX509(newRoot.certPem).fingerprint256);
  bundle.verifyChain(oldLeaf.certChainPem, NOW);

  // Step 3: once every old leaf has been replaced, the old root leaves the bundle.
  assert.equal(bundle.remove(oldPki.root.certPem), true);
  bundle.verifyChain(newLeaf.certChainPem, NOW);
  assert.throws(() => bundle.verifyChain(oldLeaf.certChainPem, NOW), reason('untrusted'));
  assert.equal((await issueWorkload(newIssuer, ID)).trustBundlePem, newRoot.certPem);
  // An issuer under the removed root can no longer be started against this bundle.
  assert.throws(() => new WorkloadIssuer(oldPki.ca, bundle, { clock: new FakeClock(0, NOW) }), reason('untrusted'));
});
