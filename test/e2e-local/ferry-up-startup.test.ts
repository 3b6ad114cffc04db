// `ferry up` runs a container's startupProbe as the kubelet does: readiness waits for its first success,
// and failureThreshold failures in a row restart the container.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, startUp, stateDir, waitFor } from './ferry-up-process';

const DATA = join(REPO, 'test', 'e2e-local', 'testdata');

test('a pod whose startup probe passes after 2 s is not ready before then', { timeout: 60_000 }, async (t) => {
  const up = startUp(t, stateDir(t), ['-f', join(DATA, 'up-startup'), '--mode', 'bind']);
  const state = await up.ready();
  assert.deepEqual(state.pods.map((p) => [p.name, p.ready]), [['slow', true]]);
  const m = /✓ pod boot\/slow ready \(([\d.]+) s\)/.exec(up.output());
  assert.ok(m, up.output());
  assert.ok(Number(m[1]) >= 2, `ready after ${m[1]} s, before its startup probe could pass`);
  up.proc.kill('SIGTERM');
  assert.equal(await up.exited, 0, up.output());
});

test('a pod whose startup probe keeps failing is restarted, and never becomes ready', { timeout: 60_000 }, async (t) => {
  const up = startUp(t, stateDir(t), ['-f', join(DATA, 'up-stuck'), '--mode', 'bind', '--ready-timeout', '8']);
  await waitFor('the startup probe to restart the container', async () => /boot\/stuck: app failed its startup probe; restarting/.test(up.output()), 20_000);
  const code = await up.exited;
  assert.notEqual(code, 0, up.output());
  assert.match(up.output(), /stuck/);
});
