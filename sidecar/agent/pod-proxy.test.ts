// `ferry proxy` in a pod: options from env + flags, and the whole agent against a real ADS server on loopback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../src/flags/flags';
import { AdsServer } from '../../src/controller/ads/ads-server';
import { SnapshotCache } from '../../src/controller/ads/snapshot-cache';
import type { NodeInfo, Snapshot } from '../../src/controller/types';
import { ConfigError } from '../../src/errors';
import { Logger } from '../../src/observability/logger';
import { CLUSTER_TYPE, LISTENER_TYPE } from '../../src/xds/type-urls';
import { eventually, httpUpstream, request } from '../../test/integration/support';
import { drainCommand, waitReadyCommand, type CommandIo } from './commands';
import { isPodProxy, podProxyOptions, startPodProxy } from './pod-proxy';

const ENV = {
  FERRY_POD_NAME: 'web-1',
  FERRY_POD_NAMESPACE: 'shop',
  FERRY_SERVICE_ACCOUNT: 'web',
  FERRY_POD_IP: '10.244.0.9',
  FERRY_CONTROLLER_ADDRESS: '127.0.0.1:15012',
  FERRY_TRUST_DOMAIN: 'cluster.local',
  FERRY_DRAIN_SECONDS: '7',
  FERRY_APP_PROBES: JSON.stringify({ 'web/readiness': { httpGet: { port: 8080, path: '/ready', scheme: 'HTTP' } } }),
};

const quietIo: CommandIo = { stdout: () => undefined, stderr: () => undefined };

test('podProxyOptions: defaults from env, flags override, errors name the flag or variable', () => {
  const o = podProxyOptions(ENV, []);
  assert.equal(o.healthPort, 15020);
  assert.equal(o.healthHost, undefined);
  assert.deepEqual(o.bootstrap.admin?.address, { host: '127.0.0.1', port: 15000 });
  assert.deepEqual(o.bootstrap.statsAddress, { host: '0.0.0.0', port: 15090 });
  assert.equal(o.drainTimeoutMs, 7000);
  assert.equal(o.bootstrap.node.id, 'sidecar~10.244.0.9~web-1.shop~shop.svc.cluster.local');
  assert.deepEqual(o.bootstrap.dynamicResources, { adsCluster: 'xds-grpc', lds: true, cds: true, initialFetchTimeoutMs: 15_000 });
  assert.deepEqual([...o.appProbes.keys()], ['web/readiness']);
  assert.equal(o.logLevel, null);

  const f = podProxyOptions(ENV, ['--admin-port', '0', '--health-port=0', '--stats-address', 'off', '--drain-time-s', '1', '--controller-address', '10.0.0.5:15010', '--log-level', 'warn']);
  assert.deepEqual([f.healthPort, f.bootstrap.admin?.address.port, f.bootstrap.statsAddress, f.drainTimeoutMs, f.logLevel], [0, 0, null, 1000, 'warn']);
  assert.equal(f.pod.controller.host, '10.0.0.5');
  assert.equal(f.bootstrap.clusters[0].type, 'STATIC');

  assert.throws(() => podProxyOptions(ENV, ['--health-port', '70000']), (e: unknown) => e instanceof UsageError && /--health-port/.test(e.message));
  assert.throws(() => podProxyOptions(ENV, ['--log-level', 'loud']), /--log-level/);
  assert.throws(() => podProxyOptions(ENV, ['extra']), /unexpected argument "extra"/);
  assert.throws(() => podProxyOptions({ ...ENV, FERRY_POD_IP: '' }, []), (e: unknown) => e instanceof ConfigError && /^FERRY_POD_IP/.test(e.message));
  assert.throws(() => podProxyOptions({ ...ENV, FERRY_APP_PROBES: '[' }, []), /ConfigError: FERRY_APP_PROBES: is not JSON/);

  assert.equal(isPodProxy(ENV, []), true);
  assert.equal(isPodProxy(ENV, ['--config', 'x.yaml']), false);
  assert.equal(isPodProxy(ENV, ['-c=x.yaml']), false);
  assert.equal(isPodProxy({}, []), false);
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function snapshot(listenerPort: number, appPort: number): Snapshot {
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'inbound',
    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inbound|8080||' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
  return {
    [CLUSTER_TYPE]: new Map([
      [
        'inbound|8080||',
        {
          name: 'inbound|8080||',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'inbound|8080||',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }],
          },
        },
      ],
    ]),
    [LISTENER_TYPE]: new Map([
      [
        'inbound',
        {
          name: 'inbound',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
        },
      ],
    ]),
  };
}

test('a pod proxy from env: 503 until configured over ADS, then ready, serving, probing the app, and draining', { timeout: 30_000 }, async (t) => {
  const app = await httpUpstream((req, res) => res.end(`app ${req.url}`));
  t.after(() => app.close());
  const logger = new Logger('test', 'off');
  const cache = new SnapshotCache();
  const nodes: NodeInfo[] = [];
  const ads = new AdsServer({
    cache,
    debounceMs: 10,
    logger,
    nodeKey: (n) => {
      nodes.push(n);
      return 'pod';
    },
  });
  const adsPort = await ads.listen('127.0.0.1:0');
  t.after(() => ads.close(100));

  const env = {
    ...ENV,
    FERRY_CONTROLLER_ADDRESS: `127.0.0.1:${adsPort}`,
    FERRY_APP_PROBES: JSON.stringify({ 'web/readiness': { httpGet: { port: app.port, path: '/ready', scheme: 'HTTP' }, timeoutSeconds: 2 } }),
  };
  const opts = podProxyOptions(env, ['--admin-port', '0', '--health-port', '0', '--health-host', '127.0.0.1', '--stats-address', 'off', '--drain-time-s', '0.2']);
  const running = await startPodProxy(opts, logger);
  t.after(() => running.stop());
  const healthAddress = `127.0.0.1:${running.health.port}`;

  // The controller sees the pod's identity from the node the bootstrap built.
  assert.ok(await eventually(() => nodes.length > 0, 10_000), 'the proxy opened an ADS stream');
  assert.equal(nodes[0].id, 'sidecar~10.244.0.9~web-1.shop~shop.svc.cluster.local');
  assert.equal(nodes[0].metadata.NAMESPACE, 'shop');
  assert.equal(nodes[0].metadata.SERVICE_ACCOUNT, 'web');
  assert.equal(nodes[0].metadata.POD_IP, '10.244.0.9');

  // While the proxy waits for its first configuration, the health port already answers: not ready.
  assert.equal(running.proxy.state, 'PRE_INITIALIZING');
  assert.equal((await request(running.health.port, '/healthz/ready')).status, 503);
  assert.equal(await waitReadyCommand(['--timeout-seconds', '0.2', '--interval-ms', '20', '--health-address', healthAddress], quietIo), 1);

  cache.setSnapshot('pod', snapshot(await freePort(), app.port));
  assert.equal(await waitReadyCommand(['--timeout-seconds', '10', '--interval-ms', '20', '--health-address', healthAddress], quietIo), 0);
  await running.started;
  const healthPort = running.health.port;

  const listenerPort = running.proxy.listenerPort('inbound');
  const viaProxy = await request(listenerPort, '/hello');
  assert.deepEqual([viaProxy.status, viaProxy.body], [200, 'app /hello']);
  const probe = await request(healthPort, '/app-health/web/readiness');
  assert.equal(probe.status, 200, probe.body);

  assert.equal(await drainCommand(['--seconds', '5', '--admin-address', `127.0.0.1:${running.proxy.adminPort}`], quietIo), 0);
  assert.equal((await request(healthPort, '/healthz/ready')).status, 503, 'a draining proxy is not ready');
  assert.equal((await request(healthPort, '/app-health/web/readiness')).status, 200, 'app probes still answer while draining');
});
