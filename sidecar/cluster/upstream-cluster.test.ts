// Tests for a cluster's host set, with real loopback endpoints and a real DNS server on loopback:
// ignore_health_on_host_removal, close_connections_on_host_health_failure, respect_dns_ttl,
// cleanup_interval.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { translateCluster, translateClusterLoadAssignment } from '../../src/config/bootstrap';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { UpstreamCluster } from './upstream-cluster';

interface Endpoint {
  readonly port: number;
  healthy: boolean;
  /** Open connections that are not health checks. */
  readonly traffic: Set<Socket>;
}

async function endpoint(t: TestContext): Promise<Endpoint> {
  const e = { port: 0, healthy: true, traffic: new Set<Socket>() };
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.statusCode = e.healthy ? 200 : 503;
      return void res.end();
    }
    e.traffic.add(req.socket);
    req.socket.once('close', () => e.traffic.delete(req.socket));
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  e.port = (server.address() as AddressInfo).port;
  return e;
}

const assignment = (ports: number[]) =>
  translateClusterLoadAssignment(
    { cluster_name: 'c', endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }] },
    'load_assignment',
  );

function startCluster(t: TestContext, ports: number[], extra: Record<string, unknown>): UpstreamCluster {
  const config = translateCluster(
    {
      name: 'c',
      connect_timeout: '1s',
      health_checks: [
        {
          timeout: '1s',
          interval: '0.05s',
          no_traffic_interval: '0.05s',
          unhealthy_threshold: 1,
          healthy_threshold: 1,
          http_health_check: { path: '/healthz' },
        },
      ],
      load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }] },
      ...extra,
    },
    'clusters[0]',
  );
  const cluster = new UpstreamCluster(config, {
    metrics: new ProxyMetrics({ defaultMetrics: false }),
    logger: new Logger('test', 'error'),
    now: () => performance.now(),
    random: Math.random,
  });
  t.after(() => cluster.close());
  return cluster;
}

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hostPorts = (c: UpstreamCluster) => c.allHosts.map((h) => h.address.port).sort();
const usable = (c: UpstreamCluster) => c.allHosts.filter((h) => h.usable).length;

test('ignore_health_on_host_removal false (default): a dropped host stays while it passes its checks', async (t) => {
  const a = await endpoint(t);
  const b = await endpoint(t);
  const c = startCluster(t, [a.port, b.port], {});
  await c.start();
  await until('both hosts pass their first check', () => usable(c) === 2);
  c.setLoadAssignment(assignment([a.port]));
  assert.deepEqual(hostPorts(c), [a.port, b.port].sort(), 'b is still a host of the cluster');
  assert.equal(usable(c), 2, 'and still takes traffic');
  b.healthy = false;
  await until('b leaves once it fails a check', () => c.allHosts.length === 1);
  assert.deepEqual(hostPorts(c), [a.port]);
});

test('ignore_health_on_host_removal true: a dropped host leaves at once', async (t) => {
  const a = await endpoint(t);
  const b = await endpoint(t);
  const c = startCluster(t, [a.port, b.port], { ignore_health_on_host_removal: true });
  await c.start();
  await until('both hosts pass their first check', () => usable(c) === 2);
  c.setLoadAssignment(assignment([a.port]));
  assert.deepEqual(hostPorts(c), [a.port]);
});

/** One request over the host's HTTP/1.1 pool; the connection goes back to the pool afterwards. */
function requestVia(c: UpstreamCluster, port: number): Promise<void> {
  const host = c.allHosts.find((h) => h.address.port === port)!;
  const conn = host.http1().acquire()!;
  return new Promise((resolve, reject) => {
    conn.begin({ onResponseHead: () => undefined, onResponseBody: () => undefined, onResponseEnd: () => resolve(), onConnectionError: (k) => reject(new Error(k)) }, false);
    conn.write('GET / HTTP/1.1\r\nhost: c\r\n\r\n');
    conn.requestEnded = true;
  });
}

test('close_connections_on_host_health_failure closes pooled connections to a host found unhealthy', async (t) => {
  const a = await endpoint(t);
  const closing = startCluster(t, [a.port], { close_connections_on_host_health_failure: true });
  await closing.start();
  await until('the host passes its first check', () => usable(closing) === 1);
  await requestVia(closing, a.port);
  assert.equal(a.traffic.size, 1, 'a pooled keep-alive connection is open');
  a.healthy = false;
  await until('the host is unhealthy', () => usable(closing) === 0);
  await until('its connection is closed', () => a.traffic.size === 0);
});

test('without close_connections_on_host_health_failure pooled connections stay open', async (t) => {
  const a = await endpoint(t);
  const keeping = startCluster(t, [a.port], {});
  await keeping.start();
  await until('the host passes its first check', () => usable(keeping) === 1);
  await requestVia(keeping, a.port);
  a.healthy = false;
  await until('the host is unhealthy', () => usable(keeping) === 0);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(a.traffic.size, 1);
});

/**
 * A DNS server on loopback answering A queries for every name with `answer.ip` and `answer.ttl`
 * (AAAA queries get no records). Just enough of RFC 1035 for a resolver's question.
 */
async function dnsServer(t: TestContext, answer: { ip: string; ttl: number }): Promise<number> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (q, from) => {
    let end = 12;
    while (q[end] !== 0) end += q[end] + 1;
    const question = q.subarray(12, end + 5);
    const type = q.readUInt16BE(end + 1);
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(type === 1 ? 1 : 0, 6);
    const parts = [header, question];
    if (type === 1) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name, by pointer to the question
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(answer.ttl, 6);
      rr.writeUInt16BE(4, 10);
      answer.ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
      parts.push(rr);
    }
    sock.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.after(() => sock.close());
  return sock.address().port;
}

test('respect_dns_ttl: a DNS cluster refreshes when its records expire, not at dns_refresh_rate', async (t) => {
  const answer = { ip: '127.0.0.1', ttl: 1 };
  const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${await dnsServer(t, answer)}`]);
  const config = translateCluster(
    {
      name: 'd',
      type: 'STRICT_DNS',
      connect_timeout: '1s',
      dns_refresh_rate: '60s',
      respect_dns_ttl: true,
      load_assignment: { cluster_name: 'd', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'svc.ferry.test', port_value: 8080 } } } }] }] },
    },
    'clusters[0]',
  );
  const c = new UpstreamCluster(config, {
    metrics: new ProxyMetrics({ defaultMetrics: false }),
    logger: new Logger('test', 'error'),
    now: () => performance.now(),
    random: Math.random,
    dnsResolver: resolver,
  });
  t.after(() => c.close());
  await c.start();
  assert.deepEqual(c.allHosts.map((h) => h.key), ['127.0.0.1:8080'], 'resolved from the DNS server, with its TTL');
  answer.ip = '127.0.0.2';
  await until('the refresh after the 1 s TTL sees the new record', () => c.allHosts[0]?.key === '127.0.0.2:8080');
});

test('respect_dns_ttl with a TTL of 0 refreshes at dns_refresh_rate', async (t) => {
  const answer = { ip: '127.0.0.1', ttl: 0 };
  const resolver = new dns.Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${await dnsServer(t, answer)}`]);
  const config = translateCluster(
    {
      name: 'd0',
      type: 'STRICT_DNS',
      connect_timeout: '1s',
      dns_refresh_rate: '0.2s',
      respect_dns_ttl: true,
      load_assignment: { cluster_name: 'd0', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'svc.ferry.test', port_value: 8080 } } } }] }] },
    },
    'clusters[0]',
  );
  const c = new UpstreamCluster(config, { metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: () => performance.now(), random: Math.random, dnsResolver: resolver });
  t.after(() => c.close());
  await c.start();
  answer.ip = '127.0.0.3';
  await until('a refresh 0.2 s later sees the new record', () => c.allHosts[0]?.key === '127.0.0.3:8080');
});

test('cleanup_interval: an ORIGINAL_DST host unused for a sweep is dropped', async (t) => {
  const cluster = (extra: Record<string, unknown>) => {
    const c = new UpstreamCluster(translateCluster({ name: 'o', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s', ...extra }, 'clusters[0]'), {
      metrics: new ProxyMetrics({ defaultMetrics: false }),
      logger: new Logger('test', 'error'),
      now: () => performance.now(),
      random: Math.random,
    });
    t.after(() => c.close());
    return c;
  };
  const quick = cluster({ cleanup_interval: '0.1s' });
  const first = quick.originalDstHost('10.1.2.3', 80);
  await new Promise((r) => setTimeout(r, 400));
  assert.notEqual(quick.originalDstHost('10.1.2.3', 80), first, 'swept after two 0.1 s intervals without use');
  const slow = cluster({});
  const kept = slow.originalDstHost('10.1.2.3', 80);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(slow.originalDstHost('10.1.2.3', 80), kept, 'the default (5 s) keeps it');
});

test('health_status from discovery: UNHEALTHY, DRAINING and TIMEOUT hosts take no traffic', async (t) => {
  const statuses = ['HEALTHY', 'UNKNOWN', 'UNHEALTHY', 'DRAINING', 'TIMEOUT'];
  const config = translateCluster(
    {
      name: 's',
      connect_timeout: '1s',
      // 2 of 5 healthy is below the default panic threshold (50 %), which would use every host.
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
      load_assignment: {
        cluster_name: 's',
        endpoints: [{ lb_endpoints: statuses.map((health_status, i) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9001 + i } } }, health_status })) }],
      },
    },
    'clusters[0]',
  );
  const c = new UpstreamCluster(config, { metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: () => performance.now(), random: Math.random });
  t.after(() => c.close());
  await c.start();
  const picked = new Set<number>();
  for (let i = 0; i < 50; i++) picked.add(c.pick({ hash: null, exclude: null, maxExcludeAttempts: 0 })!.address.port);
  assert.deepEqual([...picked].sort(), [9001, 9002], 'only HEALTHY and UNKNOWN');
});

test("an endpoint's health_check_config.port_value is where its health checks go", async (t) => {
  const checks = await endpoint(t);
  const config = translateCluster(
    {
      name: 'p',
      connect_timeout: '1s',
      health_checks: [{ timeout: '1s', interval: '0.05s', no_traffic_interval: '0.05s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
      load_assignment: {
        cluster_name: 'p',
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } }, health_check_config: { port_value: checks.port } } }] }],
      },
    },
    'clusters[0]',
  );
  const c = new UpstreamCluster(config, { metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: () => performance.now(), random: Math.random });
  t.after(() => c.close());
  await c.start();
  await until('the host passes checks made on the other port', () => usable(c) === 1);
  checks.healthy = false;
  await until('and fails with them', () => usable(c) === 0);
});
