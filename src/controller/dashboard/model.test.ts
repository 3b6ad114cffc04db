// The page's view model (static/model.mjs, plain browser JS) on /api/stats documents: graph, edge marks, table cells, routes, chart columns.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { EdgeEntry, StatsDocument, WorkloadEntry } from '../stats/mesh-stats';
import type { GoldenStats } from '../stats/aggregator';
import { STATIC_DIR } from './dashboard';

type Model = Record<string, (...args: any[]) => any>;
const load = (): Promise<Model> => import(pathToFileURL(join(STATIC_DIR, 'model.mjs')).href) as Promise<Model>;

function golden(over: Partial<GoldenStats> = {}): GoldenStats {
  return {
    windowS: 30,
    requests: 150,
    rps: 5.002,
    successRate: 0.9804,
    latencyMs: { p50: 2.845, p95: 161.731, p99: 232.346 },
    tcp: { open: 0, openedPerS: 0, sentBytesPerS: 0, receivedBytesPerS: 0 },
    mtlsShare: 1,
    ...over,
  };
}

function workload(namespace: string, name: string, meshed: number, total: number, stats: GoldenStats | null = null): WorkloadEntry {
  return { namespace, name, pods: { meshed, total }, stats };
}

function edge(source: string, destination: string, over: Partial<EdgeEntry> = {}): EdgeEntry {
  return { source, destination, clientIdentities: [`spiffe://cluster.local/ns/shop/sa/${source.split('/')[1]}`], serverIdentities: [], mtls: 'mtls', client: golden({ mtlsShare: null }), server: golden(), ...over };
}

const TCP = golden({ requests: 0, rps: 0, successRate: null, latencyMs: { p50: null, p95: null, p99: null }, tcp: { open: 2, openedPerS: 5.002, sentBytesPerS: 26.7, receivedBytesPerS: 160 } });

const DOC: StatsDocument = {
  generatedAt: '2026-01-01T00:00:00.000Z',
  intervalMs: 5000,
  windowMs: 60000,
  targets: { total: 3, up: 3, down: [] },
  workloads: [
    workload('legacy', 'ledger', 0, 1),
    workload('shop', 'catalog', 3, 3, golden()),
    workload('shop', 'frontend', 1, 1, golden({ successRate: 1, rps: 12.345 })),
    workload('shop', 'half', 1, 2, golden({ mtlsShare: 0.5 })),
    workload('shop', 'store', 1, 1, TCP),
  ],
  pods: [
    { namespace: 'shop', name: 'catalog-v1-0', workload: 'catalog', meshed: true, scrape: { address: '10.0.0.2:15090', up: true, error: null }, stats: golden() },
    { namespace: 'legacy', name: 'ledger-0', workload: 'ledger', meshed: false, scrape: null, stats: null },
  ],
  services: [],
  edges: [
    edge('shop/frontend', 'shop/catalog', { serverIdentities: ['spiffe://cluster.local/ns/shop/sa/catalog'] }),
    edge('shop/frontend', 'legacy/ledger', { mtls: null, server: null, clientIdentities: [] }),
    edge('unknown', 'shop/half', { mtls: 'mixed' }),
    edge('shop/cart', 'shop/store', { client: TCP, server: TCP }),
    edge('shop/a', 'shop/b', { mtls: 'plaintext' }),
    edge('shop/c', 'shop/catalog', { mtls: null, server: null }),
  ],
};

test('graph: every workload a node marked meshed/partial/unmeshed; callers outside the registry become nodes of their own', async () => {
  const { graphModel } = await load();
  const g = graphModel(DOC);
  assert.deepEqual(
    g.nodes.map((n: any) => [n.id, n.mesh]),
    [['legacy/ledger', 'unmeshed'], ['shop/catalog', 'meshed'], ['shop/frontend', 'meshed'], ['shop/half', 'partial'], ['shop/store', 'meshed'],
      ['unknown', 'external'], ['shop/cart', 'external'], ['shop/a', 'external'], ['shop/b', 'external'], ['shop/c', 'external']],
  );
  assert.equal(g.nodes[0].label, 'ledger (unmeshed)\nlegacy · 0/1 meshed');
  assert.equal(g.nodes[1].label, 'catalog\nshop · 3/3 meshed');
  assert.equal(g.nodes[5].label, 'unknown caller\n(plaintext)');
});

test('graph edges: the destination side’s rate and success, TCP as connections, and an mTLS mark that tells plaintext and mixed apart', async () => {
  const { graphModel } = await load();
  const g = graphModel(DOC);
  assert.deepEqual(
    g.edges.map((e: any) => [e.id, e.security, e.label]),
    [
      ['shop/frontend->shop/catalog', 'mtls', '5.00 rps · 98.0% · mTLS'],
      // No inbound data, but the destination has no sidecar at all: plaintext, from the caller's side.
      ['shop/frontend->legacy/ledger', 'plaintext', '5.00 rps · 98.0% · plain'],
      ['unknown->shop/half', 'mixed', '5.00 rps · 98.0% · mixed'],
      ['shop/cart->shop/store', 'mtls', '5.00 conn/s · TCP · mTLS'],
      ['shop/a->shop/b', 'plaintext', '5.00 rps · 98.0% · plain'],
      ['shop/c->shop/catalog', 'unknown', '5.00 rps · 98.0% · ?'],
    ],
  );
  assert.equal(g.edges[0].sentence, '5.00 rps, 98.04% success, p99 232 ms, mTLS');
  assert.equal(g.edges[2].sentence, '5.00 rps, 98.04% success, p99 232 ms, mixed: part plaintext');
  assert.equal(g.edges[3].sentence, '5.00 TCP connections/s, 187 B/s, mTLS');
  assert.equal(g.edges[0].rps, 5.002);
});

test('table: the golden metrics of every workload, "-" where there is no traffic', async () => {
  const { workloadRows } = await load();
  const rows = workloadRows(DOC);
  assert.deepEqual(rows.map((r: any) => [r.key, r.mesh, ...Object.values(r.cells)]), [
    ['legacy/ledger', 'unmeshed', '0/1', '-', '-', '-', '-', '-', '-', '-'],
    ['shop/catalog', 'meshed', '3/3', '98.04%', '5.00 rps', '2.85 ms', '162 ms', '232 ms', '0', '100%'],
    ['shop/frontend', 'meshed', '1/1', '100%', '12.3 rps', '2.85 ms', '162 ms', '232 ms', '0', '100%'],
    ['shop/half', 'partial', '1/2', '98.04%', '5.00 rps', '2.85 ms', '162 ms', '232 ms', '0', '50%'],
    ['shop/store', 'meshed', '1/1', '-', '0.00 rps', '-', '-', '-', '2', '100%'],
  ]);
});

test('formats: rates, shares, milliseconds to seconds, bytes', async () => {
  const { fmtRps, fmtPct, fmtMs, fmtBytes } = await load();
  assert.deepEqual([null, 0, 0.5, 9.999, 10, 123.45].map(fmtRps), ['-', '0.00 rps', '0.50 rps', '10.00 rps', '10.0 rps', '123.5 rps']);
  assert.deepEqual([null, 0, 1, 0.98765].map((v) => fmtPct(v)), ['-', '0%', '100%', '98.77%']);
  assert.deepEqual([null, 0.123, 12.34, 150, 1234].map(fmtMs), ['-', '0.12 ms', '12.3 ms', '150 ms', '1.23 s']);
  assert.deepEqual([0, 1023, 1536, 5 * 1024 * 1024].map(fmtBytes), ['0 B/s', '1023 B/s', '1.5 KiB/s', '5.0 MiB/s']);
});

test('routes: #/workload/NS/NAME opens a workload (names decoded), anything else the overview', async () => {
  const { parseRoute, workloadHref } = await load();
  const cases: [string, unknown][] = [
    ['', { view: 'overview' }],
    ['#/', { view: 'overview' }],
    ['#/workload/shop/catalog', { view: 'workload', namespace: 'shop', name: 'catalog' }],
    ['#/workload/a%2Fb/c%20d', { view: 'workload', namespace: 'a/b', name: 'c d' }],
    ['#/workload/shop', { view: 'overview' }],
    ['#/workload/shop/catalog/extra', { view: 'overview' }],
    ['#/workload/%E0%A4%A/x', { view: 'overview' }],
  ];
  for (const [hash, want] of cases) assert.deepEqual(parseRoute(hash), want, hash);
  assert.equal(workloadHref('shop/catalog'), '#/workload/shop/catalog');
  assert.equal(workloadHref('unknown'), null);
  assert.deepEqual(parseRoute(workloadHref('a b/c')), { view: 'workload', namespace: 'a b', name: 'c' });
});

test('a workload page: its pods and the edges in and out, each with its security', async () => {
  const { workloadDetail } = await load();
  const d = workloadDetail(DOC, 'shop', 'catalog');
  assert.equal(d.workload.name, 'catalog');
  assert.deepEqual(d.pods.map((p: any) => p.name), ['catalog-v1-0']);
  assert.deepEqual(d.inbound.map((e: any) => [e.source, e.security, e.clientIdentities]), [
    ['shop/frontend', 'mtls', ['spiffe://cluster.local/ns/shop/sa/frontend']],
    ['shop/c', 'unknown', ['spiffe://cluster.local/ns/shop/sa/c']],
  ]);
  assert.deepEqual(workloadDetail(DOC, 'shop', 'frontend').outbound.map((e: any) => [e.destination, e.security]), [['shop/catalog', 'mtls'], ['legacy/ledger', 'plaintext']]);
  assert.equal(workloadDetail(DOC, 'shop', 'nope').workload, null);
});

test('chart columns: seconds on x, p50/p99 in ms, success in percent with gaps kept; the poll follows the scrape interval within 2–10 s', async () => {
  const { chartData, pollDelayMs } = await load();
  const series = [
    { at: 1_000_000, rps: 5, successRate: 1, p50Ms: 2, p99Ms: 20, tcpOpen: 0 },
    { at: 1_005_000, rps: 0, successRate: null, p50Ms: null, p99Ms: null, tcpOpen: 0 },
    { at: 1_010_000, rps: 4, successRate: 0.75, p50Ms: 3, p99Ms: 30, tcpOpen: 1 },
  ];
  assert.deepEqual(chartData(series), {
    latency: [[1000, 1005, 1010], [2, null, 3], [20, null, 30]],
    success: [[1000, 1005, 1010], [100, null, 75]],
    rps: [[1000, 1005, 1010], [5, 0, 4]],
  });
  assert.deepEqual(chartData(undefined).latency, [[], [], []]);
  assert.deepEqual([null, { intervalMs: 500 }, { intervalMs: 5000 }, { intervalMs: 60000 }].map(pollDelayMs), [5000, 2000, 5000, 10000]);
});
