// The root rotation's file steps on a real CA directory: add, switch, remove-old, in order only, each idempotent.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { certsIntermediateCommand, certsRootCommand } from './commands';
import { loadIntermediateCa } from './intermediate-ca';
import { rotateRootAdd, rotateRootRemoveOld, rotateRootSwitch, rotationState } from './rotate-root';
import { TrustBundle } from './trust-bundle';

function bundleOf(dir: string): TrustBundle {
  return TrustBundle.fromPem(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
}

test('rotate-root: add puts a new root beside the old, switch issues under it, remove-old leaves it alone; out of order is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rotate-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [root, ca, next] = ['root', 'ca', 'root-next'].map((d) => join(dir, d));
  await certsRootCommand({ outDir: root });
  await certsIntermediateCommand({ rootDir: root, outDir: ca });
  const oldFp = bundleOf(ca).fingerprints[0];
  const args = { caDir: ca, newRootDir: next };

  await assert.rejects(rotateRootSwitch(args), /CERTS_FILE|cannot read/, 'no new root yet');
  const added = await rotateRootAdd(args);
  assert.match(added, /created root CA/);
  const newFp = TrustBundle.fromPem(readFileSync(join(next, 'root-cert.pem'), 'utf8')).fingerprints[0];
  assert.deepEqual(bundleOf(ca).fingerprints, [oldFp, newFp]);
  const caPemBefore = readFileSync(join(ca, 'ca-cert.pem'), 'utf8');
  assert.equal((await rotationState(ca, next, Date.now())).switched, false, 'the CA still signs under the old root');
  assert.match(await rotateRootAdd(args), /already holds the new root/);
  assert.deepEqual(bundleOf(ca).fingerprints, [oldFp, newFp], 'a second add changes nothing');

  await assert.rejects(rotateRootRemoveOld(args), { code: 'FERRY_ERR_ROOT_ROTATION', message: /run ferry certs rotate-root switch first/ });
  assert.match(await rotateRootSwitch(args), /under the new root/);
  assert.notEqual(readFileSync(join(ca, 'ca-cert.pem'), 'utf8'), caPemBefore);
  const st = await rotationState(ca, next, Date.now());
  assert.equal(st.switched, true);
  assert.deepEqual(st.oldRoots, [oldFp]);
  assert.equal(new Set(bundleOf(ca).fingerprints).size, 2, 'both roots still trusted');
  assert.match(await rotateRootSwitch(args), /already chains to the new root/);

  assert.match(await rotateRootRemoveOld(args), /removed 1 old root/);
  assert.deepEqual(bundleOf(ca).fingerprints, [newFp]);
  const loaded = await loadIntermediateCa(ca);
  assert.equal(loaded.trustBundle.verifyChain([loaded.certPem], Date.now()).rootFingerprint256, newFp, 'the directory loads and chains to the new root');
  assert.match(await rotateRootRemoveOld(args), /rotation is complete/);
});

test('rotate-root switch before add is refused naming the step to run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-rotate-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [root, ca, next] = ['root', 'ca', 'root-next'].map((d) => join(dir, d));
  await certsRootCommand({ outDir: root });
  await certsIntermediateCommand({ rootDir: root, outDir: ca });
  await certsRootCommand({ outDir: next });
  await assert.rejects(rotateRootSwitch({ caDir: ca, newRootDir: next }), { code: 'FERRY_ERR_ROOT_ROTATION', message: /does not hold the new root yet: run ferry certs rotate-root add first/ });
});
