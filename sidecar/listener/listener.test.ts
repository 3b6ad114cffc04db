// Tests for the listener's socket: how it binds an IPv6 any-address (socket_address.ipv4_compat).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
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

/** An HTTP listener config: one chain per stat prefix, all routing to cluster `up`; `ports` gives each chain a destination_port match. */
function httpListenerConfig(chains: { statPrefix: string; port?: number }[]): ReturnType<typeof translateListener> {
  const chain = (c: { statPrefix: string; port?: number }) => ({
    ...(c.port === undefined ? {} : { filter_chain_match: { destination_port: c.port } }),
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: c.statPrefix,
          route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
        },
      },
    ],
  });
  return translateListener({ name: 'shared', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: chains.map(chain) }, 'listeners[0]');
}

/** GET / on `agent`'s one keep-alive connection: the status, the Connection header, and the client port it went out on. */
function get(port: number, agent: http.Agent): Promise<{ status: number; connection: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: String(res.headers.connection ?? ''), localPort: req.socket?.localPort ?? 0 }));
    });
    req.on('error', reject);
  });
}

test('an in-place update keeps the connections of unchanged filter chains and drains those of a changed one', async (t) => {
  const upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => upstream.close(() => r())));
  const deps = { metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: systemClock.now, random: Math.random };
  const clusters = new ClusterManager(deps);
  t.after(() => clusters.close());
  const upPort = (upstream.address() as net.AddressInfo).port;
  await clusters.addOrUpdate([
    translateCluster({ name: 'up', connect_timeout: '1s', load_assignment: { cluster_name: 'up', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upPort } } } }] }] } }, 'clusters[0]'),
  ]);
  const listener = new Listener(httpListenerConfig([{ statPrefix: 'a' }]), { ...deps, clusters });
  t.after(() => listener.close());
  const port = await listener.listen();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());

  const first = await get(port, agent);
  assert.equal(first.status, 200);
  // Another chain added (a Service on the same port); chain `a` is unchanged.
  listener.update(httpListenerConfig([{ statPrefix: 'a' }, { statPrefix: 'b', port: 1 }]));
  // Past the drain's grace for idle connections: a drained chain would have closed this one by now.
  await new Promise((r) => setTimeout(r, 1_300));
  const second = await get(port, agent);
  assert.equal(second.status, 200);
  assert.equal(second.localPort, first.localPort, 'the same connection carried on');
  assert.notEqual(second.connection, 'close');

  // Chain `a` itself changed: its connections drain (the next response closes the connection).
  listener.update(httpListenerConfig([{ statPrefix: 'a2' }, { statPrefix: 'b', port: 1 }]));
  const third = await get(port, agent);
  assert.equal(third.status, 200);
  assert.equal(third.localPort, first.localPort);
  assert.equal(third.connection, 'close', 'a changed chain drains its connections');
});
