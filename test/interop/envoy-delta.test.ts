// A real Envoy bootstrapped with delta ADS (api_type DELTA_GRPC) to Ferry's ADS server: receives
// the snapshot, ACKs every type, proxies traffic, follows an endpoint change that is pushed alone,
// NACKs a bad endpoint, and after a controller restart is not sent again what it already holds.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerMetrics } from '../../src/observability/controller-metrics';
import { AdsServer } from '../../src/controller/ads/ads-server';
import { SnapshotCache } from '../../src/controller/ads/snapshot-cache';
import type { Snapshot } from '../../src/controller/types';
import { Logger } from '../../src/observability/logger';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';
import { ENVOY_SKIP_REASON, envoyMissing as envoyMissingOrCi } from '../support/tools';
import { backend, fetchText, freePort, waitFor } from '../support/loopback';

const envoyMissing = envoyMissingOrCi();
if (envoyMissing) console.log(`# envoy-delta: skipped, ${ENVOY_SKIP_REASON}`);


function snapshot(listenerPort: number, upstream: { address: string; port: number }): Snapshot {
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'ingress',
    rds: { route_config_name: 'local', config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
  const edsCluster = (name: string) => ({ name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } });
  const endpoint = (name: string, address: string, port: number) => ({
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }],
  });
  return {
    // A second cluster nobody routes to: it must not be sent again when only `backend` changes.
    [CLUSTER_TYPE]: new Map([['backend', edsCluster('backend')], ['spare', edsCluster('spare')]]),
    [ENDPOINT_TYPE]: new Map([['backend', endpoint('backend', upstream.address, upstream.port)], ['spare', endpoint('spare', '127.0.0.1', 9)]]),
    [LISTENER_TYPE]: new Map([['ingress', { name: 'ingress', address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] }]]),
    [ROUTE_TYPE]: new Map([['local', { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] }]]),
  };
}

test('Envoy 1.40 over delta ADS: receives the snapshot, ACKs, proxies, follows an EDS change, resumes after a controller restart', { skip: envoyMissing ? ENVOY_SKIP_REASON : false, timeout: 90_000 }, async (t) => {
  const a = await backend('backend-a');
  const b = await backend('backend-b');
  const c = await backend('backend-c');
  const cache = new SnapshotCache();
  const logger = new Logger('test', 'off');
  let metrics = new ControllerMetrics();
  let ads = new AdsServer({ cache, metrics, debounceMs: 20, logger });
  const adsPort = await ads.listen('127.0.0.1:0');
  const listenerPort = await freePort();
  cache.setSnapshot('envoy-1', snapshot(listenerPort, { address: '127.0.0.1', port: a.port }));
  const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-delta-'));
  let envoy: ChildProcess | null = null;
  let log = '';
  t.after(async () => {
    if (envoy && envoy.exitCode === null && envoy.signalCode === null) {
      envoy.kill('SIGKILL');
      await new Promise((r) => envoy!.once('exit', r));
    }
    await ads.close(200);
    for (const s of [a, b, c]) s.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bootstrap = {
    node: { id: 'envoy-1', cluster: 'test' },
    dynamic_resources: {
      ads_config: { api_type: 'DELTA_GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [{
        name: 'xds',
        connect_timeout: '1s',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
        load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: adsPort } } } }] }] },
      }],
    },
  };
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  envoy = spawn('envoy', ['-c', file, '--disable-hot-restart', '--concurrency', '1', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  envoy.stdout!.on('data', (x) => (log += x));
  envoy.stderr!.on('data', (x) => (log += x));
  const proxy = () => ads.syncz().find((x) => x.id === 'envoy-1');
  const pushes = async (type: string) => {
    const m = await metrics.registry.getSingleMetric('ferry_controller_pushes_total')!.get();
    return m.values.filter((v) => v.labels.type === type).reduce((s, v) => s + v.value, 0);
  };

  try {
    await waitFor(async () => (await fetchText(listenerPort)) === 'backend-a', 'traffic through Envoy to backend-a');
    await waitFor(() => ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => proxy()?.types[ty]?.status === 'SYNCED'), 'every type SYNCED');
    const p = proxy()!;
    assert.deepEqual([p.kind, p.protocol], ['envoy', 'delta']);
    assert.deepEqual([p.types.CDS.resources, p.types.EDS.resources], [2, 2]);
    const cdsNonce = p.types.CDS.nonceSent;

    // An endpoint change: one EDS response carrying only `backend`; CDS is not sent again.
    const edsPushes = await pushes('EDS');
    cache.setSnapshot('envoy-1', snapshot(listenerPort, { address: '127.0.0.1', port: b.port }));
    await waitFor(async () => (await fetchText(listenerPort)) === 'backend-b', 'traffic to backend-b after the EDS change');
    await waitFor(() => proxy()?.types.EDS?.status === 'SYNCED', 'EDS ACKed');
    assert.equal(await pushes('EDS'), edsPushes + 1);
    assert.equal(proxy()!.types.CDS.nonceSent, cdsNonce, 'no CDS response for an endpoint change');

    // An endpoint Envoy rejects: NACKed with Envoy's message; the last good endpoint keeps serving.
    const bad = snapshot(listenerPort, { address: 'not-an-ip', port: 1 });
    cache.setSnapshot('envoy-1', bad);
    await waitFor(() => proxy()?.types.EDS?.status === 'NACKED', 'EDS NACKed');
    assert.match(proxy()!.types.EDS.lastNack!.message, /not-an-ip/);
    assert.equal(await fetchText(listenerPort), 'backend-b');

    // The controller restarts on the same port with a good snapshot. Envoy reconnects and reports
    // what it holds (initial_resource_versions): only the endpoint it does not hold is sent.
    cache.setSnapshot('envoy-1', snapshot(listenerPort, { address: '127.0.0.1', port: b.port }));
    await ads.close(200);
    metrics = new ControllerMetrics();
    ads = new AdsServer({ cache, metrics, debounceMs: 20, logger });
    await ads.listen(`127.0.0.1:${adsPort}`);
    await waitFor(() => ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => proxy()?.types[ty]?.status === 'SYNCED'), 'Envoy to resubscribe every type', 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const resumed = proxy()!;
    for (const ty of ['CDS', 'EDS', 'LDS', 'RDS']) {
      assert.deepEqual([resumed.types[ty].status, resumed.types[ty].nonceSent], ['SYNCED', null], `${ty}: Envoy holds every resource, nothing is resent`);
    }
    assert.equal(resumed.types.CDS.resources, 2);
    assert.equal(await pushes('CDS'), 0);
    // What it holds of `backend` is the version before the NACKed one, i.e. the current one.
    assert.equal(await pushes('EDS'), 0);

    cache.setSnapshot('envoy-1', snapshot(listenerPort, { address: '127.0.0.1', port: c.port }));
    await waitFor(async () => (await fetchText(listenerPort)) === 'backend-c', 'traffic to backend-c after the restart');
    await waitFor(() => proxy()?.types.EDS?.status === 'SYNCED', 'EDS ACKed on the new stream');
  } catch (err) {
    throw new Error(`${(err as Error).message}\nsyncz: ${JSON.stringify(ads.syncz())}\nenvoy log:\n${log.slice(-4000)}`);
  }
});
