// `ferry controller --ca-dir … --token-key …` and `ferry token` end to end: CAs on disk → controller with mTLS → token → certificate.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createWorkloadCsr } from '../../../certs/csr';
import { certsIntermediateCommand, certsRootCommand } from '../../../certs/commands';
import { requestCertificate } from '../../../sidecar/identity/ca-client';
import { CLUSTER_TYPE } from '../../xds/type-urls';
import { controllerCommand } from '../command';
import { loadTokenKey, tokenCommand } from './ca-command';
import { probeAds } from './test-mesh.fixture';

const REGISTRY = path.join(__dirname, '..', '..', '..', '..', 'examples', 'mesh');

test('ferry controller --ca-dir --token-key: mTLS port with the CA; ferry token mints what it accepts', async (t) => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'ferry-ca-cmd-'));
  let stop!: () => void;
  const stopSignal = new Promise<void>((r) => (stop = r));
  let running: Promise<number> | null = null;
  t.after(async () => {
    stop();
    await running?.catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });
  await certsRootCommand({ outDir: path.join(dir, 'root') });
  await certsIntermediateCommand({ rootDir: path.join(dir, 'root'), outDir: path.join(dir, 'ca') });
  const keyFile = path.join(dir, 'token.key');

  const started = new Promise<{ xds: number }>((resolve) => {
    running = controllerCommand(
      [
        '--registry', `file:${REGISTRY}`,
        '--xds-address', '127.0.0.1:0',
        '--admin-address', '127.0.0.1:0',
        '--ca-dir', path.join(dir, 'ca'),
        '--trust-domain', 'mesh.test',
        '--token-key', keyFile,
        '--workload-ttl-seconds', '60',
        '--log-level', 'off',
      ],
      { translate: (() => ({ [CLUSTER_TYPE]: new Map() })) as never, onStarted: resolve, stopSignal },
    );
    running.catch(() => undefined);
  });
  const ports = await Promise.race([started, running!.then(() => assert.fail('controller exited'))]);
  // The controller created the key file, owner-only.
  assert.equal((await fs.stat(keyFile)).mode & 0o777, 0o600);

  let printed = '';
  assert.equal(await tokenCommand(['--namespace', 'shop', '--service-account', 'cart', '--token-key', keyFile, '--ttl-seconds', '600'], (s) => (printed += s)), 0);
  const token = printed.trim();
  assert.match(token, /^ferry\.v1\./);

  const bundle = await fs.readFile(path.join(dir, 'ca', 'root-cert.pem'), 'utf8');
  const id = 'spiffe://mesh.test/ns/shop/sa/cart';
  const csr = await createWorkloadCsr(id);
  const res = await requestCertificate({
    address: `127.0.0.1:${ports.xds}`,
    trustBundlePem: bundle,
    serverSpiffeId: 'spiffe://mesh.test/ns/ferry-system/sa/ferry-controller',
    token,
    csrPem: csr.csrPem,
    ttlSeconds: 0,
    timeoutMs: 5000,
  });
  assert.equal(res.certChain.length, 2);
  // --workload-ttl-seconds is the maximum: a CSR asking for 7 days gets 60 s.
  const asked = Date.now();
  const long = await requestCertificate({
    address: `127.0.0.1:${ports.xds}`,
    trustBundlePem: bundle,
    serverSpiffeId: 'spiffe://mesh.test/ns/ferry-system/sa/ferry-controller',
    token,
    csrPem: csr.csrPem,
    ttlSeconds: 7 * 24 * 3600,
    timeoutMs: 5000,
  });
  const notAfter = Date.parse(new X509Certificate(long.certChain[0]).validTo);
  assert.ok(notAfter <= Date.now() + 60_000, `notAfter ${new Date(notAfter).toISOString()}: more than 60 s`);
  assert.ok(notAfter >= Math.floor(asked / 1000) * 1000 + 59_000, `notAfter ${new Date(notAfter).toISOString()}`);
  // ADS needs a client certificate on this port.
  const anon = await probeAds(`127.0.0.1:${ports.xds}`, grpc.credentials.createSsl(Buffer.from(bundle), null, null, { checkServerIdentity: () => undefined }));
  assert.equal(anon.code, grpc.status.UNAUTHENTICATED);
  const mtls = grpc.credentials.createSsl(Buffer.from(bundle), Buffer.from(csr.privateKeyPem), Buffer.from(res.certChain.join('')), { checkServerIdentity: () => undefined });
  assert.ok((await probeAds(`127.0.0.1:${ports.xds}`, mtls)).response);
});

test('flag errors: CA and insecure exclude each other; one of them is needed; token flags', async () => {
  const cases: [string[], RegExp][] = [
    [['--registry', 'file:/x'], /--ca-dir DIR .* or --insecure-xds/],
    [['--registry', 'file:/x', '--insecure-xds', '--ca-dir', '/nope'], /exclude each other/],
  ];
  for (const [argv, re] of cases) await assert.rejects(controllerCommand(argv, { translate: (() => ({})) as never }), re, argv.join(' '));
  await assert.rejects(tokenCommand(['--namespace', 'shop']), /--service-account/);
  await assert.rejects(tokenCommand(['--namespace', 'a/b', '--service-account', 'x', '--token-key', '/nope']), /--namespace/);
  await assert.rejects(loadTokenKey('/nonexistent/ferry-token.key'), /cannot read the token key/);
});
