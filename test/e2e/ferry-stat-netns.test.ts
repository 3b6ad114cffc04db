// `ferry stat` and `ferry edges` on the shop in netns mode: real callers, both sides of each edge, the unmeshed namespace, TCP edges.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { EdgeEntry } from '../../src/controller/stats/mesh-stats';
import { netnsSkipReason } from '../../sidecar/init/netns.fixture';
import { FERRY, SHOP, startUp, stateDir, waitFor } from '../e2e-local/ferry-up-process';

const run = promisify(execFile);

async function ferry(args: string[]): Promise<string> {
  return (await run(process.execPath, [FERRY, ...args], { encoding: 'utf8', timeout: 15_000 })).stdout;
}

test('ferry stat on the shop (netns mode): every workload with its meshed pods and mTLS; edges seen from both sides with both identities', { timeout: 120_000 }, async (t) => {
  const why = netnsSkipReason(['iptables', 'iptables-restore', 'setpriv']);
  if (why) {
    process.stdout.write(`ferry stat netns test skipped: ${why}\n`);
    t.skip(why);
    return;
  }
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', SHOP, '--mode', 'netns']);
  await up.ready(60_000);

  // The load generator drives loadgen → frontend → catalog (three Deployments of app=catalog, each its own
  // workload: both sides name it, the caller from the callee's answer in the metadata exchange) and cart → store (opaque TCP).
  const edges = await waitFor('the loadgen → frontend and frontend → catalog-v1 edges from both sides', async () => {
    const list = JSON.parse(await ferry(['edges', '-o', 'json', '--state-dir', dir])) as EdgeEntry[];
    // Both edges, each with a window: the sidecars are scraped one by one, so one edge can have its first sample a scrape before the other.
    const seen = (source: string, destination: string): boolean => {
      const e = list.find((x) => x.source === source && x.destination === destination);
      return e !== undefined && (e.client?.rps ?? 0) > 0 && (e.server?.rps ?? 0) > 0;
    };
    return seen('shop/frontend', 'shop/catalog-v1') && seen('shop/loadgen', 'shop/frontend') ? list : null;
  }, 60_000);
  const fc = edges.find((x) => x.source === 'shop/frontend' && x.destination === 'shop/catalog-v1')!;
  assert.deepEqual([fc.clientIdentities, fc.serverIdentities, fc.mtls], [['spiffe://cluster.local/ns/shop/sa/frontend'], ['spiffe://cluster.local/ns/shop/sa/catalog'], 'mtls']);
  assert.ok(edges.some((x) => x.source === 'shop/loadgen' && x.destination === 'shop/frontend' && x.mtls === 'mtls'), `loadgen → frontend: ${JSON.stringify(edges)}`);

  const table = await ferry(['stat', '--state-dir', dir]);
  const row = (ns: string, name: string): string[] => {
    const line = table.split('\n').find((l) => l.split(/\s+/)[0] === ns && l.split(/\s+/)[1] === name);
    assert.ok(line, `no row ${ns}/${name}:\n${table}`);
    return line.split(/\s+/);
  };
  // NAMESPACE NAME MESHED SUCCESS RPS P50 P95 P99 TCP_CONN MTLS%
  const catalog = row('shop', 'catalog-v1');
  assert.equal(catalog[2], '1/1', 'each Deployment is its own workload');
  assert.equal(row('shop', 'catalog-v1-flaky')[2], '1/1');
  assert.ok(Number.parseFloat(catalog[4]) > 0, table);
  assert.equal(catalog[9], '100%');
  assert.deepEqual(row('legacy', 'ledger').slice(2), ['0/1', '-', '-', '-', '-', '-', '-', '-'], 'the unlabelled namespace runs without a sidecar');

  await waitFor('the cart → store TCP edge', async () => {
    const out = await ferry(['edges', '-n', 'shop', '--state-dir', dir]);
    return /^shop\/cart\s+→\s+shop\/store\s+spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart\s+spiffe:\/\/cluster\.local\/ns\/shop\/sa\/store\s+✓ mTLS/m.test(out);
  }, 30_000);
  const from = await ferry(['stat', '--from', 'frontend', '-n', 'shop', '--state-dir', dir]);
  assert.match(from, /^catalog-v1\s+-\s+\S+%\s+\S+rps/m, `the frontend's calls by destination:\n${from}`);
  assert.match(from, /^cart\s+-\s+/m);
});
