// The controller follows its CA directory: a root added, a new issuing CA, the old root removed — and a directory that does not load is ignored.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { certsIntermediateCommand, certsRootCommand } from '../../../certs/commands';
import { createWorkloadCsr } from '../../../certs/csr';
import { loadIntermediateCa } from '../../../certs/intermediate-ca';
import { WorkloadIssuer } from '../../../certs/issuer';
import { rotateRootAdd, rotateRootRemoveOld, rotateRootSwitch } from '../../../certs/rotate-root';
import { TrustBundle } from '../../../certs/trust-bundle';
import { systemClock } from '../../clock/clock';
import { Logger } from '../../observability/logger';
import { CaDirWatcher } from './ca-dir-watcher';
import { ServingIdentity } from './serving-identity';

const CART = 'spiffe://cluster.local/ns/shop/sa/cart';

test('CaDirWatcher: each rotate-root step reaches the live issuer, its bundle and the serving certificate; a broken directory changes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ca-watch-'));
  const [root, caDir, next] = ['root', 'ca', 'root-next'].map((d) => join(dir, d));
  await certsRootCommand({ outDir: root });
  await certsIntermediateCommand({ rootDir: root, outDir: caDir });
  const ca = await loadIntermediateCa(caDir);
  const issuer = new WorkloadIssuer(ca, ca.trustBundle);
  const logger = new Logger('test', 'off');
  const serving = new ServingIdentity({ issuer, trustDomain: 'cluster.local', namespace: 'ferry-system', logger });
  await serving.start();
  const watcher = new CaDirWatcher({ dir: caDir, issuer, serving, clock: systemClock, logger, intervalMs: 3_600_000 });
  await watcher.start();
  t.after(() => {
    watcher.stop();
    serving.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const oldFp = issuer.trustBundle.fingerprints[0];
  const chainRoot = async (): Promise<string> => {
    const csr = await createWorkloadCsr(CART);
    const issued = await issuer.sign(csr.csrPem, CART);
    return TrustBundle.fromPem(issued.trustBundlePem).verifyChain(issued.certChainPem, Date.now()).rootFingerprint256;
  };

  assert.equal(await watcher.check(), null, 'nothing changed');
  await rotateRootAdd({ caDir, newRootDir: next });
  const newFp = TrustBundle.fromPem(readFileSync(join(next, 'root-cert.pem'), 'utf8')).fingerprints[0];
  const serial0 = serving.current!.serialNumber;
  assert.deepEqual(await watcher.check(), { rootsAdded: [newFp], rootsRemoved: [], issuerReplaced: false });
  assert.deepEqual(issuer.trustBundle.fingerprints, [oldFp, newFp]);
  assert.equal(await chainRoot(), oldFp, 'still signing under the old root');
  assert.notEqual(serving.current!.serialNumber, serial0, 'the serving certificate was re-issued with the new bundle');

  // A key that does not belong to the certificate (a directory caught mid-write): refused, nothing changes.
  const goodKey = readFileSync(join(caDir, 'ca-key.pem'), 'utf8');
  writeFileSync(join(caDir, 'ca-key.pem'), readFileSync(join(next, 'root-key.pem'), 'utf8'));
  assert.equal(await watcher.check(), null);
  assert.equal(await chainRoot(), oldFp);
  writeFileSync(join(caDir, 'ca-key.pem'), goodKey);
  assert.equal(await watcher.check(), null, 'back as loaded: nothing to do');

  await rotateRootSwitch({ caDir, newRootDir: next });
  assert.deepEqual(await watcher.check(), { rootsAdded: [], rootsRemoved: [], issuerReplaced: true });
  assert.equal(await chainRoot(), newFp, 'new certificates chain to the new root');
  assert.equal(TrustBundle.fromPem(issuer.trustBundle.toPem()).size, 2);
  assert.equal(new TrustBundle(issuer.trustBundle.rootPems).verifyChain(serving.current!.certChainPem as string[], Date.now()).rootFingerprint256, newFp, "the controller's own certificate too");

  await rotateRootRemoveOld({ caDir, newRootDir: next });
  assert.deepEqual(await watcher.check(), { rootsAdded: [], rootsRemoved: [oldFp], issuerReplaced: false });
  assert.deepEqual(issuer.trustBundle.fingerprints, [newFp]);
  assert.equal(await chainRoot(), newFp);
});
