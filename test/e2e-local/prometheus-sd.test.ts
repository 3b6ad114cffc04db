// A real Prometheus discovers the mesh's sidecars from the controller's /api/targets (HTTP SD) and scrapes their metrics.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpGet, REPO, startUp, stateDir, waitFor } from './ferry-up-process';

const WEB = join(REPO, 'test', 'e2e-local', 'testdata', 'up-web');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('Prometheus with http_sd_configs on /api/targets scrapes every sidecar of a ferry up mesh', { timeout: 90_000 }, async (t) => {
  if (spawnSync('prometheus', ['--version']).error) {
    process.stdout.write('Prometheus SD test skipped: no prometheus binary (Debian package prometheus)\n');
    t.skip('no prometheus binary');
    return;
  }
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', WEB, '--mode', 'bind']);
  const state = await up.ready();
  const vip = state.services.find((s) => s.name === 'web')!.clusterIP;
  for (let i = 0; i < 10; i++) await httpGet(vip, 8080, '/items');

  const promDir = join(dir, 'prometheus');
  mkdirSync(promDir);
  const port = await freePort();
  writeFileSync(join(promDir, 'prometheus.yml'), [
    'global: {scrape_interval: 1s, evaluation_interval: 1s}',
    'scrape_configs:',
    '  - job_name: ferry-sidecars',
    `    http_sd_configs: [{url: 'http://${state.controller.admin}/api/targets', refresh_interval: 1s}]`,
    '',
  ].join('\n'));
  const prom = spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr!.on('data', (c: Buffer) => (log = (log + c.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((r) => prom.once('exit', () => r()));
  t.after(async () => {
    prom.kill('SIGTERM');
    await exited;
  });

  type Targets = { data: { activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string }[] } };
  const active = await waitFor('Prometheus to scrape both sidecars', async () => {
    const r = JSON.parse((await httpGet('127.0.0.1', port, '/api/v1/targets')).body) as Targets;
    const a = r.data.activeTargets;
    return a.length === 2 && a.every((x) => x.health === 'up') ? a : null;
  }, 30_000).catch((err: Error) => assert.fail(`${err.message}\n--- prometheus log ---\n${log}`));
  assert.deepEqual(active.map((a) => [a.scrapeUrl, a.labels.job, a.labels.namespace, a.labels.workload]).sort(), state.pods.map((p) => [`http://${p.sidecar!.stats}/stats/prometheus`, 'ferry-sidecars', 'demo', 'web']).sort());

  type Query = { data: { result: { value: [number, string] }[] } };
  const q = encodeURIComponent('sum(ferry_requests_total{reporter="destination",connection_security_policy="mutual_tls"})');
  const total = await waitFor('the mTLS requests in Prometheus', async () => {
    const r = JSON.parse((await httpGet('127.0.0.1', port, `/api/v1/query?query=${q}`)).body) as Query;
    const v = Number(r.data.result[0]?.value[1] ?? 0);
    return v >= 10 ? v : null;
  }, 20_000);
  assert.ok(total >= 10);
});
