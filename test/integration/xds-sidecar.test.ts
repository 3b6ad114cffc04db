// The Ferry sidecar as an xDS client of the controller's ADS server: it receives clusters,
// endpoints, listeners and routes, follows endpoint changes under load without failed requests,
// NACKs a bad resource and keeps serving, and rides out the controller going away.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { AdsServer } from '../../src/controller/ads/ads-server';
import { SnapshotCache } from '../../src/controller/ads/snapshot-cache';
import type { Snapshot } from '../../src/controller/types';
import { Logger } from '../../src/observability/logger';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';
import type { Proxy } from '../../sidecar/proxy';
import { closedPort, eventually, httpUpstream, request, sleep, startProxy, type Upstream } from './support';

const SERVICE = 'outbound|80||app.default.svc.cluster.local';

function snapshot(listenerPort: number, upstreamPort: number, extraCluster?: Record<string, unknown>): Snapshot {
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'outbound_80',
    rds: { route_config_name: '80', config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
  const clusters = new Map<string, Record<string, unknown>>([
    [
      SERVICE,
      {
        name: SERVICE,
        type: 'EDS',
        connect_timeout: '1s',
        eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
      },
    ],
  ]);
  if (extraCluster) clusters.set(String(extraCluster.name), extraCluster);
  return {
    [CLUSTER_TYPE]: clusters,
    [ENDPOINT_TYPE]: new Map([
      [
        SERVICE,
        {
          cluster_name: SERVICE,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }],
        },
      ],
    ]),
    [LISTENER_TYPE]: new Map([
      [
        'outbound_80',
        {
          name: 'outbound_80',
          address: { socket_address: { address: '127.0.0.1', port_value: listenerPort } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
        },
      ],
    ]),
    [ROUTE_TYPE]: new Map([
      [
        '80',
        {
          name: '80',
          virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: SERVICE, timeout: '2s' } }] }],
        },
      ],
    ]),
  };
}

/** Requests in a loop from `n` clients until stopped; counts answers by body and failures. */
function load(port: number, n: number): { stop(): Promise<void>; bodies: Map<string, number>; failures: string[] } {
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let running = true;
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      try {
        const r = await request(port, '/', { agent });
        if (r.status !== 200) failures.push(`${r.status} ${r.headers['x-ferry-response-flags'] ?? ''} ${r.body}`);
        else bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
      } catch (err) {
        failures.push(String(err));
      }
      await sleep(5);
    }
  });
  return {
    bodies,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

describe('Ferry sidecar over ADS (dynamic-ads.yaml)', () => {
  const cache = new SnapshotCache();
  let ads: AdsServer;
  let adsPort = 0;
  let proxy: Proxy;
  let listenerPort = 0;
  let a: Upstream;
  let b: Upstream;
  const logger = new Logger('test', 'error');

  before(async () => {
    a = await httpUpstream((_req, res) => res.end('A'));
    b = await httpUpstream((_req, res) => res.end('B'));
    listenerPort = await closedPort();
    cache.setSnapshot('sidecar', snapshot(listenerPort, a.port));
    ads = new AdsServer({ cache, nodeKey: () => 'sidecar', debounceMs: 10, logger });
    adsPort = await ads.listen('127.0.0.1:0');
    proxy = await startProxy('dynamic-ads', { PORT: 0, UPSTREAM_PORT: adsPort });
  });

  after(async () => {
    await proxy?.stop();
    await ads?.close(100);
    await a?.close();
    await b?.close();
  });

  test('the proxy becomes ready with listeners, clusters, endpoints and routes from ADS', async () => {
    assert.equal(proxy.state, 'LIVE');
    assert.ok(await eventually(async () => (await request(listenerPort, '/').catch(() => ({ body: '' }))).body === 'A'));
    const sync = ads.syncz();
    assert.equal(sync.length, 1);
    assert.equal(sync[0].kind, 'ferry');
    for (const t of ['CDS', 'EDS', 'LDS', 'RDS']) assert.equal(sync[0].types[t]?.status, 'SYNCED', `${t}: ${JSON.stringify(sync[0].types[t])}`);
  });

  test('an endpoint change reaches traffic within a second, with no failed request under load', async () => {
    const l = load(listenerPort, 4);
    await sleep(300);
    const changedAt = Date.now();
    cache.setSnapshot('sidecar', snapshot(listenerPort, b.port));
    const moved = await eventually(async () => (await request(listenerPort, '/')).body === 'B', 2_000, 10);
    const tookMs = Date.now() - changedAt;
    await sleep(300);
    await l.stop();
    assert.ok(moved, 'traffic moved to the new endpoint');
    assert.ok(tookMs < 1_000, `took ${tookMs} ms`);
    assert.deepEqual(l.failures, []);
    assert.ok((l.bodies.get('A') ?? 0) > 0 && (l.bodies.get('B') ?? 0) > 0);
  });

  test('an invalid resource is NACKed with the field named; the last good config keeps serving', async () => {
    const bad = {
      name: 'broken',
      type: 'STATIC',
      connect_timeout: '1s',
      lb_policy: 'MAGLEV',
      maglev_lb_config: { table_size: 100 },
      load_assignment: { cluster_name: 'broken', endpoints: [] },
    };
    const counted = (outcome: string): number => proxy.metrics.xdsResponses.labels('Cluster', outcome).value;
    const acks = counted('ack');
    const nacks = counted('nack');
    cache.setSnapshot('sidecar', snapshot(listenerPort, b.port, bad));
    assert.ok(await eventually(() => ads.syncz()[0]?.types.CDS?.status === 'NACKED', 3_000));
    assert.equal(counted('nack'), nacks + 1, 'the NACK is counted');
    assert.equal(counted('ack'), acks);
    const nack = ads.syncz()[0].types.CDS.lastNack;
    assert.ok(nack);
    assert.match(nack.message, /table_size/);
    assert.equal((await request(listenerPort, '/')).body, 'B');
    const status = proxy.xdsStatus() as { types: Record<string, { lastNack: string | null }> };
    assert.match(status.types.Cluster.lastNack ?? '', /table_size/);
    // Fixing the resource is accepted again.
    cache.setSnapshot('sidecar', snapshot(listenerPort, b.port));
    assert.ok(await eventually(() => ads.syncz()[0]?.types.CDS?.status === 'SYNCED', 3_000));
    assert.equal(counted('ack'), acks + 1, 'the accepted fix is counted');
  });

  test('an RDS route configuration with validate_clusters: true naming an unknown cluster is NACKed', async () => {
    const s = snapshot(listenerPort, b.port);
    const rc = structuredClone(s[ROUTE_TYPE]!.get('80')!) as { validate_clusters?: boolean; virtual_hosts: { routes: { route?: { cluster: string } }[] }[] };
    rc.validate_clusters = true;
    rc.virtual_hosts[0].routes[0].route = { cluster: 'no-such-cluster' };
    cache.setSnapshot('sidecar', { ...s, [ROUTE_TYPE]: new Map([['80', rc as unknown as Record<string, unknown>]]) });
    assert.ok(await eventually(() => ads.syncz()[0]?.types.RDS?.status === 'NACKED', 3_000), 'NACKed');
    assert.match(ads.syncz()[0].types.RDS.lastNack?.message ?? '', /80\.virtual_hosts\[0\]\.routes\[0\]\.route\.cluster: unknown cluster 'no-such-cluster'/);
    assert.equal((await request(listenerPort, '/')).body, 'B', 'the last good routes keep serving');
    cache.setSnapshot('sidecar', snapshot(listenerPort, b.port));
    assert.ok(await eventually(() => ads.syncz()[0]?.types.RDS?.status === 'SYNCED', 3_000));
  });

  test('with the controller down the proxy keeps serving; it resyncs when the controller returns', async () => {
    const l = load(listenerPort, 2);
    await ads.close(100);
    await sleep(1_500);
    const during = l.bodies.get('B') ?? 0;
    assert.ok(during > 0, 'requests were served while the controller was down');
    ads = new AdsServer({ cache, nodeKey: () => 'sidecar', debounceMs: 10, logger });
    await ads.listen(`127.0.0.1:${adsPort}`);
    assert.ok(await eventually(() => ads.syncz()[0]?.types.LDS?.status === 'SYNCED', 10_000), 'the proxy reconnected and ACKed');
    await l.stop();
    assert.deepEqual(l.failures, []);
  });
});

describe('listener warming: a listener serves only once its routes have arrived', () => {
  const cache = new SnapshotCache();
  let ads: AdsServer;
  let proxy: Proxy | null = null;
  let a: Upstream;
  const logger = new Logger('test', 'error');

  /** The base snapshot with the listener's RDS name and the route configurations replaced. */
  function withRoutes(listenerPort: number, rdsName: string, routes: Record<string, Record<string, unknown>>): Snapshot {
    const s = snapshot(listenerPort, a.port);
    const l = structuredClone(s[LISTENER_TYPE]!.get('outbound_80')!) as { filter_chains: { filters: { typed_config: { rds: { route_config_name: string } } }[] }[] };
    l.filter_chains[0].filters[0].typed_config.rds.route_config_name = rdsName;
    return { ...s, [LISTENER_TYPE]: new Map([['outbound_80', l as unknown as Record<string, unknown>]]), [ROUTE_TYPE]: new Map(Object.entries(routes)) };
  }
  const direct = (name: string, body: string) => ({
    name,
    virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }] }],
  });

  before(async () => {
    a = await httpUpstream((_req, res) => res.end('A'));
    ads = new AdsServer({ cache, nodeKey: () => 'sidecar', debounceMs: 10, logger });
  });

  after(async () => {
    await proxy?.stop();
    await ads?.close(100);
    await a?.close();
  });

  test('new listener: not bound until its route configuration arrives; a changed one keeps its old routes until the new ones come', async () => {
    const port = await closedPort();
    cache.setSnapshot('sidecar', withRoutes(port, '80', {}));
    const adsPort = await ads.listen('127.0.0.1:0');
    const starting = startProxy('dynamic-ads', { PORT: 0, UPSTREAM_PORT: adsPort });
    proxy = await starting;
    assert.ok(await eventually(() => ads.syncz()[0]?.types.LDS?.status === 'SYNCED', 5_000), 'LDS ACKed');
    await sleep(200);
    assert.equal(proxy.listenerPort('outbound_80'), 0, 'not bound while warming');
    await assert.rejects(request(port, '/'), /ECONNREFUSED/);

    cache.setSnapshot('sidecar', withRoutes(port, '80', { '80': direct('80', 'eighty') }));
    assert.ok(await eventually(async () => (await request(port, '/').catch(() => ({ body: '' }))).body === 'eighty', 3_000), 'serves once warm');

    // Point the listener at route configuration 81, which does not exist yet: 80 keeps serving.
    const l = load(port, 2);
    cache.setSnapshot('sidecar', withRoutes(port, '81', { '80': direct('80', 'eighty') }));
    assert.ok(await eventually(() => ads.syncz()[0]?.types.LDS?.status === 'SYNCED', 3_000));
    await sleep(300);
    assert.deepEqual([...l.bodies.keys()], ['eighty']);
    cache.setSnapshot('sidecar', withRoutes(port, '81', { '80': direct('80', 'eighty'), '81': direct('81', 'eighty-one') }));
    assert.ok(await eventually(() => (l.bodies.get('eighty-one') ?? 0) > 0, 3_000), 'the update applies once its routes arrive');
    await l.stop();
    assert.deepEqual(l.failures, []);
  });

  test("the RDS source's initial_fetch_timeout is how long a listener warms", async () => {
    const port = await closedPort();
    const cache3 = new SnapshotCache();
    const s = withRoutes(port, 'never', {});
    const l = structuredClone(s[LISTENER_TYPE]!.get('outbound_80')!) as { filter_chains: { filters: { typed_config: { rds: { config_source: Record<string, unknown> } } }[] }[] };
    l.filter_chains[0].filters[0].typed_config.rds.config_source.initial_fetch_timeout = '0.3s';
    cache3.setSnapshot('sidecar', { ...s, [LISTENER_TYPE]: new Map([['outbound_80', l as unknown as Record<string, unknown>]]) });
    const ads3 = new AdsServer({ cache: cache3, nodeKey: () => 'sidecar', debounceMs: 10, logger });
    const adsPort = await ads3.listen('127.0.0.1:0');
    const p = await startProxy('dynamic-ads', { PORT: 0, UPSTREAM_PORT: adsPort });
    try {
      assert.ok(await eventually(() => p.listenerPort('outbound_80') !== 0, 3_000), 'bound after 0.3 s, not the default 15 s');
    } finally {
      await p.stop();
      await ads3.close(100);
    }
  });

  test('start-up waits for the first listeners only as long as the lds/cds initial_fetch_timeout', async () => {
    const unreachable = await closedPort();
    const started = Date.now();
    const p = await startProxy('dynamic-ads', { PORT: 0, UPSTREAM_PORT: unreachable }, {}, (c) => ({
      ...c,
      dynamicResources: { ...c.dynamicResources!, initialFetchTimeoutMs: 300 },
    }));
    try {
      assert.ok(Date.now() - started < 5_000, `started after ${Date.now() - started} ms without a controller, not the default 15 s`);
    } finally {
      await p.stop();
    }
  });

  test('a listener whose routes never come serves after the warming timeout', async () => {
    const port = await closedPort();
    const cache2 = new SnapshotCache();
    cache2.setSnapshot('sidecar', withRoutes(port, 'never', {}));
    const ads2 = new AdsServer({ cache: cache2, nodeKey: () => 'sidecar', debounceMs: 10, logger });
    const adsPort = await ads2.listen('127.0.0.1:0');
    const p = await startProxy('dynamic-ads', { PORT: 0, UPSTREAM_PORT: adsPort }, { warmingTimeoutMs: 300 });
    try {
      assert.ok(await eventually(() => p.listenerPort('outbound_80') !== 0, 3_000), 'bound after the timeout');
      const r = await request(port, '/');
      assert.equal(r.status, 404, 'no route configuration: 404 (NR), as Envoy answers');
    } finally {
      await p.stop();
      await ads2.close(100);
    }
  });
});
