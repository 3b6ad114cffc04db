// The controller wired end to end on loopback: a fake source and translator → ADS client, admin HTTP,
// proxy-status, and a translation error that keeps the previous configuration.

import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test } from 'node:test';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { Logger } from '../observability/logger';
import { adsClient, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from '../xds/ads-service';
import { decodeResource } from '../xds/protos';
import { CLUSTER_TYPE } from '../xds/type-urls';
import { formatProxyStatus } from './admin/proxy-status';
import { controllerCommand, proxyStatusCommand } from './command';
import { Controller } from './controller';
import type { ChangeTimes, MeshSource, NodeInfo, Snapshot } from './types';
import { FakeClock } from '../clock/fake-clock.fixture';

interface FakeModel {
  clusters: string[];
}

class FakeSource implements MeshSource<FakeModel> {
  private cb: ((m: FakeModel, times?: ChangeTimes) => void) | null = null;
  constructor(private model: FakeModel) {}
  async start(onChange: (m: FakeModel, times?: ChangeTimes) => void): Promise<void> {
    this.cb = onChange;
    onChange(this.model);
  }
  async stop(): Promise<void> {
    this.cb = null;
  }
  set(m: FakeModel, times?: ChangeTimes): void {
    this.model = m;
    this.cb?.(m, times);
  }
  debug() {
    return { source: 'fake', clusters: this.model.clusters.length };
  }
}

const translations: string[] = [];
function translate(model: FakeModel, node: NodeInfo): Snapshot {
  translations.push(node.id);
  const m = new Map<string, Record<string, unknown>>();
  for (const c of model.clusters) m.set(c, c === 'bad' ? { name: c, lb_policy: 'NOPE' } : { name: c, connect_timeout: '1s', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
  return { [CLUSTER_TYPE]: m };
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function nextResponse(call: ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>): Promise<DiscoveryResponseMsg> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no response')), 3000);
    call.once('data', (r: DiscoveryResponseMsg) => {
      clearTimeout(t);
      resolve(r);
    });
  });
}

async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('controller: model → snapshot → ADS; model change pushes; bad translation keeps the last config; admin views', async (t) => {
  const source = new FakeSource({ clusters: ['a'] });
  const controller = new Controller<FakeModel>({
    source,
    translate,
    xdsAddress: { host: '127.0.0.1', port: 0 },
    plaintextXdsAddress: { host: '127.0.0.1', port: 0 },
    adminAddress: { host: '127.0.0.1', port: 0 },
    debounceMs: 10,
    logger: new Logger('test', 'off'),
  });
  const ports = await controller.start();
  const Client = adsClient();
  const client = new Client(`127.0.0.1:${ports.plaintextXds}`, credentials.createInsecure());
  t.after(async () => {
    client.close();
    await controller.stop();
  });
  assert.equal((await httpGet(ports.admin!, '/healthz')).status, 200);
  assert.equal((await httpGet(ports.admin!, '/readyz')).status, 200);

  const call = client.StreamAggregatedResources() as ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>;
  call.write({ node: { id: 'p1', userAgentName: 'ferry' }, typeUrl: CLUSTER_TYPE });
  const first = await nextResponse(call);
  assert.deepEqual(first.resources.map((r) => decodeResource(r).name), ['a']);
  call.write({ typeUrl: CLUSTER_TYPE, versionInfo: first.versionInfo, responseNonce: first.nonce });

  source.set({ clusters: ['a', 'b'] });
  const second = await nextResponse(call);
  assert.deepEqual(second.resources.map((r) => decodeResource(r).name), ['a', 'b']);
  call.write({ typeUrl: CLUSTER_TYPE, versionInfo: second.versionInfo, responseNonce: second.nonce });

  source.set({ clusters: ['a', 'bad'] });
  await waitFor(async () => JSON.parse((await httpGet(ports.admin!, '/debug/controller')).body).translateErrors === 1);
  const debug = JSON.parse((await httpGet(ports.admin!, '/debug/controller')).body);
  assert.equal(debug.translateErrors, 1);
  assert.match(debug.lastTranslateError, /CDS\[bad\]\.lb_policy/);
  assert.deepEqual(JSON.parse((await httpGet(ports.admin!, '/debug/registry')).body), { source: 'fake', clusters: 2 });

  await waitFor(async () => JSON.parse((await httpGet(ports.admin!, '/debug/syncz')).body)[0]?.types?.CDS?.status === 'SYNCED');
  const syncz = JSON.parse((await httpGet(ports.admin!, '/debug/syncz')).body);
  assert.equal(syncz[0].id, 'p1');
  assert.equal(syncz[0].kind, 'ferry');
  assert.equal(syncz[0].types.CDS.versionAcked, second.versionInfo);

  const dump = await httpGet(ports.admin!, '/debug/config_dump?proxy=p1');
  assert.equal(dump.status, 200);
  assert.deepEqual(JSON.parse(dump.body).resources[CLUSTER_TYPE].resources.map((r: { name: string }) => r.name), ['a', 'b']);
  assert.equal((await httpGet(ports.admin!, '/debug/config_dump?proxy=nope')).status, 404);
  assert.equal((await httpGet(ports.admin!, '/debug/config_dump')).status, 400);

  const metrics = (await httpGet(ports.admin!, '/metrics')).body;
  assert.match(metrics, /ferry_controller_connected_proxies\{kind="ferry"\} 1/);
  assert.match(metrics, /ferry_controller_pushes_total\{type="CDS"\} 2/);
  assert.match(metrics, /ferry_controller_convergence_seconds_count\{type="CDS"\} 2/);

  // proxy-status against the live admin port
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    assert.equal(await proxyStatusCommand(['--controller-admin', `127.0.0.1:${ports.admin}`]), 0);
  } finally {
    process.stdout.write = write;
  }
  assert.match(out.join(''), /^NAME\s+KIND\s+CDS\s+LDS\s+EDS\s+RDS\s+VERSION\np1\s+ferry\s+SYNCED\s+NOT SENT\s+NOT SENT\s+NOT SENT\s+\w+\n$/);
  call.end();
});

test('proxy-status table: statuses and NACK details', () => {
  const t = (status: string, lastNack: unknown = null) => ({ status, versionSent: 'v2', versionAcked: 'v1', nonceSent: '1', resources: 1, lastNack });
  const text = formatProxyStatus([
    { id: 'envoy-1', kind: 'envoy', userAgent: 'envoy', nodeKey: 'k', stream: 1, connectedAt: '', types: { CDS: t('SYNCED'), LDS: t('STALE'), EDS: t('NACKED', { version: 'v2', message: 'bad port', at: '' }) } as never },
  ]);
  assert.equal(
    text,
    'NAME      KIND    CDS      LDS     EDS      RDS        VERSION\n' +
      'envoy-1   envoy   SYNCED   STALE   NACKED   NOT SENT   v1\n' +
      '\nenvoy-1 EDS NACK of v2: bad port\n',
  );
});

test('ferry controller: flag errors name the flag', async () => {
  const cases: [string[], RegExp][] = [
    [[], /--registry/],
    [['--registry', 'file:/x'], /--insecure-xds/],
    [['--registry', 'etcd', '--insecure-xds'], /--registry: "etcd"/],
    [['--registry', 'file:/x', '--insecure-xds', '--debounce-ms', '-1'], /--debounce-ms/],
    [['--registry', 'file:/x', '--insecure-xds', '--xds-address', 'nope'], /--xds-address/],
  ];
  for (const [argv, re] of cases) await assert.rejects(controllerCommand(argv, { translate: translate as never }), re, argv.join(' '));
});

test('controller: the quiet period runs from the source’s last event, not from when the model arrived', async (t) => {
  const clock = new FakeClock();
  const source = new FakeSource({ clusters: ['a'] });
  const controller = new Controller<FakeModel>({
    source,
    translate,
    xdsAddress: { host: '127.0.0.1', port: 0 },
    debounceMs: 100,
    clock,
    logger: new Logger('test', 'off'),
  });
  const ports = await controller.start();
  const Client = adsClient();
  const client = new Client(`127.0.0.1:${ports.xds}`, credentials.createInsecure());
  t.after(async () => {
    client.close();
    await controller.stop();
  });
  const call = client.StreamAggregatedResources() as ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>;
  call.write({ node: { id: 'p2', userAgentName: 'ferry' }, typeUrl: CLUSTER_TYPE });
  const first = await nextResponse(call);
  call.write({ typeUrl: CLUSTER_TYPE, versionInfo: first.versionInfo, responseNonce: first.nonce });
  clock.advance(100); // the connect's own snapshot change: nothing new to push
  await waitFor(() => controller.ads.syncz()[0]?.types.CDS?.status === 'SYNCED');

  // The source saw the change 60 ms ago (and an earlier event of it 80 ms ago): due in 40 ms.
  source.set({ clusters: ['a', 'b'] }, { firstEventAt: clock.now() - 80, lastEventAt: clock.now() - 60 });
  const pushed = nextResponse(call);
  clock.advance(39);
  assert.equal(controller.ads.syncz()[0].types.CDS.versionSent, first.versionInfo, 'not pushed before the quiet period ends');
  assert.equal(controller.ads.syncz()[0].types.CDS.status, 'STALE', 'a push is pending');
  clock.advance(1);
  const second = await pushed;
  assert.deepEqual(second.resources.map((r) => decodeResource(r).name), ['a', 'b']);
  // Event times from another clock (the future, or beyond the bound) count as "now".
  source.set({ clusters: ['a'] }, { firstEventAt: clock.now() + 5_000, lastEventAt: clock.now() + 5_000 });
  const third = nextResponse(call);
  clock.advance(99);
  assert.equal(controller.ads.syncz()[0].types.CDS.versionSent, second.versionInfo);
  clock.advance(1);
  assert.deepEqual((await third).resources.map((r) => decodeResource(r).name), ['a']);
});
