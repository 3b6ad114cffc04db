// `ferry stat` and `ferry edges` against a live `ferry up` mesh in bind mode: traffic through the mesh shows up as RPS and 100% mTLS.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { FERRY, httpGet, REPO, startUp, stateDir, waitFor } from './ferry-up-process';

const run = promisify(execFile);
const WEB = join(REPO, 'test', 'e2e-local', 'testdata', 'up-web');

async function ferry(args: string[]): Promise<string> {
  const r = await run(process.execPath, [FERRY, ...args], { encoding: 'utf8', timeout: 15_000 });
  return r.stdout;
}

test('ferry stat in a ferry up mesh: the workload shows non-zero RPS and 100% mTLS; ferry edges names both identities; /api/targets lists the sidecars', { timeout: 120_000 }, async (t) => {
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', WEB, '--mode', 'bind']);
  const state = await up.ready();
  const vip = state.services.find((s) => s.name === 'web')!.clusterIP;

  // Steady traffic through the outbound proxy and mTLS to the replicas while the controller scrapes (every 5 s).
  let sending = true;
  let sent = 0;
  const traffic = (async () => {
    while (sending) {
      await httpGet(vip, 8080, '/items').then(() => sent++, () => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  t.after(async () => {
    sending = false;
    await traffic;
  });

  const table = await waitFor('ferry stat to show traffic on demo/web', async () => {
    const out = await ferry(['stat', '-n', 'demo', '--state-dir', dir]);
    const row = out.split('\n').find((l) => l.startsWith('web '));
    const cells = row?.split(/\s+/) ?? [];
    // NAME MESHED SUCCESS RPS P50 P95 P99 TCP_CONN MTLS%
    return cells.length === 9 && Number.parseFloat(cells[3]) > 0 && cells[8] === '100%' ? out : null;
  }, 60_000);
  assert.match(table, /^NAME\s+MESHED\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN\s+MTLS%\n/);
  const cells = table.split('\n').find((l) => l.startsWith('web '))!.split(/\s+/);
  assert.equal(cells[1], '2/2', 'both replicas have a connected sidecar');
  assert.equal(cells[2], '100.00%');
  assert.match(cells[4], /^\d+(\.\d+)?ms$/, 'a p50 from the histogram buckets');
  assert.ok(sent > 0);

  // The same through -o json, and per pod.
  const rows = JSON.parse(await ferry(['stat', 'deploy', 'web', '-n', 'demo', '-o', 'json', '--state-dir', dir])) as { name: string; stats: { rps: number; mtlsShare: number } }[];
  assert.equal(rows.length, 1);
  assert.ok(rows[0].stats.rps > 0);
  const pods = await ferry(['stat', 'pod', '-n', 'demo', '--state-dir', dir]);
  assert.match(pods, /^web-0\s+1\/1\s/m);
  assert.match(pods, /^web-1\s+1\/1\s/m);

  // In bind mode every caller reaches services through the outbound proxy, so that is the client identity the pods saw.
  const edges = await ferry(['edges', '-n', 'demo', '--state-dir', dir]);
  assert.match(edges, /^ferry-system\/ferry-outbound\s+→\s+demo\/web\s+spiffe:\/\/cluster\.local\/ns\/ferry-system\/sa\/ferry-outbound\s+spiffe:\/\/cluster\.local\/ns\/demo\/sa\/web\s+✓ mTLS\s+\S+rps$/m);

  // Prometheus HTTP service discovery: one group per sidecar, at its stats address.
  const [host, port] = state.controller.admin.split(':');
  const sd = JSON.parse((await httpGet(host, Number(port), '/api/targets')).body) as { targets: string[]; labels: Record<string, string> }[];
  assert.deepEqual(sd.map((g) => [g.targets, g.labels.__metrics_path__, g.labels.pod]).sort(), state.pods.map((p) => [[p.sidecar!.stats], '/stats/prometheus', p.name]).sort());
  const bad = await httpGet(host, Number(port), '/api/stats?window=-1');
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.body), { error: 'window: "-1" is not a positive number of seconds' });
});

test('ferry stat without a running mesh or controller says where it looked and what to pass', async (t) => {
  const dir = stateDir(t);
  const r = await run(process.execPath, [FERRY, 'stat', '--state-dir', dir], { encoding: 'utf8' }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((r as { code: number }).code, 2);
  assert.match((r as { stderr: string }).stderr, new RegExp(`no running \`ferry up\` found under ${dir}; .*--controller http://HOST:PORT \\[FERRY_ERR_USAGE\\]`));
  const dead = await run(process.execPath, [FERRY, 'edges', '--controller', '127.0.0.1:1'], { encoding: 'utf8' }).catch((e: { code: number; stderr: string }) => e);
  assert.equal((dead as { code: number }).code, 1);
  assert.match((dead as { stderr: string }).stderr, /cannot reach the controller admin at 127\.0\.0\.1:1: .*ECONNREFUSED.*\[FERRY_ERR_ADMIN\]/);
});
