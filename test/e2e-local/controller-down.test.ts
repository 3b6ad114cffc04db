// Acceptance 5: under load through two sidecars (client → VIP → server pod's inbound → app), the
// controller is killed for 30 s: no request fails; restarted on the same ports, every proxy resyncs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FERRY, freePort, freeVip, getJson, httpGet, loadLoop, namedServer, registry, sleep, startController, startSidecar, tempDir, waitFor } from './mesh-processes';

interface SynczProxy {
  id: string;
  types: Record<string, { status: string }>;
}

const DOWN_MS = Number(process.env.FERRY_TEST_CONTROLLER_DOWN_MS ?? 30_000);

/** Every type the proxy subscribed to is SYNCED, and it has listeners and clusters. */
function synced(p: SynczProxy | undefined): boolean {
  if (!p || !p.types.CDS || !p.types.LDS) return false;
  return Object.values(p.types).every((t) => t.status === 'SYNCED');
}

test(`controller down ${DOWN_MS / 1000} s under load: zero failed requests; on restart every proxy resyncs`, { timeout: DOWN_MS + 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-down-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const app = await namedServer(t, 'web-0');
  const vip = await freeVip();
  const podIp = `127.0.${3 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 254)}`;
  const podPort = await freePort(podIp);
  writeFileSync(join(reg, 'service.yaml'), registry.service('web', 'shop', vip.ip, vip.port));
  writeFileSync(join(reg, 'endpoints.yaml'), registry.endpointSlice('web', 'shop', 'http', podPort, [podIp]));

  let controller = await startController(t, reg);
  const ports = controller.ports;
  // The server pod's sidecar serves only its inbound port; the client's owns the VIP.
  const server = await startSidecar(t, dir, ports.xds, { name: 'web-0', namespace: 'shop', ip: podIp, appPorts: `${podPort}:${app.port}`, bindOutbound: false });
  const client = await startSidecar(t, dir, ports.xds, { name: 'client-0', namespace: 'shop', ip: '127.0.0.1' });
  const diag = (): string =>
    `\n--- controller ---\n${controller.log().slice(-3000)}\n--- client ---\n${client.log().slice(-2000)}\n--- server ---\n${server.log().slice(-2000)}`;

  try {
    await waitFor('traffic client → VIP → server sidecar → app', async () => (await httpGet(vip.ip, vip.port)).body === 'web-0');
    await waitFor('both proxies SYNCED', async () => {
      const s = await getJson<SynczProxy[]>(ports.admin, '/debug/syncz');
      return s.length === 2 && s.every(synced);
    });

    const load = loadLoop(vip.ip, vip.port, 4, 10);
    t.after(() => load.stop());
    await waitFor('load is flowing', () => load.count('web-0') > 20);

    process.kill(controller.proc.pid!, 'SIGKILL');
    await new Promise((r) => controller.proc.once('exit', r));
    const downAt = Date.now();
    // The proxies notice: their xDS client is disconnected, yet they keep serving.
    for (const p of [client, server]) {
      await waitFor(`${p.id} sees the controller gone`, async () => {
        const dump = await getJson<{ xds: { connected: boolean } }>(p.adminPort, '/config_dump');
        return dump.xds.connected === false;
      });
    }
    const before = load.count('web-0');
    await sleep(DOWN_MS - (Date.now() - downAt));
    assert.ok(load.count('web-0') - before > 100, `${load.count('web-0') - before} requests served while the controller was down`);

    const restartedAt = Date.now();
    controller = await startController(t, reg, { xds: ports.xds, admin: ports.admin });
    const s = await waitFor(
      'both proxies reconnected and SYNCED',
      async () => {
        const x = await getJson<SynczProxy[]>(ports.admin, '/debug/syncz');
        return x.length === 2 && x.every(synced) ? x : null;
      },
      25_000,
      100,
    );
    const resyncMs = Date.now() - restartedAt;
    assert.deepEqual(s.map((p) => p.id).sort(), [client.id, server.id].sort());
    const table = (await promisify(execFile)(process.execPath, [FERRY, 'proxy-status', '--controller-admin', `127.0.0.1:${ports.admin}`])).stdout;
    for (const p of [client, server]) assert.match(table, new RegExp(`${p.id.replace(/[.~]/g, '\\$&')}\\s+ferry\\s+SYNCED\\s+SYNCED\\s+SYNCED`), table);
    assert.doesNotMatch(table, /STALE|NACKED/);

    await sleep(300);
    await load.stop();
    assert.deepEqual(load.failures, [], 'no failed request');
    t.diagnostic(`${load.answers.length} requests, 0 failed; resynced ${resyncMs} ms after the restart`);
    for (const line of table.trim().split('\n')) t.diagnostic(line);
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`);
  }
});
