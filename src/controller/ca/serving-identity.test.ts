// The controller's serving identity on a fake clock: the first certificate at start, the renewal at the
// rotation point of its lifetime (not a moment earlier), listeners told of each one, nothing left after stop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { WorkloadIssuer } from '../../../certs/issuer';
import { makeTestPki } from '../../../certs/test-pki.fixture';
import { FakeClock } from '../../clock/fake-clock.fixture';
import { Logger } from '../../observability/logger';
import { ServingIdentity } from './serving-identity';
import { TEST_CONTROLLER_ID, TEST_SYSTEM_NAMESPACE, TEST_TRUST_DOMAIN } from './test-mesh.fixture';

const NOW = Date.UTC(2026, 0, 1);
const H = 3600_000;

test('renews at half of a 10 h lifetime (random 0.5) on the injected clock, and stops cleanly', { timeout: 30_000 }, async () => {
  const clock = new FakeClock(0, NOW);
  const { ca } = await makeTestPki({ now: NOW });
  const issuer = new WorkloadIssuer(ca, ca.trustBundle, { clock, backdateMs: 0 });
  const serving = new ServingIdentity({
    issuer,
    trustDomain: TEST_TRUST_DOMAIN,
    namespace: TEST_SYSTEM_NAMESPACE,
    ttlMs: 10 * H,
    random: () => 0.5,
    clock,
    logger: new Logger('test', 'off'),
  });
  await serving.start();
  const first = serving.current!;
  assert.equal(new X509Certificate(first.certChainPem[0]).subjectAltName, `URI:${TEST_CONTROLLER_ID}`);
  assert.deepEqual([first.notBefore, first.notAfter], [NOW, NOW + 10 * H]);
  assert.equal(clock.pending, 1, 'one renewal timer');

  const updates: string[] = [];
  let renewed!: () => void;
  const second = new Promise<void>((resolve) => (renewed = resolve));
  serving.addIdentityCertificateListener((u) => {
    updates.push(new X509Certificate(u!.certificate).serialNumber);
    if (updates.length === 2) renewed();
  });
  await new Promise((r) => process.nextTick(r)); // the listener hears the current certificate first

  clock.advance(5 * H - 1);
  assert.equal(serving.current, first, 'not renewed before the rotation point');
  clock.advance(1);
  await second;
  const next = serving.current!;
  assert.notEqual(next.serialNumber, first.serialNumber);
  assert.deepEqual([next.notBefore, next.notAfter], [NOW + 5 * H, NOW + 15 * H], 'issued at the fake wall time');
  assert.equal(updates.length, 2);
  assert.equal(clock.pending, 1, 'the next renewal is scheduled');

  serving.stop();
  assert.equal(clock.pending, 0);
});
