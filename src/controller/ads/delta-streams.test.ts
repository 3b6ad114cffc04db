// Delta ADS against a real grpc-js client on loopback: subscribe, changes only, removals, NACK,
// reconnect with initial_resource_versions, syncz/config dump/metrics, and SotW streams alongside.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { ControllerMetrics } from '../../observability/controller-metrics';
import { Logger } from '../../observability/logger';
import { adsClient, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from '../../xds/ads-service';
import type { DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg } from '../../xds/delta-service';
import { decodeResource } from '../../xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { Snapshot } from '../types';
import { AdsServer } from './ads-server';
import { ClientStream, cla, cluster, routeConfig } from './ads-streams.fixture';
import { SnapshotCache } from './snapshot-cache';

type Delta = ClientStream<DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg>;


function snapshot(o: { clusters?: Record<string, number>; endpoints?: Record<string, string>; route?: string } = {}): Snapshot {
  const clusters = o.clusters ?? { a: 1000, b: 1000 };
  const endpoints = o.endpoints ?? { a: '10.0.0.1', b: '10.0.0.2' };
  return {
    [CLUSTER_TYPE]: new Map(Object.entries(clusters).map(([n, ms]) => [n, cluster(n, ms)])),
    [ENDPOINT_TYPE]: new Map(Object.entries(endpoints).map(([n, ip]) => [n, cla(n, ip)])),
    [LISTENER_TYPE]: new Map(),
    [ROUTE_TYPE]: new Map([['r', routeConfig('r', o.route ?? 'a')]]),
  };
}

const NODE = { id: 'envoy-1', cluster: 'app', userAgentName: 'envoy' };

async function setup(t: TestContext) {
  const cache = new SnapshotCache();
  const metrics = new ControllerMetrics();
  const disconnects: number[] = [];
  const server = new AdsServer({
    cache,
    metrics,
    logger: new Logger('test', 'off'),
    nodeKey: () => 'default',
    debounceMs: 0,
    onNodeDisconnect: (_n, _k, remaining) => disconnects.push(remaining),
  });
  const port = await server.listen('127.0.0.1:0');
  const Client = adsClient();
  const clients: InstanceType<typeof Client>[] = [];
  const client = () => {
    const c = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(c);
    return c;
  };
  const delta = (): Delta => new ClientStream(client().DeltaAggregatedResources() as ClientDuplexStream<DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg>);
  const sotw = () => new ClientStream(client().StreamAggregatedResources() as ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>);
  t.after(async () => {
    for (const c of clients) c.close();
    await server.close(200);
  });
  const count = async (name: string, label?: Record<string, string>) => {
    const m = await metrics.registry.getSingleMetric(name)!.get();
    return m.values.filter((v) => !label || Object.entries(label).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
  };
  return { cache, server, metrics, delta, sotw, count, disconnects };
}

const names = (r: DeltaDiscoveryResponseMsg) => r.resources.map((x) => x.name);
const versions = (r: DeltaDiscoveryResponseMsg) => Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
const ack = (s: Delta, r: DeltaDiscoveryResponseMsg) => s.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });

async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('delta ADS: subscribe, then only what changed, removals, NACK not resent, syncz and metrics', async (t) => {
  const { cache, server, delta, count, metrics } = await setup(t);
  cache.setSnapshot('default', snapshot());
  const s = delta();
  s.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const cds = await s.next();
  assert.equal(cds.typeUrl, CLUSTER_TYPE);
  assert.deepEqual(names(cds), ['a', 'b']);
  assert.equal(decodeResource(cds.resources[0].resource!).name, 'a');
  assert.equal(cds.systemVersionInfo, cache.get('default')!.get(CLUSTER_TYPE)!.version);
  assert.equal(cds.resources[0].version, cache.get('default')!.get(CLUSTER_TYPE)!.resources.get('a')!.hash, 'a resource version is its content hash');
  ack(s, cds);
  s.send({ typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ['a', 'b', 'not-yet'] });
  const eds = await s.next();
  assert.deepEqual([eds.typeUrl, names(eds), eds.removedResources], [ENDPOINT_TYPE, ['a', 'b'], []]);
  ack(s, eds);
  await waitFor(() => server.syncz()[0]?.types.EDS?.status === 'SYNCED', 'EDS SYNCED');
  const z = server.syncz()[0];
  assert.deepEqual([z.id, z.kind, z.protocol, z.types.CDS.status, z.types.CDS.resources, z.types.EDS.resources], ['envoy-1', 'envoy', 'delta', 'SYNCED', 2, 2]);
  assert.equal(await count('ferry_controller_connected_proxies', { kind: 'envoy' }), 1);

  // One endpoint changes: one EDS response with only that resource; CDS is not touched.
  cache.setSnapshot('default', snapshot({ endpoints: { a: '10.0.0.9', b: '10.0.0.2' } }));
  const eds2 = await s.next();
  assert.deepEqual([eds2.typeUrl, names(eds2), eds2.removedResources], [ENDPOINT_TYPE, ['a'], []]);
  assert.equal((decodeResource(eds2.resources[0].resource!) as any).endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address, '10.0.0.9');
  ack(s, eds2);
  await s.quiet();

  // b goes away: removed in CDS first, then EDS (make before break order); a name never there stays unmentioned.
  cache.setSnapshot('default', snapshot({ clusters: { a: 1000 }, endpoints: { a: '10.0.0.9' } }));
  const [r1, r2] = [await s.next(), await s.next()];
  assert.deepEqual([r1.typeUrl, names(r1), r1.removedResources], [CLUSTER_TYPE, [], ['b']]);
  assert.deepEqual([r2.typeUrl, names(r2), r2.removedResources], [ENDPOINT_TYPE, [], ['b']]);
  ack(s, r1);
  ack(s, r2);

  // A cluster the client rejects: NACK recorded and counted; the same version is not sent again.
  const pushesBefore = await count('ferry_controller_pushes_total');
  cache.setSnapshot('default', snapshot({ clusters: { a: 7000 }, endpoints: { a: '10.0.0.9' } }));
  const bad = await s.next();
  assert.deepEqual(names(bad), ['a']);
  s.send({ typeUrl: CLUSTER_TYPE, responseNonce: bad.nonce, errorDetail: { code: 13, message: 'clusters[a].connect_timeout: too long' } });
  await waitFor(() => server.syncz()[0]?.types.CDS?.status === 'NACKED', 'CDS NACKED');
  assert.equal(server.syncz()[0].types.CDS.lastNack!.message, 'clusters[a].connect_timeout: too long');
  assert.equal(await count('ferry_controller_nacks_total', { type: 'CDS' }), 1);
  cache.setSnapshot('default', snapshot({ clusters: { a: 7000 }, endpoints: { a: '10.0.0.9' }, route: 'other' }));
  await s.quiet();
  assert.equal(await count('ferry_controller_pushes_total'), pushesBefore + 1, 'the route change is for a type this stream did not ask for');
  cache.setSnapshot('default', snapshot({ clusters: { a: 2000 }, endpoints: { a: '10.0.0.9' } }));
  const fixed = await s.next();
  assert.deepEqual(names(fixed), ['a']);
  assert.notEqual(fixed.resources[0].version, bad.resources[0].version);
  ack(s, fixed);
  await waitFor(() => server.syncz()[0]?.types.CDS?.status === 'SYNCED', 'CDS SYNCED after the fix');
  const convergence = await metrics.registry.getSingleMetric('ferry_controller_convergence_seconds')!.get();
  const acked = convergence.values.filter((v) => (v as { metricName?: string }).metricName === 'ferry_controller_convergence_seconds_count' && v.labels.type === 'CDS');
  assert.equal(acked.reduce((n, v) => n + v.value, 0), 3, 'three CDS responses ACKed (the NACKed one is not)');
  const dump = server.configDump('envoy-1') as any;
  assert.equal(dump.protocol, 'delta');
  assert.deepEqual(dump.resources[CLUSTER_TYPE].resources.map((r: any) => [r.name, r.connect_timeout]), [['a', '2s']]);
  assert.deepEqual(dump.resources[ENDPOINT_TYPE].subscribed, ['a', 'b', 'not-yet']);
});

test('delta ADS: a reconnecting client that reports its versions is not sent them again', async (t) => {
  const { cache, server, delta, disconnects } = await setup(t);
  cache.setSnapshot('default', snapshot());
  const s1 = delta();
  s1.send({ node: NODE, typeUrl: CLUSTER_TYPE });
  const cds = await s1.next();
  ack(s1, cds);
  s1.send({ typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ['a', 'b'] });
  const eds = await s1.next();
  ack(s1, eds);
  s1.call.end();
  await waitFor(() => server.connectedCount === 0, 'the first stream to close');
  assert.deepEqual(disconnects, [0]);

  // While away, b's endpoints changed.
  cache.setSnapshot('default', snapshot({ endpoints: { a: '10.0.0.1', b: '10.0.0.7' } }));
  const s2 = delta();
  s2.send({ node: NODE, typeUrl: CLUSTER_TYPE, initialResourceVersions: versions(cds) });
  s2.send({ typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ['a', 'b'], initialResourceVersions: versions(eds) });
  const again = await s2.next();
  assert.deepEqual([again.typeUrl, names(again), again.removedResources], [ENDPOINT_TYPE, ['b'], []], 'only the endpoint that changed');
  ack(s2, again);
  await s2.quiet();
  await waitFor(() => server.syncz()[0]?.types.EDS?.status === 'SYNCED', 'EDS SYNCED');
  assert.deepEqual([server.syncz()[0].types.CDS.status, server.syncz()[0].types.CDS.nonceSent], ['SYNCED', null], 'nothing CDS had to be sent');
  assert.equal(server.syncz()[0].types.CDS.resources, 2, 'the reported clusters count as held');

  // A third connection holding a cluster that no longer exists is told to remove it.
  s2.call.end();
  await waitFor(() => server.connectedCount === 0, 'the second stream to close');
  const s3 = delta();
  s3.send({ node: NODE, typeUrl: CLUSTER_TYPE, initialResourceVersions: { ...versions(cds), gone: 'h0' } });
  const removal = await s3.next();
  assert.deepEqual([names(removal), removal.removedResources], [[], ['gone']]);
});

test('delta and state-of-the-world streams of one node key are pushed alike and counted together', async (t) => {
  const { cache, server, delta, sotw, disconnects } = await setup(t);
  cache.setSnapshot('default', snapshot());
  const d = delta();
  d.send({ node: NODE, typeUrl: ENDPOINT_TYPE, resourceNamesSubscribe: ['a'] });
  ack(d, await d.next());
  const s = sotw();
  s.send({ node: { ...NODE, id: 'envoy-2' }, typeUrl: ENDPOINT_TYPE, resourceNames: ['a'] });
  const first = await s.next();
  s.send({ typeUrl: ENDPOINT_TYPE, versionInfo: first.versionInfo, responseNonce: first.nonce, resourceNames: ['a'] });
  await waitFor(() => server.syncz().length === 2, 'two proxies in syncz');
  assert.deepEqual(server.syncz().map((p) => [p.id, p.protocol]), [['envoy-1', 'delta'], ['envoy-2', 'sotw']]);
  assert.equal(server.connectedCount, 2);
  assert.notEqual(server.syncz()[0].stream, server.syncz()[1].stream, 'stream numbers are shared across both kinds');

  cache.setSnapshot('default', snapshot({ endpoints: { a: '10.0.0.5', b: '10.0.0.2' } }));
  const [dr, sr] = [await d.next(), await s.next()];
  assert.deepEqual(names(dr), ['a']);
  assert.equal((decodeResource(sr.resources[0]) as any).endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address, '10.0.0.5');

  d.call.end();
  await waitFor(() => disconnects.length === 1, 'the delta stream to close');
  assert.deepEqual(disconnects, [1], 'the SotW stream still uses the key');
  s.call.end();
  await waitFor(() => disconnects.length === 2, 'the SotW stream to close');
  assert.deepEqual(disconnects, [1, 0]);
});

test('delta ADS: a stream whose first request has no node is rejected with INVALID_ARGUMENT', async (t) => {
  const { delta } = await setup(t);
  const s = delta();
  s.send({ typeUrl: CLUSTER_TYPE });
  const st = await s.ended;
  assert.equal(st.code, 3);
  assert.match(st.details, /node/);
});
