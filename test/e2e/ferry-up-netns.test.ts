// `ferry up` in netns mode runs the shop: injected pods in namespaces with capture, STRICT mTLS, the AccessPolicy, and no namespace, link or process left after SIGTERM or kill -9.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { netnsSkipReason } from '../../sidecar/init/netns.fixture';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { listByPrefix } from '../../src/os/netns';
import type { RunRecordData } from '../../src/os/run-record';
import { alive, httpGet, REPO, SHOP, startUp, stateDir, waitFor, type UpState } from '../e2e-local/ferry-up-process';
import { FETCH } from './pod-programs';

const FRONTEND_ID = 'spiffe://cluster.local/ns/shop/sa/frontend';

function skip(t: TestContext): boolean {
  const why = netnsSkipReason(['iptables', 'iptables-restore', 'setpriv']);
  if (why) {
    process.stdout.write(`ferry up netns tests skipped: ${why}\n`);
    t.skip(why);
  }
  return why !== null;
}

function metrics(state: UpState, pod: string): Promise<string> {
  const [host, port] = state.pods.find((p) => p.name === pod)!.sidecar!.stats.split(':');
  return httpGet(host, Number(port), '/metrics').then((r) => r.body);
}

/** What the run made that `ip` can still see. */
function leftovers(n: number): { namespaces: string[]; links: string[] } {
  const a = listByPrefix(`ferry-up-${n}-`);
  const b = listByPrefix(`ferry-up${n}`);
  const c = listByPrefix(`fu${n}-`);
  return { namespaces: [...a.namespaces], links: [...b.links, ...c.links] };
}

test('ferry up (netns mode) runs the shop: the frontend gets answers over mTLS, only the frontend may call the catalog', { timeout: 90_000 }, async (t) => {
  if (skip(t)) return;
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', SHOP, '--mode', 'netns']);
  const state = await up.ready(60_000);
  const n = (JSON.parse(readFileSync(join(state.dir, 'state.json'), 'utf8')) as { addressIndex: number }).addressIndex;
  assert.match(up.output(), /netns mode — each pod in its own network namespace/);
  const ledger = state.pods.find((p) => p.name === 'ledger-0')!;
  assert.equal(ledger.meshed, false);
  assert.match(ledger.notMeshedBecause ?? '', /injection not enabled/);
  assert.ok(state.pods.filter((p) => p.namespace === 'shop').every((p) => p.meshed && p.netns !== null));

  // The load generator's calls reach the frontend, which reaches the catalog and the cart over mTLS.
  await waitFor('the catalog sidecars to count mTLS requests from the frontend', async () => {
    let total = 0;
    for (const pod of ['catalog-v1-0', 'catalog-v1-flaky-0', 'catalog-v2-0']) {
      total += sumWhere(parsePrometheusText(await metrics(state, pod)), 'ferry_requests_total', {
        reporter: 'destination',
        source_principal: FRONTEND_ID,
        connection_security_policy: 'mutual_tls',
      });
    }
    return total >= 5;
  }, 20_000);
  // Read until it shows: the frontend counts an answer when it is written, after its own calls were counted by the catalogs.
  const answered = await waitFor('the frontend to count an mTLS answer to the load generator', async () => {
    const frontend = parsePrometheusText(await metrics(state, 'frontend-0'));
    return sumWhere(frontend, 'ferry_requests_total', { reporter: 'destination', connection_security_policy: 'mutual_tls', response_code: '200' }) >= 1 ? true : null;
  }, 20_000).catch(() => false);
  assert.ok(answered, 'the frontend answered the load generator over mTLS');
  const store = parsePrometheusText(await metrics(state, 'store-0'));
  assert.ok(sumWhere(store, 'ferry_tcp_connections_opened_total', { reporter: 'destination', connection_security_policy: 'mutual_tls' }) >= 1, 'cart → store went over mTLS as opaque TCP');
  const loadgenLog = readFileSync(state.pods.find((p) => p.name === 'loadgen')!.logs.loadgen, 'utf8');
  assert.match(loadgenLog, /loadgen → frontend/);

  // The AccessPolicy: the load generator (not the frontend) calling the catalog gets 403 from the catalog's sidecar.
  const loadgen = state.pods.find((p) => p.name === 'loadgen')!;
  const catalog = state.services.find((s) => s.name === 'catalog')!;
  const denied = spawnSync('ip', ['netns', 'exec', loadgen.netns!, process.execPath, '-e', FETCH, catalog.clusterIP, '8080', '/items'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(denied.stdout.split('\n')[0], '403', `loadgen → catalog: ${denied.stdout}${denied.stderr}`);

  // STRICT: the host (no sidecar) reaching a pod in plaintext is refused.
  const frontendPod = state.pods.find((p) => p.name === 'frontend-0')!;
  const plain = await httpGet(frontendPod.ip, 8080, '/', 2000).catch((err: Error) => err);
  assert.ok(plain instanceof Error || plain.status !== 200, `plaintext from the host got ${JSON.stringify(plain)}`);

  const record = JSON.parse(readFileSync(join(state.dir, 'record.json'), 'utf8')) as RunRecordData;
  assert.equal(leftovers(n).namespaces.length, 8);
  up.proc.kill('SIGINT');
  assert.equal(await up.exited, 0, up.output());
  assert.deepEqual(leftovers(n), { namespaces: [], links: [] });
  assert.deepEqual(record.processes.filter((p) => alive(p.pid)).map((p) => p.name), []);
});

test('ferry up (netns mode) after a kill -9: the next run deletes the namespaces, links and processes left behind', { timeout: 90_000 }, async (t) => {
  if (skip(t)) return;
  const dir = stateDir(t);
  const web = join(REPO, 'test', 'e2e-local', 'testdata', 'up-web');
  const first = startUp(t, dir, ['-f', web, '--mode', 'netns']);
  const state = await first.ready();
  const n = (JSON.parse(readFileSync(join(state.dir, 'state.json'), 'utf8')) as { addressIndex: number }).addressIndex;
  const record = JSON.parse(readFileSync(join(state.dir, 'record.json'), 'utf8')) as RunRecordData;
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.equal(leftovers(n).namespaces.length, 2, 'the crashed run left its namespaces');

  const second = startUp(t, dir, ['-f', web, '--mode', 'netns', '--duration', '1']);
  assert.equal(await second.exited, 0, second.output());
  assert.match(second.output(), /removed what a crashed run left: .*2 namespaces/);
  assert.deepEqual(leftovers(n), { namespaces: [], links: [] });
  assert.deepEqual(record.processes.filter((p) => alive(p.pid)).map((p) => p.name), []);
});
