// The ADS server against a real grpc-js client stream on loopback: initial responses, ACK/NACK,
// debounce with a fake clock, make-before-break order, named subscriptions, reconnects.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { ControllerMetrics } from '../../observability/controller-metrics';
import { Logger } from '../../observability/logger';
import { adsClient, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from '../../xds/ads-service';
import { decodeResource } from '../../xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { Snapshot } from '../types';
import type { Clock } from '../../clock/clock';
import { FakeClock } from '../../clock/fake-clock.fixture';
import { AdsServer } from './ads-server';
import { ClientStream, cla, cluster, listener, routeConfig } from './ads-streams.fixture';
import { SnapshotCache } from './snapshot-cache';

/** A state-of-the-world client stream that can ACK what it got. */
class TestStream extends ClientStream<DiscoveryRequestMsg, DiscoveryResponseMsg> {
  ack(r: DiscoveryResponseMsg, names: string[] = []): void {
    this.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: names });
  }
}

function snapshot(ip = '10.0.0.1', timeoutMs = 1000): Snapshot {
  return {
    [CLUSTER_TYPE]: new Map([['a', cluster('a', timeoutMs)]]),
    [ENDPOINT_TYPE]: new Map([['a', cla('a', ip)]]),
    [LISTENER_TYPE]: new Map([['l', listener('l', 'r')]]),
    [ROUTE_TYPE]: new Map([['r', routeConfig('r', 'a')]]),
  };
}

const NODE = { id: 'sidecar-1', cluster: 'app', userAgentName: 'envoy' };

async function setup(t: TestContext, opts: { debounceMs?: number; clock?: Clock; onNodeConnect?: ConstructorParameters<typeof AdsServer>[0]['onNodeConnect'] } = {}) {
  const cache = new SnapshotCache();
  const metrics = new ControllerMetrics();
  const server = new AdsServer({ cache, metrics, logger: new Logger('test', 'off'), nodeKey: () => 'default', ...opts });
  const port = await server.listen('127.0.0.1:0');
  const Client = adsClient();
  const clients: InstanceType<typeof Client>[] = [];
  const open = () => {
    const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(c);
    return new TestStream(c.StreamAggregatedResources() as ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>);
  };
  t.after(async () => {
    for (const c of clients) c.close();
    await server.close(200);
  });
  const count = async (name: string, label?: Record<string, string>) => {
    const m = await metrics.registry.getSingleMetric(name)!.get();
    return m.values.filter((v) => !label || Object.entries(label).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
  };
  return { cache, server, metrics, open, count };
}

test('wildcard CDS/LDS and named EDS/RDS: initial responses decode, ACKs are not answered', async (t) => {
  const { cache, server, open, count } = await setup(t);
  cache.setSnapshot('default', snapshot());
  const s = open();
  s.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const cds = await s.next();
  assert.equal(cds.typeUrl, CLUSTER_TYPE);
  assert.equal(cds.resources.length, 1);
  assert.equal(decodeResource(cds.resources[0]).name, 'a');
  s.ack(cds);
  s.send({ typeUrl: ENDPOINT_TYPE, resourceNames: ['a'] });
  const eds = await s.next();
  assert.deepEqual((decodeResource(eds.resources[0]) as any).endpoints[0].lbEndpoints[0].endpoint.address.socketAddress, { address: '10.0.0.1', portValue: 80 });
  s.ack(eds, ['a']);
  s.send({ typeUrl: LISTENER_TYPE });
  const lds = await s.next();
  s.ack(lds);
  s.send({ typeUrl: ROUTE_TYPE, resourceNames: ['r'] });
  const rds = await s.next();
  s.ack(rds, ['r']);
  await waitFor(() => server.syncz()[0]?.types.RDS?.status === 'SYNCED');
  const z = server.syncz();
  assert.equal(z.length, 1);
  assert.deepEqual([z[0].id, z[0].kind], ['sidecar-1', 'envoy']);
  for (const ty of ['CDS', 'EDS', 'LDS', 'RDS']) assert.equal(z[0].types[ty].status, 'SYNCED', ty);
  assert.equal(z[0].types.CDS.versionAcked, cds.versionInfo);
  assert.equal(s.buffered, 0);
  assert.equal(await count('ferry_controller_pushes_total'), 4);
  assert.equal(await count('ferry_controller_connected_proxies', { kind: 'envoy' }), 1);
  const dump = server.configDump('sidecar-1') as any;
  assert.equal(dump.resources[CLUSTER_TYPE].resources[0].name, 'a');
});

test('debounce: changes within the quiet period coalesce into one push of the last content (fake clock)', async (t) => {
  const clock = new FakeClock();
  const { cache, server, open, count } = await setup(t, { clock, debounceMs: 100 });
  cache.setSnapshot('default', snapshot('10.0.0.1'));
  const s = open();
  s.send({ node: NODE, typeUrl: ENDPOINT_TYPE, resourceNames: ['a'] });
  s.ack(await s.next(), ['a']);
  await waitFor(() => server.syncz()[0]?.types.EDS?.status === 'SYNCED');
  const before = await count('ferry_controller_pushes_total');
  cache.setSnapshot('default', snapshot('10.0.0.2'));
  clock.advance(60);
  cache.setSnapshot('default', snapshot('10.0.0.3'));
  clock.advance(60);
  assert.equal(await count('ferry_controller_pushes_total'), before, 'nothing pushed inside the quiet period');
  assert.equal(server.syncz()[0].types.EDS.status, 'STALE', 'a pending push shows as STALE');
  clock.advance(40);
  assert.equal(await count('ferry_controller_pushes_total'), before + 1);
  const r = await s.next();
  assert.equal((decodeResource(r.resources[0]) as any).endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address, '10.0.0.3');
  // A change that only touches another type is not pushed to this EDS-only stream.
  s.ack(r, ['a']);
  cache.setSnapshot('default', { ...snapshot('10.0.0.3', 2000) });
  clock.advance(200);
  assert.equal(await count('ferry_controller_pushes_total'), before + 1);
});

test('syncz shows wall-clock times: connectedAt and the NACK time from the clock (fake clock)', async (t) => {
  const clock = new FakeClock(1_000_000, Date.UTC(2026, 0, 1));
  const { cache, server, open } = await setup(t, { clock, debounceMs: 0 });
  cache.setSnapshot('default', snapshot());
  const s = open();
  s.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const good = await s.next();
  s.ack(good);
  clock.advance(5_000);
  cache.setSnapshot('default', snapshot('10.0.0.1', 7000));
  const bad = await s.next();
  s.send({ typeUrl: CLUSTER_TYPE, versionInfo: good.versionInfo, responseNonce: bad.nonce, errorDetail: { code: 3, message: 'no' } });
  await waitFor(() => server.syncz()[0]?.types.CDS?.status === 'NACKED');
  const z = server.syncz()[0];
  assert.equal(z.connectedAt, '2026-01-01T00:00:00.000Z');
  assert.equal(z.types.CDS.lastNack!.at, '2026-01-01T00:00:05.000Z');
});

test('make-before-break: a change to every type is pushed CDS → EDS → LDS → RDS', async (t) => {
  const { cache, server, open } = await setup(t, { debounceMs: 0 });
  cache.setSnapshot('default', snapshot());
  const s = open();
  // Subscribe in the "wrong" order; initial answers follow the requests.
  s.send({ node: NODE, typeUrl: ROUTE_TYPE, resourceNames: ['r'] });
  s.send({ typeUrl: LISTENER_TYPE });
  s.send({ typeUrl: ENDPOINT_TYPE, resourceNames: ['a'] });
  s.send({ typeUrl: CLUSTER_TYPE });
  const initial = [await s.next(), await s.next(), await s.next(), await s.next()];
  for (const r of initial) s.ack(r, r.typeUrl === ROUTE_TYPE ? ['r'] : r.typeUrl === ENDPOINT_TYPE ? ['a'] : []);
  await waitFor(() => Object.values(server.syncz()[0]?.types ?? {}).filter((x) => x.status === 'SYNCED').length === 4);
  const next = snapshot('10.0.0.9', 3000);
  next[LISTENER_TYPE] = new Map([['l', listener('l', 'r')], ['l2', listener('l2', 'r')]]);
  next[ROUTE_TYPE] = new Map([['r', routeConfig('r', 'b')]]);
  cache.setSnapshot('default', next);
  const order = [await s.next(), await s.next(), await s.next(), await s.next()].map((r) => r.typeUrl);
  assert.deepEqual(order, [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE]);
});

test('NACK: logged, counted, visible in syncz, and the same version is not sent again', async (t) => {
  const { cache, server, open, count } = await setup(t, { debounceMs: 0 });
  cache.setSnapshot('default', snapshot());
  const s = open();
  s.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const good = await s.next();
  s.ack(good);
  cache.setSnapshot('default', snapshot('10.0.0.1', 7000));
  const bad = await s.next();
  s.send({ typeUrl: CLUSTER_TYPE, versionInfo: good.versionInfo, responseNonce: bad.nonce, errorDetail: { code: 3, message: 'clusters[0].connect_timeout: too long' } });
  await waitFor(() => server.syncz()[0]?.types.CDS?.status === 'NACKED');
  const cds = server.syncz()[0].types.CDS;
  assert.equal(cds.versionAcked, good.versionInfo);
  assert.equal(cds.versionSent, bad.versionInfo);
  assert.equal(cds.lastNack!.message, 'clusters[0].connect_timeout: too long');
  assert.equal(await count('ferry_controller_nacks_total', { type: 'CDS' }), 1);
  const pushes = await count('ferry_controller_pushes_total');
  cache.setSnapshot('default', { ...snapshot('10.0.0.1', 7000), [ROUTE_TYPE]: new Map() }); // CDS content unchanged
  assert.equal(await count('ferry_controller_pushes_total'), pushes);
  cache.setSnapshot('default', snapshot('10.0.0.1', 2000));
  const fixed = await s.next();
  assert.notEqual(fixed.versionInfo, bad.versionInfo);
  s.ack(fixed);
  await waitFor(() => server.syncz()[0]?.types.CDS?.status === 'SYNCED');
});

test('named subscriptions: an unknown name is sent when it appears; gRPC named LDS gets only its listener', async (t) => {
  const { cache, open } = await setup(t, { debounceMs: 0 });
  cache.setSnapshot('default', snapshot());
  const s = open();
  s.send({ node: { id: 'grpc-client', userAgentName: 'gRPC Node Pure JS' }, typeUrl: LISTENER_TYPE, resourceNames: ['l'] });
  const lds = await s.next();
  assert.deepEqual(lds.resources.map((r) => decodeResource(r).name), ['l']);
  s.ack(lds, ['l']);
  s.send({ typeUrl: ENDPOINT_TYPE, resourceNames: ['later'] });
  const next = snapshot();
  next[ENDPOINT_TYPE] = new Map([['a', cla('a', '10.0.0.1')], ['later', cla('later', '10.0.0.5')]]);
  next[LISTENER_TYPE] = new Map([['l', listener('l', 'r')], ['other', listener('other', 'r')]]);
  cache.setSnapshot('default', next);
  const eds = await s.next();
  assert.equal(eds.typeUrl, ENDPOINT_TYPE, 'the LDS change did not touch listener l, so only EDS is pushed');
  assert.deepEqual(eds.resources.map((r) => decodeResource(r).clusterName), ['later']);
});

test('a node whose key has no snapshot asks the controller; reconnects are answered at once', async (t) => {
  const seen: string[] = [];
  let cache!: SnapshotCache;
  const env = await setup(t, {
    debounceMs: 0,
    onNodeConnect: (node, key) => {
      seen.push(`${node.id}@${key}`);
      cache.setSnapshot(key, snapshot());
    },
  });
  cache = env.cache;
  const s = env.open();
  s.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const first = await s.next();
  assert.deepEqual(seen, ['sidecar-1@default']);
  s.ack(first);
  s.call.end();
  await waitFor(() => env.server.connectedCount === 0);
  const s2 = env.open();
  s2.send({ node: NODE, typeUrl: CLUSTER_TYPE, versionInfo: first.versionInfo });
  const again = await s2.next();
  assert.equal(again.versionInfo, first.versionInfo, 'content hash versions are stable');
  assert.deepEqual(seen, ['sidecar-1@default'], 'the snapshot was cached');
  assert.equal(await env.count('ferry_controller_connected_proxies'), 1);
});

test('a stream whose first request has no node is rejected with INVALID_ARGUMENT', async (t) => {
  const { open } = await setup(t);
  const s = open();
  s.send({ typeUrl: CLUSTER_TYPE });
  const st = await s.ended;
  assert.equal(st.code, 3);
  assert.match(st.details, /node/);
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
