// Tests for workload CSR creation and validation (each refusal reason has a case).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { CsrRejectedError, MAX_CSR_PEM_LENGTH, createWorkloadCsr, validateCsr } from './csr';
import { TAG, children, raw, readWhole, tlv } from './der';
import { SpiffeIdError } from './spiffe';
import { EC_SIGN_ALG, generateKeyPair, x509 } from './x509';

const ID = 'spiffe://cluster.local/ns/default/sa/web';

async function csrWith(params: {
  sans?: x509.JsonGeneralNames;
  extraExtensions?: x509.Extension[];
  keys?: webcrypto.CryptoKeyPair;
  signingAlgorithm?: unknown;
}): Promise<string> {
  const extensions: x509.Extension[] = [];
  if (params.sans) extensions.push(new x509.SubjectAlternativeNameExtension(params.sans));
  extensions.push(...(params.extraExtensions ?? []));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=whatever',
    keys: (params.keys ?? (await generateKeyPair())) as never,
    signingAlgorithm: (params.signingAlgorithm ?? EC_SIGN_ALG) as never,
    extensions,
  });
  return csr.toString('pem');
}

async function rejects(csrPem: string, reason: string, expected = ID): Promise<void> {
  await assert.rejects(validateCsr(csrPem, expected), (err: unknown) => {
    assert.ok(err instanceof CsrRejectedError, `expected CsrRejectedError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.equal(err.code, 'FERRY_ERR_CSR_REJECTED');
    return true;
  });
}

test('createWorkloadCsr makes a P-256 CSR with only the URI SAN, which validates', async () => {
  const { csrPem, keys, privateKeyPem } = await createWorkloadCsr(ID);
  assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(keys.privateKey.type, 'private');
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.equal(csr.subject, '');
  const ext = csr.getExtension('2.5.29.17');
  assert.ok(ext);
  assert.deepEqual(new x509.SubjectAlternativeNameExtension(ext.rawData).names.toJSON(), [{ type: 'url', value: ID }]);
  const ok = await validateCsr(csrPem, ID);
  assert.equal(ok.spiffeId, ID);
  assert.equal(new x509.PublicKey(ok.spki).algorithm.name, 'ECDSA');
  assert.deepEqual(ok.spki, Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData));
});

test('createWorkloadCsr refuses an invalid SPIFFE ID', async () => {
  await assert.rejects(createWorkloadCsr('spiffe://Bad/ns/a/sa/b'), SpiffeIdError);
});

test('validateCsr accepts a CSR whose subject is set (the subject is ignored)', async () => {
  await validateCsr(await csrWith({ sans: [{ type: 'url', value: ID }] }), ID);
});

test('validateCsr ignores non-extension attributes and harmless extensions', async () => {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_SIGN_ALG,
    attributes: [new x509.ChallengePasswordAttribute('secret')],
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: ID }]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
      new x509.BasicConstraintsExtension(false),
    ],
  });
  assert.equal((await validateCsr(csr.toString('pem'), ID)).spiffeId, ID);
});

test('validateCsr refuses, with a stable reason', async (t) => {
  await t.test('identity_mismatch: another workload', async () => {
    const { csrPem } = await createWorkloadCsr('spiffe://cluster.local/ns/default/sa/db');
    await rejects(csrPem, 'identity_mismatch');
  });
  await t.test('identity_mismatch: another trust domain', async () => {
    const { csrPem } = await createWorkloadCsr('spiffe://evil.example/ns/default/sa/web');
    await rejects(csrPem, 'identity_mismatch');
  });
  await t.test('extra_sans: URI plus DNS', async () => {
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }, { type: 'dns', value: 'web.default.svc' }] }), 'extra_sans');
  });
  await t.test('extra_sans: URI plus IP', async () => {
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }, { type: 'ip', value: '10.0.0.1' }] }), 'extra_sans');
  });
  await t.test('extra_sans: URI plus email', async () => {
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }, { type: 'email', value: 'a@b.c' }] }), 'extra_sans');
  });
  await t.test('extra_sans: two URIs, one of them right', async () => {
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }, { type: 'url', value: 'spiffe://cluster.local/ns/kube-system/sa/admin' }] }), 'extra_sans');
  });
  await t.test('extra_sans: two SAN extensions', async () => {
    const second = new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'x' }]);
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], extraExtensions: [second] }), 'extra_sans');
  });
  await t.test('missing_identity: no SAN', async () => {
    await rejects(await csrWith({}), 'missing_identity');
  });
  await t.test('missing_identity: DNS SAN only', async () => {
    await rejects(await csrWith({ sans: [{ type: 'dns', value: 'web' }] }), 'missing_identity');
  });
  await t.test('ca_requested: basicConstraints CA', async () => {
    const bc = new x509.BasicConstraintsExtension(true, 0, true);
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], extraExtensions: [bc] }), 'ca_requested');
  });
  await t.test('wrong_key_type: P-384', async () => {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } }), 'wrong_key_type');
  });
  await t.test('wrong_key_type: RSA', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], keys, signingAlgorithm: alg }), 'wrong_key_type');
  });
  await t.test('wrong_signature_algorithm: P-256 key signed with SHA-384', async () => {
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } }), 'wrong_signature_algorithm');
  });
  await t.test('bad_signature: signed by a key other than the one in the CSR', async () => {
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    await rejects(await csrWith({ sans: [{ type: 'url', value: ID }], keys: { publicKey: a.publicKey, privateKey: b.privateKey } }), 'bad_signature');
  });
  await t.test('bad_signature: content changed after signing', async () => {
    const { csrPem } = await createWorkloadCsr('spiffe://cluster.local/ns/default/sa/wex');
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    const at = der.indexOf(Buffer.from('sa/wex'));
    assert.ok(at > 0);
    der.write('sa/web', at); // now claims the expected identity, but the signature covers "wex"
    await rejects(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'), 'bad_signature');
  });
  await t.test('malformed: not PEM', async () => {
    await rejects('hello', 'malformed');
  });
  await t.test('malformed: garbage inside PEM armour', async () => {
    await rejects(x509.PemConverter.encode(Buffer.from('not a csr at all'), 'CERTIFICATE REQUEST'), 'malformed');
  });
  await t.test('malformed: truncated', async () => {
    const { csrPem } = await createWorkloadCsr(ID);
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem));
    await rejects(x509.PemConverter.encode(der.subarray(0, der.length - 10), 'CERTIFICATE REQUEST'), 'malformed');
  });
  await t.test('malformed: trailing bytes after the CSR', async () => {
    const { csrPem } = await createWorkloadCsr(ID);
    const der = Buffer.concat([Buffer.from(x509.PemConverter.decodeFirst(csrPem)), Buffer.from([0])]);
    await rejects(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'), 'malformed');
  });
  await t.test('malformed: the signature AlgorithmIdentifier is not well-formed DER', async () => {
    const { csrPem } = await createWorkloadCsr(ID);
    const [info, , sig] = children(readWhole(Buffer.from(x509.PemConverter.decodeFirst(csrPem))));
    // SEQUENCE { OID of length 5 with one byte of content }: the outer structure parses, its inside does not.
    const der = tlv(TAG.SEQUENCE, raw(info), Buffer.from([0x30, 0x03, 0x06, 0x05, 0x2a]), raw(sig));
    await rejects(x509.PemConverter.encode(der, 'CERTIFICATE REQUEST'), 'malformed');
  });
  await t.test('too_large', async () => {
    await rejects('-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(MAX_CSR_PEM_LENGTH), 'too_large');
  });
});

test('validateCsr refuses an ill-formed expected identity as a caller error, not a CSR rejection', async () => {
  const { csrPem } = await createWorkloadCsr(ID);
  await assert.rejects(validateCsr(csrPem, 'spiffe://cluster.local/ns/default/sa/'), SpiffeIdError);
});
