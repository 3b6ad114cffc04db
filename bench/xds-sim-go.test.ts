// Tests for the Go xDS simulator (bench/xdssim): go vet and its unit tests, then a built shard of 3 streams against the real AdsServer.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { AdsServer } from '../src/controller/ads/ads-server';
import { SnapshotCache } from '../src/controller/ads/snapshot-cache';
import type { Snapshot } from '../src/controller/types';
import { Logger } from '../src/observability/logger';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../src/xds/type-urls';
import { GO_SKIP_REASON, goMissing } from '../test/support/tools';
import { freePort } from './processes';
import { addressMarker, buildSimulator, ShardProcess, SIMULATOR_MODULE, wallNow } from './xds-sim-process';
import { simulatedNodeId } from './xds-registry';

const ROOT = path.resolve(__dirname, '..', '..');
const SKIP = goMissing() ? GO_SKIP_REASON : false;
if (SKIP) console.log(`xDS simulator tests skipped: ${SKIP}`);

// A cold module download and build of grpc-go takes about 30 s on 2 cores; later runs hit the build cache.
const BUILD_TIMEOUT_MS = 150_000;

let dir = '';
let binary = '';
before(async () => {
  if (SKIP) return;
  dir = mkdtempSync(path.join(tmpdir(), 'ferry-xdssim-'));
  binary = path.join(dir, 'ferry-xds-sim');
  await buildSimulator(ROOT, binary, BUILD_TIMEOUT_MS);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('go vet is clean and the Go unit tests pass', { skip: SKIP, timeout: BUILD_TIMEOUT_MS }, async () => {
  const go = promisify(execFile);
  for (const args of [['vet', '-C', SIMULATOR_MODULE, './...'], ['test', '-C', SIMULATOR_MODULE, './...']]) {
    await go('go', args, { cwd: ROOT, timeout: BUILD_TIMEOUT_MS }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      assert.fail(`go ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
  }
});

// Resources shaped like the controller's: EDS clusters (with and without service_name) next to one
// that is not EDS, listeners whose HTTP filters name RDS routes next to a TCP proxy, and resources
// no stream should ask for.
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const edsCluster = (name: string, serviceName?: string) => ({
  name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} }, ...(serviceName ? { service_name: serviceName } : {}) },
});
const cla = (name: string, ...ips: string[]) => ({
  cluster_name: name,
  endpoints: [{ lb_endpoints: ips.map((ip) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } } })) }],
});
const rdsFilter = (route: string) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': HCM, stat_prefix: 'x', rds: { route_config_name: route, config_source: { ads: {} } }, http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] },
});
const tcpFilter = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'PassthroughCluster' } };
const routeConfig = (name: string) => ({ name, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'outbound|80||svc-a.bench.svc.cluster.local' } }] }] });

function snapshot(secondIp: string): Snapshot {
  return {
    [CLUSTER_TYPE]: new Map<string, unknown>([
      ['outbound|80||svc-a.bench.svc.cluster.local', edsCluster('outbound|80||svc-a.bench.svc.cluster.local', 'svc-a.bench')],
      ['outbound|80||svc-b.bench.svc.cluster.local', edsCluster('outbound|80||svc-b.bench.svc.cluster.local')],
      ['PassthroughCluster', { name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' }],
    ]),
    [ENDPOINT_TYPE]: new Map<string, unknown>([
      ['svc-a.bench', cla('svc-a.bench', '10.1.0.1', '10.2.0.1')],
      ['outbound|80||svc-b.bench.svc.cluster.local', cla('outbound|80||svc-b.bench.svc.cluster.local', '10.1.0.2', secondIp)],
      ['svc-unused.bench', cla('svc-unused.bench', '10.250.0.1')],
    ]),
    [LISTENER_TYPE]: new Map<string, unknown>([
      ['outbound', {
        name: 'outbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{ filters: [rdsFilter('80')] }, { filters: [tcpFilter] }], default_filter_chain: { filters: [rdsFilter('9090')] },
      }],
      ['inbound', { name: 'inbound', address: { socket_address: { address: '0.0.0.0', port_value: 15006 } }, filter_chains: [{ filters: [rdsFilter('80')] }] }],
    ]),
    [ROUTE_TYPE]: new Map<string, unknown>([['80', routeConfig('80')], ['9090', routeConfig('9090')], ['unused', routeConfig('unused')]]),
  } as Snapshot;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const FROM = 5;
const SERVICES = 1000;

test('one shard of 3 streams: subscribes like the sidecar, ACKs, reports synced / armed / converged, stops', { skip: SKIP, timeout: 60_000 }, async (t) => {
  const cache = new SnapshotCache();
  const server = new AdsServer({ cache, logger: new Logger('test', 'off'), nodeKey: () => 'default', debounceMs: 0 });
  cache.setSnapshot('default', snapshot('10.2.0.2'));
  const port = await server.listen('127.0.0.1:0');
  const shard = new ShardProcess({ binary, target: `127.0.0.1:${port}`, from: FROM, count: 3, services: SERVICES, cpu: null, tasksetPath: null }, 0);
  t.after(async () => {
    await shard.stop();
    await server.close(200);
  });

  await shard.next('synced', 20_000);
  const ids = [FROM, FROM + 1, FROM + 2].map((j) => simulatedNodeId(j, SERVICES));
  const allAcked = () => {
    const z = server.syncz();
    return z.length === 3 && z.every((p) => ['CDS', 'EDS', 'LDS', 'RDS'].every((ty) => p.types[ty]?.status === 'SYNCED'));
  };
  await waitFor('all four types ACKed on every stream', allAcked);
  const z = server.syncz();
  assert.deepEqual(z.map((p) => p.id), ids);
  for (const p of z) assert.equal(p.userAgent, 'ferry 0.1.0', p.id);
  for (const id of ids) {
    const held = (server.configDump(id) as { resources: Record<string, { resources: Record<string, unknown>[] }> }).resources;
    assert.deepEqual(held[ENDPOINT_TYPE]!.resources.map((r) => r['cluster_name']).sort(), ['outbound|80||svc-b.bench.svc.cluster.local', 'svc-a.bench'], `${id}: EDS names`);
    assert.deepEqual(held[ROUTE_TYPE]!.resources.map((r) => r['name']).sort(), ['80', '9090'], `${id}: RDS names`);
    assert.equal(held[CLUSTER_TYPE]!.resources.length, 3, `${id}: CDS wildcard`);
  }

  shard.send({ cmd: 'expect', id: 1, marker: addressMarker('10.250.0.1').toString('hex') });
  await shard.next('armed', 5000, 1);
  // A near miss: the address the marker must not match inside. Every stream ACKs it, none converges.
  const edsVersion = () => server.syncz().map((p) => p.types['EDS']?.versionAcked);
  const before = edsVersion();
  cache.setSnapshot('default', snapshot('10.250.0.12'));
  await waitFor('the near-miss push ACKed', () => allAcked() && edsVersion().every((v, i) => v !== before[i]));
  await assert.rejects(shard.next('converged', 300, 1), /no "converged" within 300 ms/);

  const changedAt = wallNow();
  cache.setSnapshot('default', snapshot('10.250.0.1'));
  const done = await shard.next('converged', 10_000, 1);
  const seenAt = wallNow();
  assert.ok(changedAt <= done.first && done.first <= done.last && done.last <= seenAt, `times in order: ${changedAt} ≤ ${done.first} ≤ ${done.last} ≤ ${seenAt}`);
  assert.ok(done.last - changedAt < 5000, `converged ${done.last - changedAt} ms after the change`);
  await waitFor('the change ACKed', allAcked);

  await shard.stop();
  assert.equal(shard.child.exitCode, 0, `exit code ${shard.child.exitCode}, signal ${shard.child.signalCode}`);
  await waitFor('every stream closed on the server', () => server.syncz().length === 0);
});

test('a shard whose streams cannot connect reports an error naming the stream', { skip: SKIP, timeout: 30_000 }, async (t) => {
  const port = await freePort(); // nothing listens there
  const shard = new ShardProcess({ binary, target: `127.0.0.1:${port}`, from: 0, count: 2, services: SERVICES, cpu: null, tasksetPath: null }, 3);
  t.after(() => shard.stop());
  await assert.rejects(shard.next('synced', 20_000), (err: Error) => /simulator shard 3 \(streams 0–1\): stream [01]: .*Unavailable/.test(err.message));
});

test('a failed build is a FerryError naming the go command and its output', { skip: SKIP, timeout: 30_000 }, async () => {
  const notARepo = mkdtempSync(path.join(tmpdir(), 'ferry-xdssim-nomodule-'));
  try {
    await assert.rejects(buildSimulator(notARepo, path.join(notARepo, 'out')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FERRY_ERR_BENCH_XDS_SIM_BUILD');
      assert.match(err.message, /`go build -C bench\/xdssim -buildvcs=false -o \S+ \.`/);
      assert.match(err.message, /bench\/xdssim/);
      assert.match(err.message, /no such file or directory/);
      return true;
    });
  } finally {
    rmSync(notARepo, { recursive: true, force: true });
  }
});
