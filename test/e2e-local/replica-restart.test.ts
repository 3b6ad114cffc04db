// A replica restarts while its endpoint stays in the registry (SIGTERM before the endpoint update):
// under a fixed-rate load through a sidecar with the controller's defaults, no request fails.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixedRateLoad, freePort, freeVip, getJson, httpGet, registry, replicaServer, sleep, startController, startSidecar, tempDir, waitFor, type Replica } from './mesh-processes';

const RPS = Number(process.env.FERRY_TEST_RESTART_RPS ?? 800);
const DURATION_MS = Number(process.env.FERRY_TEST_RESTART_DURATION_MS ?? 10_000);
const DOWN_MS = Number(process.env.FERRY_TEST_RESTART_DOWN_MS ?? 1_000);
const LATENCY_MS = Number(process.env.FERRY_TEST_RESTART_LATENCY_MS ?? 20);
const REPLICAS = Number(process.env.FERRY_TEST_RESTART_REPLICAS ?? 3);

/** REPLICAS servers on 127.0.N.1… sharing one port (one EndpointSlice port for all), as pods of a Deployment. */
async function replicas(t: TestContext): Promise<{ ips: string[]; port: number; servers: Replica[] }> {
  for (let tries = 0; ; tries++) {
    const net = `127.0.${3 + Math.floor(Math.random() * 200)}`;
    const ips = Array.from({ length: REPLICAS }, (_, i) => `${net}.${i + 1}`);
    const port = await freePort(ips[0]);
    const servers: Replica[] = [];
    try {
      for (const [i, ip] of ips.entries()) servers.push(await replicaServer(t, `web-${i}`, ip, port, LATENCY_MS));
      return { ips, port, servers };
    } catch (err) {
      for (const s of servers) s.stop();
      if (tries > 20) throw err;
    }
  }
}

test(`a replica restarting behind an unchanged endpoint under ${RPS} req/s: zero failed requests with the default retry breaker`, { timeout: DURATION_MS + 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-restart-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const { ips, port, servers } = await replicas(t);
  const vip = await freeVip();
  writeFileSync(join(reg, 'service.yaml'), registry.service('web', 'shop', vip.ip, vip.port));
  writeFileSync(join(reg, 'endpoints.yaml'), registry.endpointSlice('web', 'shop', 'http', port, ips));

  const controller = await startController(t, reg);
  const sidecar = await startSidecar(t, dir, controller.ports.xds, { name: 'client-0', namespace: 'shop', ip: '127.0.0.1' });
  const diag = (): string => `\n--- controller ---\n${controller.log().slice(-2000)}\n--- sidecar ---\n${sidecar.log().slice(-3000)}`;

  try {
    await waitFor('traffic through the sidecar to every replica', async () => {
      for (let i = 0; i < 2 * REPLICAS; i++) await httpGet(vip.ip, vip.port);
      return servers.every((s) => s.hits() > 0);
    });
    // No TrafficPolicy: the cluster carries the controller's default circuit breakers (for the record).
    const { clusters } = await getJson<{ clusters: { name: string; circuit_breakers: unknown }[] }>(sidecar.adminPort, '/clusters?format=json');
    for (const c of clusters.filter((x) => x.name.includes('|web.shop.'))) t.diagnostic(`${c.name}: ${JSON.stringify(c.circuit_breakers)}`);

    const load = fixedRateLoad(vip.ip, vip.port, { rps: RPS, durationMs: DURATION_MS });
    t.after(() => load.done);
    await sleep(DURATION_MS * 0.3);
    const restarting = servers[1];
    const hitsBefore = restarting.hits();
    const stopAt = new Date().toISOString();
    restarting.stop();
    await sleep(DOWN_MS);
    await restarting.start();
    t.diagnostic(`web-1 stopped accepting ${stopAt}, listening again ${new Date().toISOString()}`);
    await load.done;
    const byFlag = new Map<string, number>();
    for (const f of load.failures) {
      const k = f.replace(/^\S+ /, '');
      byFlag.set(k, (byFlag.get(k) ?? 0) + 1);
    }
    for (const [k, n] of byFlag) t.diagnostic(`${n} × ${k}`);

    const stats = await httpGet('127.0.0.1', sidecar.adminPort, '/stats/prometheus');
    const retryLines = stats.body.split('\n').filter((l) => /^ferry_upstream_(rq_retry|rq_overflow|ejections)_total/.test(l) && !l.startsWith('#'));
    t.diagnostic(`${load.sent()} requests at ${RPS}/s, ${load.ok()} answered 200, ${load.failures.length} failed; replica web-1 served ${hitsBefore} before its restart`);
    for (const l of retryLines) t.diagnostic(l);
    assert.equal(load.sent(), Math.floor((RPS * DURATION_MS) / 1000));
    // The restart was felt: requests met the refusing replica and were retried elsewhere.
    const attempted = retryLines.find((l) => l.includes('outcome="attempted"'));
    assert.ok(attempted && Number(attempted.split(' ').at(-1)) > 0, 'no retry was needed: the replica restart went unnoticed');
    assert.deepEqual(load.failures.slice(0, 20), [], `${load.failures.length} failed requests`);
    assert.equal(load.ok(), load.sent());
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`);
  }
});
