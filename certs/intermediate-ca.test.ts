// Tests for the issuing CA: signed by the root from a CSR, pathLen 0, lifetime clamped to the root, files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CERT_CHAIN_FILE,
  DEFAULT_INTERMEDIATE_TTL_MS,
  TRUST_BUNDLE_FILE,
  createIntermediateCa,
  loadIntermediateCa,
  saveIntermediateCa,
} from './intermediate-ca';
import { createRootCa } from './root-ca';
import { x509 } from './x509';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2030, 0, 1);

test('createIntermediateCa: CA with pathLen 0 under the root, 1 year, chain verifies with Node', async () => {
  const root = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW });
  assert.match(ca.cert.subject, /^O=Ferry, CN=Ferry Issuing CA [0-9a-f]{8}$/);
  assert.equal(ca.cert.issuer, root.cert.subject);
  assert.equal(ca.cert.notAfter.getTime() - ca.cert.notBefore.getTime(), DEFAULT_INTERMEDIATE_TTL_MS);
  const bc = ca.cert.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.pathLength, 0);
  assert.equal(ca.cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  const aki = ca.cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  assert.equal(aki?.keyId, root.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);

  const inter = new NodeX509(ca.certPem);
  const rootNode = new NodeX509(root.certPem);
  assert.ok(inter.checkIssued(rootNode));
  assert.ok(inter.verify(rootNode.publicKey));
  const otherRoot = new NodeX509((await createRootCa({ now: NOW })).certPem);
  assert.equal(inter.verify(otherRoot.publicKey), false);
  assert.equal(ca.chainPem, ca.certPem + root.certPem);
  assert.deepEqual(ca.trustBundle.rootPems, [root.certPem]);
});

test('createIntermediateCa clamps its lifetime to the root and refuses an expired root', async () => {
  const root = await createRootCa({ now: NOW, ttlMs: 30 * DAY });
  const ca = await createIntermediateCa(root, { now: NOW + 10 * DAY });
  assert.equal(ca.cert.notAfter.getTime(), root.cert.notAfter.getTime());
  const short = await createIntermediateCa(root, { now: NOW, ttlMs: 5 * DAY });
  assert.equal(short.cert.notAfter.getTime(), NOW + 5 * DAY);
  await assert.rejects(createIntermediateCa(root, { now: NOW + 31 * DAY }), { code: 'FERRY_ERR_CA_SIGNING' });
  await assert.rejects(createIntermediateCa(root, { now: NOW - DAY }), { code: 'FERRY_ERR_CA_SIGNING' });
});

test('saveIntermediateCa/loadIntermediateCa round-trip with 0600 key and the trust bundle', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-ica-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const root = await createRootCa({ now: NOW });
  const extra = await createRootCa({ now: NOW });
  const ca = await createIntermediateCa(root, { now: NOW, extraRootPems: [extra.certPem] });
  await saveIntermediateCa(dir, ca);
  assert.deepEqual((await fs.readdir(dir)).sort(), [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, TRUST_BUNDLE_FILE].sort());
  assert.equal((await fs.stat(path.join(dir, CA_KEY_FILE))).mode & 0o777, 0o600);
  assert.equal(await fs.readFile(path.join(dir, TRUST_BUNDLE_FILE), 'utf8'), root.certPem + extra.certPem);
  const loaded = await loadIntermediateCa(dir, NOW + DAY);
  assert.equal(loaded.certPem, ca.certPem);
  assert.equal(loaded.chainPem, ca.chainPem);
  assert.equal(loaded.trustBundle.size, 2);
  await assert.rejects(loadIntermediateCa(dir, NOW + 400 * DAY), { code: 'FERRY_ERR_CHAIN', reason: 'expired' });
});
