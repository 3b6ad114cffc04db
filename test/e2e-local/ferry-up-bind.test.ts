// `ferry up --mode bind`: manifests become a loopback mesh with the controller's CA, STRICT mTLS between sidecars, and nothing left after it stops or crashes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import type { RunRecordData } from '../../src/os/run-record';
import { alive, httpGet, REPO, sleep, startUp, stateDir, waitFor } from './ferry-up-process';

const WEB = join(REPO, 'test', 'e2e-local', 'testdata', 'up-web');

test('ferry up in bind mode: the service answers over mTLS from both replicas; plaintext to a pod is refused; SIGTERM removes everything', { timeout: 60_000 }, async (t) => {
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', WEB, '--mode', 'bind']);
  const state = await up.ready();
  assert.match(up.output(), /bind mode — no capture/);
  assert.match(up.output(), /✓ controller/);
  assert.equal(state.mode, 'bind');
  assert.deepEqual(state.pods.map((p) => [p.name, p.meshed, p.ready]), [['web-0', true, true], ['web-1', true, true]]);
  const vip = state.services.find((s) => s.name === 'web')!.clusterIP;

  // Through the outbound proxy and mTLS to either replica's sidecar, then its app.
  const seen = new Set<string>();
  await waitFor('both replicas to answer through the service address', async () => {
    const r = await httpGet(vip, 8080, '/items');
    if (r.status === 200) seen.add((JSON.parse(r.body) as { pod: string }).pod);
    return seen.size === 2;
  });
  const pod = state.pods[0];
  const [host, port] = pod.sidecar!.stats.split(':');
  const text = (await httpGet(host, Number(port), '/metrics')).body;
  const mtls = sumWhere(parsePrometheusText(text), 'ferry_requests_total', {
    reporter: 'destination',
    connection_security_policy: 'mutual_tls',
    source_principal: 'spiffe://cluster.local/ns/ferry-system/sa/ferry-outbound',
    response_code: '200',
  });
  assert.ok(mtls >= 1, `web-0's sidecar counted no mTLS request:\n${text.split('\n').filter((l) => l.startsWith('ferry_requests_total')).join('\n')}`);

  // STRICT: plaintext straight to the pod's workload port never reaches the app.
  const plain = await httpGet(pod.ip, 8080, '/items', 2000).catch((err: Error) => err);
  assert.ok(plain instanceof Error || plain.status !== 200, `plaintext got ${JSON.stringify(plain)}`);

  const record = JSON.parse(readFileSync(join(state.dir, 'record.json'), 'utf8')) as RunRecordData;
  assert.ok(record.processes.length >= 6, `recorded ${record.processes.length} processes`);
  up.proc.kill('SIGTERM');
  assert.equal(await up.exited, 0, up.output());
  assert.match(up.output(), /stopped; removed 2 pods/);
  assert.deepEqual(record.processes.filter((p) => alive(p.pid)).map((p) => p.name), [], 'processes left running');
  assert.ok(!existsSync(join(state.dir, 'record.json')), 'the record is removed once everything is undone');
  assert.ok(!existsSync(join(state.dir, 'pki')), 'the CA keys are removed');
  assert.ok(existsSync(pod.logs.web), 'logs are kept');
});

test('ferry up after a kill -9: the next run removes the processes the crashed one recorded', { timeout: 60_000 }, async (t) => {
  const dir = stateDir(t);
  const first = startUp(t, dir, ['-f', WEB, '--mode', 'bind']);
  const state = await first.ready();
  const record = JSON.parse(readFileSync(join(state.dir, 'record.json'), 'utf8')) as RunRecordData;
  first.proc.kill('SIGKILL');
  await first.exited;
  const orphans = record.processes.filter((p) => alive(p.pid));
  assert.ok(orphans.length >= 5, 'the crashed run left its controller, sidecars and apps running');

  const second = startUp(t, dir, ['-f', WEB, '--mode', 'bind', '--duration', '1']);
  assert.equal(await second.exited, 0, second.output());
  assert.match(second.output(), new RegExp(`removed what a crashed run left: ${state.dir.split('/').pop()} \\(owner pid ${record.owner.pid}\\): ${record.processes.length} processes`));
  await sleep(200);
  assert.deepEqual(orphans.filter((p) => alive(p.pid)).map((p) => p.name), [], 'processes of the crashed run still alive');
});

test('ferry up with a bad manifest: exit 1, the error names file, line and field, and nothing is started', { timeout: 30_000 }, async (t) => {
  const dir = stateDir(t);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'web.yaml'), readFileSync(join(WEB, 'web.yaml'), 'utf8').replace('        ports: [{name: http, containerPort: 8080}]', '        ports: [{name: http, containerPort: 8080}]\n        securityContext: {runAsUser: 1000}'));
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'ferry'), 'up', '-f', bad, '--state-dir', join(dir, 'state')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /web\.yaml:\d+: document 2: Deployment demo\/web: spec\.template\.spec\.containers\[0\]\.securityContext: is not supported by ferry up \[FERRY_ERR_UNSUPPORTED\]/);
  assert.equal(existsSync(join(dir, 'state')), false, 'no run folder was made');
});
