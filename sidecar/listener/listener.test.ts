// Tests for the listener's socket: how it binds an IPv6 any-address (socket_address.ipv4_compat).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { translateCluster, translateListener } from '../../src/config/bootstrap';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { ClusterManager } from '../cluster/cluster-manager';
import { Listener } from './listener';
import { systemClock } from '../../src/clock/clock';

async function echo(t: TestContext): Promise<number> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** A TCP proxy listener on `::` (port chosen by the system) in front of an echo server. */
async function anyV6Listener(t: TestContext, ipv4Compat: boolean | undefined): Promise<number> {
  const deps = { metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: systemClock.now, random: Math.random };
  const clusters = new ClusterManager(deps);
  t.after(() => clusters.close());
  const port = await echo(t);
  await clusters.addOrUpdate([
    translateCluster(
      { name: 'echo', connect_timeout: '1s', load_assignment: { cluster_name: 'echo', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } },
      'clusters[0]',
    ),
  ]);
  const config = translateListener(
    {
      name: 'any6',
      address: { socket_address: { address: '::', port_value: 0, ...(ipv4Compat === undefined ? {} : { ipv4_compat: ipv4Compat }) } },
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'any6', cluster: 'echo' } }] }],
    },
    'listeners[0]',
  );
  const listener = new Listener(config, { ...deps, clusters });
  t.after(() => listener.close());
  return listener.listen();
}

/** Resolves true when a byte sent to host:port comes back. */
function echoes(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write('x'));
    s.setTimeout(2_000, () => s.destroy());
    s.once('data', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

test('a listener on :: takes IPv6 only by default (ipv4_compat false, as Envoy)', async (t) => {
  const port = await anyV6Listener(t, undefined);
  assert.equal(await echoes('::1', port), true);
  assert.equal(await echoes('127.0.0.1', port), false);
});

test('ipv4_compat: true makes a listener on :: take IPv4 as well', async (t) => {
  const port = await anyV6Listener(t, true);
  assert.equal(await echoes('::1', port), true);
  assert.equal(await echoes('127.0.0.1', port), true);
});
