// Tests for the TCP proxy's connection admission on loopback: each upstream connection holds one unit of the
// cluster's max_connections (its circuit breaker's `connections` kind), carried across connect attempts and
// given back when the connection closes; a downstream connection over the limit is closed and counted.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { translateCluster } from '../../src/config/cluster';
import { TCP_PROXY_NAME, TCP_PROXY_TYPE, translateNetworkFilter } from '../../src/config/http-connection-manager';
import type { TcpProxyConfig } from '../../src/config/types';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { systemClock } from '../../src/clock/clock';
import { ClusterManager } from '../cluster/cluster-manager';
import type { UpstreamCluster } from '../cluster/upstream-cluster';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpProxy } from './tcp-proxy';

/** Resolves once `cond` holds, checking after each turn of the event loop (the test's timeout bounds it). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

async function listen(t: TestContext, server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** An echo server that counts the connections it accepted. */
async function echo(t: TestContext): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  return { port: await listen(t, server), accepted: () => accepted };
}

/** A port nothing listens on (a connect there is refused). */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A TCP proxy to cluster `c` (endpoints on `ports`, max_connections `max`) behind a loopback listener. */
async function proxy(t: TestContext, ports: number[], max: number, maxConnectAttempts = 1, extra: Record<string, unknown> = {}) {
  const metrics = new ProxyMetrics();
  const clusters = new ClusterManager({ metrics, logger: new Logger('test', 'off'), now: () => systemClock.now(), random: Math.random });
  await clusters.addOrUpdate([
    translateCluster(
      {
        name: 'c',
        connect_timeout: '1s',
        circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: max }] },
        load_assignment: {
          cluster_name: 'c',
          endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
        },
      },
      'clusters[0]',
    ),
  ]);
  const config = translateNetworkFilter(
    { name: TCP_PROXY_NAME, typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: 'tcp', cluster: 'c', max_connect_attempts: maxConnectAttempts, ...extra } },
    'filters[0]',
  ) as TcpProxyConfig;
  const tcp = new TcpProxy(config, { clusters, metrics, logger: new Logger('test', 'off'), random: Math.random, reporter: 'source' });
  const listener = net.createServer((s) =>
    tcp.handle(s, { remoteAddress: s.remoteAddress ?? '', remotePort: s.remotePort ?? 0, localAddress: s.localAddress ?? '', localPort: s.localPort ?? 0, peerPrincipal: null }),
  );
  const port = await listen(t, listener);
  t.after(() => {
    tcp.close();
    clusters.close();
  });
  const cluster = clusters.get('c') as UpstreamCluster;
  const overflows = async (): Promise<number> =>
    sumWhere(parsePrometheusText(await metrics.registry.metrics()), 'ferry_upstream_rq_overflow_total', { destination_cluster: 'c', threshold: 'max_connections' });
  return { port, cluster, overflows };
}

/** Connects, sends `text` and resolves with the socket once the echo came back. */
function echoed(port: number, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (b: Buffer) => {
      got += b.toString();
      if (got === text) resolve(s);
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    s.write(text);
  });
}

/** Connects and resolves once the proxy closed the connection, with what it received. */
function closedByProxy(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

test("the breaker's connections count follows the TCP proxy's upstream connections; over max_connections a connection is closed and counted", async (t) => {
  const up = await echo(t);
  const p = await proxy(t, [up.port], 1);
  const res = p.cluster.resources;
  assert.equal(res.connections, 0);
  const first = await echoed(p.port, 'one');
  assert.equal(res.connections, 1, 'the spliced connection holds one unit');
  assert.equal(await closedByProxy(p.port), '', 'the second connection is refused at max_connections 1');
  assert.equal(await p.overflows(), 1);
  assert.equal(res.overflows('connections'), 1, 'the breaker counts the overflow too');
  assert.equal(res.connections, 1);
  assert.equal(up.accepted(), 1, 'the refused connection never reached the upstream');
  first.destroy();
  await until(() => res.connections === 0);
  const again = await echoed(p.port, 'two');
  assert.equal(res.connections, 1, 'a unit given back admits the next connection');
  again.destroy();
  await until(() => res.connections === 0);
  assert.equal(await p.overflows(), 1);
});

test('a failed connect attempt hands its unit to the next attempt; giving up gives it back', async (t) => {
  const p = await proxy(t, [await deadPort(), await deadPort()], 1, 2);
  const res = p.cluster.resources;
  const calls: string[] = [];
  const tryAcquire = res.tryAcquire.bind(res);
  const release = res.release.bind(res);
  res.tryAcquire = (kind) => (calls.push(`tryAcquire ${kind}`), tryAcquire(kind));
  res.release = (kind) => (calls.push(`release ${kind}`), release(kind));
  assert.equal(await closedByProxy(p.port), '', 'both endpoints refuse: the downstream connection is closed');
  await until(() => res.connections === 0);
  assert.deepEqual(calls, ['tryAcquire connections', 'release connections'], 'one unit for both attempts');
  assert.equal(await p.overflows(), 0, 'the second attempt is not an overflow');
});

test('access_log: one line per connection when it closes — bytes each way, the upstream host, UF when every connect failed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tcp-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tcp.log');
  const up = await echo(t);
  const dead = await deadPort();
  const accessLog = (path: string) => ({
    access_log: [{
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
        path,
        log_format: { json_format: { flags: '%RESPONSE_FLAGS%', rx: '%BYTES_RECEIVED%', tx: '%BYTES_SENT%', host: '%UPSTREAM_HOST%', cluster: '%UPSTREAM_CLUSTER%', code: '%RESPONSE_CODE%', from: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } },
      },
    }],
  });
  const good = await proxy(t, [up.port], 10, 1, accessLog(file));
  const s = await echoed(good.port, 'hello');
  s.end();
  const lines = (): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);
  await until(() => lines().length === 1);
  assert.deepEqual(JSON.parse(lines()[0]!), { flags: null, rx: 5, tx: 5, host: `127.0.0.1:${up.port}`, cluster: 'c', code: 0, from: '127.0.0.1' });

  const failFile = join(dir, 'fail.log');
  const bad = await proxy(t, [dead], 10, 1, accessLog(failFile));
  await closedByProxy(bad.port);
  await until(() => readFileSync(failFile, 'utf8').includes('\n'));
  assert.deepEqual(JSON.parse(readFileSync(failFile, 'utf8')), { flags: 'UF', rx: 0, tx: 0, host: `127.0.0.1:${dead}`, cluster: 'c', code: 0, from: '127.0.0.1' });
});
