// Tests for the connection manager with real sockets on loopback: requests and upgrades pick their
// cluster the same way (cluster-choice.ts), cluster_header included.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { translateCluster } from '../../src/config/cluster';
import { translateNetworkFilter } from '../../src/config/http-connection-manager';
import type { HttpConnectionManagerConfig } from '../../src/config/types';
import { hcm } from '../../src/config/config.fixture';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { FakeClock } from '../../src/clock/fake-clock.fixture';
import { ClusterManager } from '../cluster/cluster-manager';
import { HttpConnectionManager } from './connection-manager';

/** An upstream that names itself: a 101 for an upgrade (then echoes), a 200 with its name for anything else. */
async function namedUpstream(t: TestContext, name: string): Promise<number> {
  const server = net.createServer((s) => {
    let head = '';
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      if (head.includes('\r\n\r\n')) return void s.write(c);
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const saw = (h: string): string => (new RegExp(`^${h}: `, 'im').test(head) ? 'yes' : 'no');
      if (/^upgrade: websocket\r$/im.test(head)) {
        s.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-upstream: ${name}\r\n` +
          `x-saw-request-id: ${saw('x-request-id')}\r\nx-saw-proto: ${saw('x-forwarded-proto')}\r\nx-saw-peer-metadata: ${saw('x-ferry-peer-metadata')}\r\n\r\n`);
      }
      else s.end(`HTTP/1.1 200 OK\r\nx-upstream: ${name}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** A connection manager fed by a loopback server, with clusters of one endpoint each; time is a FakeClock. */
async function startManager(t: TestContext, upstreams: Record<string, number>, hcmFields: Record<string, unknown>): Promise<{ port: number; clock: FakeClock }> {
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const logger = new Logger('test', 'error', () => undefined);
  const clock = new FakeClock();
  const now = (): number => clock.now();
  const clusters = new ClusterManager({ metrics, logger, now, random: Math.random, identity: null });
  t.after(() => clusters.close());
  const endpoint = (port: number) => ({ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] });
  await clusters.addOrUpdate(
    Object.entries(upstreams).map(([name, port], i) =>
      translateCluster({ name, connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [endpoint(port)] } }, `clusters[${i}]`),
    ),
  );
  const config = translateNetworkFilter({ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm({ codec_type: 'HTTP1', ...hcmFields }) }, 'filters[0]') as HttpConnectionManagerConfig;
  const cm = new HttpConnectionManager(config, { clusters, metrics, logger, now, random: Math.random, clock, reporter: 'source', listenerName: 'test' });
  t.after(() => cm.close());
  const server = net.createServer((s) => {
    const downstream = { remoteAddress: s.remoteAddress ?? '', remotePort: s.remotePort ?? 0, localAddress: s.localAddress ?? '', localPort: s.localPort ?? 0, peerPrincipal: null };
    cm.handle(s, { downstream, secure: false, protocolHint: null });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, clock };
}

/** A connection manager whose route sends requests and WebSocket upgrades to the cluster named in x-cluster. */
async function clusterHeaderProxy(t: TestContext): Promise<number> {
  const upstreams = { 'ws-a': await namedUpstream(t, 'ws-a'), 'ws-b': await namedUpstream(t, 'ws-b') };
  const { port } = await startManager(t, upstreams, {
    upgrade_configs: [{ upgrade_type: 'websocket' }],
    route_config: {
      name: 'local',
      virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster_header: 'x-cluster' } }] }],
    },
  });
  return port;
}

/** Sends a request head on a new connection; resolves with the response head. */
function exchange(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(head));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.destroy();
        resolve(got.slice(0, got.indexOf('\r\n\r\n')));
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

const upgrade = (cluster: string | null): string =>
  `GET /chat HTTP/1.1\r\nhost: ws.test\r\n${cluster === null ? '' : `x-cluster: ${cluster}\r\n`}upgrade: websocket\r\nconnection: Upgrade\r\n` +
  'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n';

test('a WebSocket upgrade on a cluster_header route goes to the cluster the header names, as a plain request does', async (t) => {
  const port = await clusterHeaderProxy(t);
  for (const name of ['ws-a', 'ws-b']) {
    const up = await exchange(port, upgrade(name));
    assert.match(up, /^HTTP\/1\.1 101 /, up);
    assert.match(up, new RegExp(`^x-upstream: ${name}$`, 'm'), up);
    const plain = await exchange(port, `GET /chat HTTP/1.1\r\nhost: ws.test\r\nx-cluster: ${name}\r\n\r\n`);
    assert.match(plain, /^HTTP\/1\.1 200 /, plain);
    assert.match(plain, new RegExp(`^x-upstream: ${name}$`, 'm'), plain);
  }
});

test('an upgrade gets the forwarding headers a plain request gets, and a client cannot pass the mesh metadata header on', async (t) => {
  const port = await clusterHeaderProxy(t);
  const head = upgrade('ws-a').replace('upgrade: websocket', 'x-ferry-peer-metadata: workload=admin;namespace=x\r\nupgrade: websocket');
  const up = await exchange(port, head);
  assert.match(up, /^HTTP\/1\.1 101 /, up);
  assert.match(up, /^x-saw-request-id: yes$/m, 'x-request-id generated');
  assert.match(up, /^x-saw-proto: yes$/m);
  assert.match(up, /^x-saw-peer-metadata: no$/m, 'the client-sent metadata header was dropped');
});

test('an upgrade whose cluster_header names no cluster, or is missing, is answered 503 NC', async (t) => {
  const port = await clusterHeaderProxy(t);
  for (const head of [upgrade('nowhere'), upgrade(null)]) {
    const r = await exchange(port, head);
    assert.match(r, /^HTTP\/1\.1 503 /, r);
    assert.match(r, /^x-ferry-response-flags: NC$/im, r);
  }
});

// An hour of stream_idle_timeout: on any clock but the injected one, the test runner's bound ends the test first.
test('the stream idle timeout runs on the injected clock: a request whose upstream stays silent gets 504 SI when it passes', { timeout: 30_000 }, async (t) => {
  let head = '';
  let reached: () => void = () => undefined;
  const requestReached = new Promise<void>((r) => (reached = r));
  const silent = net.createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) reached();
    });
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => silent.close(() => r())));
  const { port, clock } = await startManager(t, { silent: (silent.address() as net.AddressInfo).port }, {
    stream_idle_timeout: '3600s',
    route_config: { name: 'local', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'silent', timeout: '0s' } }] }] },
  });
  const answer = exchange(port, 'GET /wait HTTP/1.1\r\nhost: idle.test\r\n\r\n');
  // Once the upstream has the request, nothing but the fake clock can end it.
  await requestReached;
  assert.ok(head.startsWith('GET /wait HTTP/1.1'), head);
  clock.advance(3_600_000);
  const r = await answer;
  assert.match(r, /^HTTP\/1\.1 504 /, r);
  assert.match(r, /^x-ferry-response-flags: SI$/im, r);
});
