// Tests for the root CA: its certificate's shape, and saving/loading it with a private key file mode of 0600.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_ROOT_TTL_MS, ROOT_CERT_FILE, ROOT_KEY_FILE, createRootCa, loadRootCa, saveRootCa } from './root-ca';
import { x509 } from './x509';

const NOW = Date.UTC(2030, 0, 1);

test('createRootCa: self-signed P-256 CA, 10 years, pathLen 1, keyCertSign|cRLSign', async () => {
  const root = await createRootCa({ now: NOW });
  const c = root.cert;
  assert.match(c.subject, /^O=Ferry, CN=Ferry Root CA [0-9a-f]{8}$/);
  assert.equal(c.issuer, c.subject);
  assert.equal(c.notBefore.getTime(), NOW);
  assert.equal(c.notAfter.getTime(), NOW + DEFAULT_ROOT_TTL_MS);
  assert.deepEqual(c.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.pathLength, 1);
  assert.equal(bc?.critical, true);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  assert.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.ok(c.getExtension(x509.SubjectKeyIdentifierExtension));
  assert.equal(await c.isSelfSigned(), true);
  const node = new NodeX509(root.certPem);
  assert.equal(node.ca, true);
  assert.ok(node.checkIssued(node));
  assert.ok(node.verify(node.publicKey));
  assert.equal(node.serialNumber.replace(/^0+/, '').length >= 30, true, 'serial is ~128 random bits');
  const other = await createRootCa({ now: NOW });
  assert.notEqual(other.cert.subject, c.subject, 'each root has its own short id');
});

test('createRootCa honours ttl and pathLen, and refuses a nonsense ttl', async () => {
  const root = await createRootCa({ now: NOW, ttlMs: 3600_000, pathLen: 2 });
  assert.equal(root.cert.notAfter.getTime(), NOW + 3600_000);
  assert.equal(root.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength, 2);
  await assert.rejects(createRootCa({ ttlMs: 0 }), { code: 'FERRY_ERR_CERTS_TTL' });
  await assert.rejects(createRootCa({ ttlMs: Number.NaN }), { code: 'FERRY_ERR_CERTS_TTL' });
});

test('saveRootCa/loadRootCa round-trip; key file is 0600; a foreign key is refused', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-root-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const root = await createRootCa({ now: NOW });
  const { certFile, keyFile } = await saveRootCa(dir, root);
  assert.equal(certFile, path.join(dir, ROOT_CERT_FILE));
  assert.equal(keyFile, path.join(dir, ROOT_KEY_FILE));
  assert.equal((await fs.stat(keyFile)).mode & 0o777, 0o600);
  assert.equal((await fs.stat(certFile)).mode & 0o777, 0o644);
  assert.match(await fs.readFile(keyFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.deepEqual((await fs.readdir(dir)).sort(), [ROOT_CERT_FILE, ROOT_KEY_FILE].sort(), 'no temp files left');

  const loaded = await loadRootCa(dir);
  assert.equal(loaded.certPem, root.certPem);
  assert.equal(loaded.cert.subject, root.cert.subject);

  const other = await createRootCa({ now: NOW });
  const otherDir = path.join(dir, 'other');
  await saveRootCa(otherDir, other);
  await fs.copyFile(path.join(otherDir, ROOT_KEY_FILE), keyFile);
  await assert.rejects(loadRootCa(dir), /is not the key of root-cert.pem/);
  await assert.rejects(loadRootCa(path.join(dir, 'missing')), { code: 'FERRY_ERR_CERTS_FILE' });
});
