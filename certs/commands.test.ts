// Tests for `ferry certs root` / `ferry certs intermediate` as functions: files written, modes, refusals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { certsIntermediateCommand, certsRootCommand } from './commands';
import { loadIntermediateCa } from './intermediate-ca';
import { WorkloadIssuer } from './issuer';
import { issueWorkload } from './test-pki.fixture';
import { ConfigError } from '../src/errors';
import { FakeClock } from '../src/clock/fake-clock.fixture';

async function tmp(t: test.TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-certs-cmd-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('root then intermediate: files, modes, summary, and a usable issuer', async (t) => {
  const dir = await tmp(t);
  const rootDir = path.join(dir, 'root');
  const caDir = path.join(dir, 'ca');
  const rootOut = await certsRootCommand({ outDir: rootDir });
  assert.match(rootOut, /^root CA "O=Ferry, CN=Ferry Root CA [0-9a-f]{8}" valid \d{4}-\d\d-\d\d to \d{4}-/);
  assert.match(rootOut, /root-key\.pem/);
  assert.equal((await fs.stat(path.join(rootDir, 'root-key.pem'))).mode & 0o777, 0o600);

  const caOut = await certsIntermediateCommand({ rootDir, outDir: caDir, ttlDays: 30 });
  assert.match(caOut, /issuing CA "O=Ferry, CN=Ferry Issuing CA [0-9a-f]{8}" signed by "O=Ferry, CN=Ferry Root CA/);
  assert.match(caOut, /trust bundle: 1 root\(s\)/);
  assert.deepEqual((await fs.readdir(caDir)).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
  assert.equal((await fs.stat(path.join(caDir, 'ca-key.pem'))).mode & 0o777, 0o600);
  assert.equal(await fs.readFile(path.join(caDir, 'root-cert.pem'), 'utf8'), await fs.readFile(path.join(rootDir, 'root-cert.pem'), 'utf8'));

  const ca = await loadIntermediateCa(caDir);
  const w = await issueWorkload(new WorkloadIssuer(ca, ca.trustBundle), 'spiffe://cluster.local/ns/a/sa/b');
  ca.trustBundle.verifyChain(w.certChainPem, Date.now());
});

test('a CA key is never overwritten without --force', async (t) => {
  const dir = await tmp(t);
  await certsRootCommand({ outDir: dir });
  const key = await fs.readFile(path.join(dir, 'root-key.pem'), 'utf8');
  await assert.rejects(certsRootCommand({ outDir: dir }), { code: 'FERRY_ERR_CERTS_EXISTS' });
  assert.equal(await fs.readFile(path.join(dir, 'root-key.pem'), 'utf8'), key);
  await certsRootCommand({ outDir: dir, force: true });
  assert.notEqual(await fs.readFile(path.join(dir, 'root-key.pem'), 'utf8'), key);

  const caDir = path.join(dir, 'ca');
  await certsIntermediateCommand({ rootDir: dir, outDir: caDir });
  await assert.rejects(certsIntermediateCommand({ rootDir: dir, outDir: caDir }), { code: 'FERRY_ERR_CERTS_EXISTS' });
});

test('intermediate: lifetime clamped to the root is reported; --also-trust adds roots for a rotation', async (t) => {
  const dir = await tmp(t);
  const oldRoot = path.join(dir, 'old');
  const newRoot = path.join(dir, 'new');
  await certsRootCommand({ outDir: oldRoot, ttlDays: 10 });
  await certsRootCommand({ outDir: newRoot });
  const out = await certsIntermediateCommand({ rootDir: oldRoot, outDir: path.join(dir, 'ca1'), ttlDays: 365 });
  assert.match(out, /\(clamped to the root\)/);
  const out2 = await certsIntermediateCommand({
    rootDir: newRoot,
    outDir: path.join(dir, 'ca2'),
    alsoTrust: [path.join(oldRoot, 'root-cert.pem')],
  });
  assert.match(out2, /trust bundle: 2 root\(s\)/);
  assert.doesNotMatch(out2, /clamped/);
  const bundle = await fs.readFile(path.join(dir, 'ca2', 'root-cert.pem'), 'utf8');
  assert.ok(bundle.startsWith(await fs.readFile(path.join(newRoot, 'root-cert.pem'), 'utf8')));
  assert.ok(bundle.endsWith(await fs.readFile(path.join(oldRoot, 'root-cert.pem'), 'utf8')));
});

test('validity starts at the injected clock: root and intermediate dated by it, the clamp judged from it', async (t) => {
  const dir = await tmp(t);
  const clock = new FakeClock(0, Date.UTC(2031, 2, 4, 12));
  const rootDir = path.join(dir, 'root');
  assert.match(await certsRootCommand({ outDir: rootDir, ttlDays: 100, clock }), / valid 2031-03-04 to 2031-06-12\n/);
  clock.advance(10 * 24 * 3600_000);
  const out = await certsIntermediateCommand({ rootDir, outDir: path.join(dir, 'ca'), ttlDays: 95, clock });
  assert.match(out, / valid 2031-03-14 to 2031-06-12 \(clamped to the root\)\n/);
  const ok = await certsIntermediateCommand({ rootDir, outDir: path.join(dir, 'ca2'), ttlDays: 85, clock });
  assert.match(ok, / valid 2031-03-14 to 2031-06-07\n/);
});

test('bad arguments name the flag', async (t) => {
  const dir = await tmp(t);
  const cases: Array<[() => Promise<string>, string]> = [
    [() => certsRootCommand({ outDir: dir, ttlDays: 0 }), '--ttl-days'],
    [() => certsRootCommand({ outDir: dir, ttlDays: Number.NaN }), '--ttl-days'],
    [() => certsRootCommand({ outDir: '' }), '--out'],
    [() => certsIntermediateCommand({ rootDir: '', outDir: dir }), '--root'],
    [() => certsIntermediateCommand({ rootDir: dir, outDir: '' }), '--out'],
  ];
  for (const [run, flag] of cases) {
    await assert.rejects(run(), (err: unknown) => err instanceof ConfigError && err.path === flag);
  }
  await assert.rejects(certsIntermediateCommand({ rootDir: path.join(dir, 'nope'), outDir: path.join(dir, 'x') }), {
    code: 'FERRY_ERR_CERTS_FILE',
  });
});
