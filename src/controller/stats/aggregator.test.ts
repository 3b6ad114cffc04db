// The aggregator's tables: rates across counter resets, success, quantiles from bucket increases, mTLS share, edges, bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../../observability/prom-text';
import { samplesText, StatsAggregator, type GroupView } from './aggregator';
import type { TargetIdentity, WorkloadResolver } from './classify';
import { statsDocument } from './mesh-stats';

const WEB: TargetIdentity = { namespace: 'shop', pod: 'web-0', workload: 'web' };

/** Inbound labels of the `web` sidecar, as request-stats.ts writes them. */
function inbound(extra: Record<string, string> = {}): Record<string, string> {
  return {
    reporter: 'destination',
    source_workload: 'unknown',
    source_workload_namespace: 'shop',
    source_principal: 'spiffe://cluster.local/ns/shop/sa/frontend',
    destination_service: 'web.shop.svc.cluster.local',
    destination_service_name: 'web',
    destination_service_namespace: 'shop',
    destination_cluster: 'inbound|8080||',
    request_protocol: 'http',
    response_code: '200',
    grpc_response_status: '-',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
    ...extra,
  };
}

function req(value: number, labels = inbound()): Sample {
  return { name: 'ferry_requests_total', labels, value };
}

/** Cumulative buckets (seconds) for one series. */
function buckets(counts: [number, number][], labels = inbound()): Sample[] {
  return counts.map(([le, value]) => ({ name: 'ferry_request_duration_seconds_bucket', labels: { le: le === Infinity ? '+Inf' : String(le), ...labels }, value }));
}

/** Runs ticks 5 s apart; each tick is `target id → samples`. */
function run(ticks: Record<string, Sample[]>[], agg = new StatsAggregator()): StatsAggregator {
  ticks.forEach((tick, i) => {
    agg.beginTick();
    for (const [id, samples] of Object.entries(tick)) agg.ingest(id, { ...WEB, pod: id }, samplesText(samples));
    agg.endTick(i * 5000, 1_700_000_000_000 + i * 5000);
  });
  return agg;
}

function one(agg: StatsAggregator, kind: GroupView['kind'], key: string, windowMs = 3_600_000): GroupView {
  const v = agg.view({ kind, windowMs }).find((g) => g.key === key);
  assert.ok(v, `no ${kind} ${key}; have ${agg.view({ windowMs }).map((g) => `${g.kind}:${g.key}`).join(', ')}`);
  return v;
}

const rateCases: { name: string; values: number[]; rps: number; requests: number }[] = [
  { name: 'steady counter', values: [100, 150, 200, 250], rps: 150 / 15, requests: 150 },
  // 100 → 150 (+50), restart → 20 (+20, the whole new value), → 50 (+30): 100 in 15 s, as rate() says
  { name: 'a reset counts the new value, not a negative step', values: [100, 150, 20, 50], rps: 100 / 15, requests: 100 },
  // a reset to 0 then no traffic
  { name: 'reset to zero', values: [10, 40, 0, 0], rps: 30 / 15, requests: 30 },
  { name: 'the first scrape is only a baseline', values: [1000, 1000], rps: 0, requests: 0 },
];
for (const c of rateCases) {
  test(`aggregator rate: ${c.name}`, () => {
    const agg = run(c.values.map((v) => ({ 'web-0': [req(v)] })));
    const s = one(agg, 'workload', 'shop/web').stats;
    assert.equal(s.requests, c.requests);
    assert.equal(s.rps, Math.round(c.rps * 1000) / 1000);
  });
}

test('aggregator rate: a series born after its target was first scraped counts from zero; resets are per series', () => {
  const err = inbound({ response_code: '503' });
  const agg = run([
    { 'web-0': [req(10)] },
    { 'web-0': [req(20), req(4, err)] }, // the 503 series is new: all 4 happened since the last scrape
    { 'web-0': [req(5), req(6, err)] }, // only the 200 series reset: +5 and +2
  ]);
  const s = one(agg, 'workload', 'shop/web').stats;
  assert.equal(s.requests, 10 + 4 + 5 + 2);
  assert.equal(s.successRate, Math.round((1 - 6 / 21) * 10000) / 10000);
});

test('aggregator: series of several targets sum into their workload; each pod keeps its own', () => {
  const agg = run([
    { 'web-0': [req(0)], 'web-1': [req(0)] },
    { 'web-0': [req(50)], 'web-1': [req(25)] },
  ]);
  assert.equal(one(agg, 'workload', 'shop/web').stats.requests, 75);
  assert.equal(one(agg, 'pod', 'shop/web-0').stats.requests, 50);
  assert.equal(one(agg, 'pod', 'shop/web-1').stats.requests, 25);
});

test('aggregator quantiles: p50/p95/p99 from the bucket increases in the window, in ms, as histogram_quantile gives them', () => {
  // The increase between the two scrapes is the known histogram of quantile.test.ts (10/30/40/50).
  const before: [number, number][] = [[0.1, 5], [0.5, 5], [1, 5], [Infinity, 5]];
  const after: [number, number][] = [[0.1, 15], [0.5, 35], [1, 45], [Infinity, 55]];
  const agg = run([{ 'web-0': buckets(before) }, { 'web-0': buckets(after) }]);
  assert.deepEqual(one(agg, 'workload', 'shop/web').stats.latencyMs, { p50: 400, p95: 1000, p99: 1000 });
});

test('aggregator quantiles: Istio millisecond buckets are read in their unit; no traffic gives no quantile', () => {
  const ms = (counts: [number, number][]): Sample[] =>
    counts.map(([le, value]) => ({ name: 'istio_request_duration_milliseconds_bucket', labels: { ...inbound(), le: le === Infinity ? '+Inf' : String(le) }, value }));
  const agg = run([{ 'web-0': ms([[100, 0], [500, 0], [Infinity, 0]]) }, { 'web-0': ms([[100, 10], [500, 30], [Infinity, 30]]) }, { 'web-0': ms([[100, 10], [500, 30], [Infinity, 30]]) }]);
  // 10 ≤ 100 ms, 20 in (100, 500]: rank 15 → 100 + 400 × 5/20
  assert.equal(one(agg, 'workload', 'shop/web').stats.latencyMs.p50, 200);
  assert.equal(one(agg, 'workload', 'shop/web', 5000).stats.latencyMs.p50, null, 'the last 5 s had no requests');
});

test('aggregator mTLS share: inbound requests and connections over mutual_tls; outbound views say nothing', () => {
  const plain = inbound({ connection_security_policy: 'none', source_principal: 'unknown' });
  const tcp = (v: number, policy: string): Sample => ({ name: 'ferry_tcp_connections_opened_total', labels: { reporter: 'destination', destination_service_name: 'web', destination_service_namespace: 'shop', source_principal: 'unknown', connection_security_policy: policy }, value: v });
  const outbound = { reporter: 'source', source_workload: 'web', source_workload_namespace: 'shop', destination_service_name: 'db', destination_service_namespace: 'shop', destination_service: 'db.shop.svc.cluster.local', response_code: '200', connection_security_policy: 'none' };
  const agg = run([
    { 'web-0': [req(0), req(0, plain), tcp(0, 'mutual_tls'), req(0, outbound)] },
    { 'web-0': [req(5), req(2, plain), tcp(1, 'mutual_tls'), req(9, outbound)] },
  ]);
  assert.equal(one(agg, 'workload', 'shop/web').stats.mtlsShare, 0.75); // (5 + 1) / (5 + 2 + 1)
  assert.equal(one(agg, 'service', 'shop/db').stats.mtlsShare, null);
  assert.equal(one(agg, 'service', 'shop/db').stats.rps, 1.8);
});

test('aggregator TCP: open connections are opened − closed now; bytes are rates', () => {
  const l = { reporter: 'destination', destination_service_name: 'web', destination_service_namespace: 'shop', source_principal: 'unknown', connection_security_policy: 'none' };
  const tick = (opened: number, closed: number, sent: number): Sample[] => [
    { name: 'ferry_tcp_connections_opened_total', labels: l, value: opened },
    { name: 'ferry_tcp_connections_closed_total', labels: l, value: closed },
    { name: 'ferry_tcp_sent_bytes_total', labels: l, value: sent },
  ];
  const agg = run([{ 'web-0': tick(3, 1, 0) }, { 'web-0': tick(13, 6, 50_000) }]);
  const s = one(agg, 'workload', 'shop/web').stats;
  assert.deepEqual(s.tcp, { open: 7, openedPerS: 2, sentBytesPerS: 10_000, receivedBytesPerS: 0 });
});

test('aggregator edges: the callee side names the caller through the resolver, the caller side names the callee workload behind the service', () => {
  const resolver: WorkloadResolver = {
    serviceWorkload: (ns, svc) => (ns === 'shop' && svc === 'web-svc' ? 'shop/web' : null),
    principalWorkload: (p) => (p === 'spiffe://cluster.local/ns/shop/sa/frontend' ? 'shop/frontend' : null),
  };
  const agg = new StatsAggregator();
  agg.setResolver(resolver);
  const outbound = { reporter: 'source', source_workload: 'frontend', source_workload_namespace: 'shop', destination_service_name: 'web-svc', destination_service_namespace: 'shop', response_code: '200', connection_security_policy: 'none' };
  const FRONT: TargetIdentity = { namespace: 'shop', pod: 'frontend-0', workload: 'frontend' };
  for (const [i, v] of [0, 10].entries()) {
    agg.beginTick();
    agg.ingest('shop/web-0', WEB, samplesText([req(v)]));
    agg.ingest('shop/frontend-0', FRONT, samplesText([req(v, outbound)]));
    agg.endTick(i * 5000, i * 5000);
  }
  const into = one(agg, 'edge-in', 'shop/frontend → shop/web');
  assert.deepEqual(into.principals, ['spiffe://cluster.local/ns/shop/sa/frontend']);
  assert.equal(into.stats.mtlsShare, 1);
  assert.equal(one(agg, 'edge-out', 'shop/frontend → shop/web').stats.rps, 2);

  const doc = statsDocument({
    views: agg.view({ windowMs: 60_000 }),
    pods: [
      { namespace: 'shop', pod: 'web-0', workload: 'web', ips: ['10.0.0.2'], serviceAccount: 'web', identity: 'spiffe://cluster.local/ns/shop/sa/web', meshed: true },
      { namespace: 'shop', pod: 'legacy-0', workload: 'legacy', ips: ['10.0.0.3'], serviceAccount: 'legacy', identity: 'spiffe://cluster.local/ns/shop/sa/legacy', meshed: false },
    ],
    targets: [],
    health: [],
    intervalMs: 5000,
    windowMs: 60_000,
    at: 0,
  });
  assert.equal(doc.edges.length, 1, 'both sides of the edge meet as one');
  const e = doc.edges[0];
  assert.deepEqual([e.source, e.destination, e.mtls, e.clientIdentities, e.serverIdentities], ['shop/frontend', 'shop/web', 'mtls', ['spiffe://cluster.local/ns/shop/sa/frontend'], ['spiffe://cluster.local/ns/shop/sa/web']]);
  assert.equal(e.client?.rps, 2);
  assert.equal(e.server?.rps, 2);
  const legacy = doc.workloads.find((w) => w.name === 'legacy')!;
  assert.deepEqual([legacy.pods, legacy.stats], [{ total: 1, meshed: 0 }, null], 'an unmeshed registry pod is listed, without stats');
});

test('aggregator bounds: the ring keeps windowSize snapshots; the window picks the span asked for', () => {
  const agg = run(Array.from({ length: 70 }, (_, i) => ({ 'web-0': [req(i * 10)] })), new StatsAggregator({ windowSize: 60 }));
  const all = agg.view({ kind: 'workload', windowMs: 3_600_000, series: true })[0];
  assert.equal(all.stats.windowS, 59 * 5, 'the oldest snapshots fell out');
  assert.equal(all.series!.length, 59);
  assert.equal(all.stats.rps, 2);
  assert.equal(agg.view({ kind: 'workload', windowMs: 10_000 })[0].stats.windowS, 10);
});

test('aggregator bounds: a group unseen for a whole window is dropped; forgotten targets start over; maxGroups caps groups', () => {
  const agg = new StatsAggregator({ windowSize: 3, maxGroups: 4 });
  const tick = (samples: Record<string, Sample[]>, i: number): void => {
    agg.beginTick();
    for (const [id, s] of Object.entries(samples)) agg.ingest(id, { ...WEB, pod: id }, samplesText(s));
    agg.endTick(i * 5000, i * 5000);
  };
  tick({ 'web-0': [req(1)] }, 0);
  assert.equal(agg.groupCount, 3); // workload, pod, edge-in
  for (let i = 1; i <= 3; i++) tick({}, i);
  assert.equal(agg.groupCount, 0);
  agg.retainTargets(new Set());
  assert.equal(agg.targetCount, 0);
  tick({ 'web-0': [req(1)], 'web-1': [req(1, inbound({ source_principal: 'spiffe://cluster.local/ns/shop/sa/cart' }))] }, 4);
  assert.equal(agg.groupCount, 4, 'the second pod got a pod group, its edge was dropped');
  assert.equal(agg.droppedSamples, 1);
  assert.throws(() => new StatsAggregator({ windowSize: 1 }), /windowSize: 1 must be an integer >= 2/);
});

test('aggregator text: comments and other families are skipped; timestamps, CRLF, braces and escapes inside label values are read', () => {
  const line = (v: number): string =>
    `ferry_requests_total{reporter="destination",destination_service_name="web",destination_service_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/frontend",response_flags="a}b \\"q\\"",response_code="200",connection_security_policy="mutual_tls"} ${v} 1700000000000\r`;
  const text = (v: number): string => ['# HELP ferry_requests_total x', '# TYPE ferry_requests_total counter', 'ferry_process_cpu_seconds_total 12', line(v), 'ferry_requests_total{broken 3', ''].join('\n');
  const agg = new StatsAggregator();
  for (const [i, v] of [1, 4].entries()) {
    agg.beginTick();
    agg.ingest('shop/web-0', WEB, text(v));
    agg.endTick(i * 5000, i * 5000);
  }
  const s = one(agg, 'workload', 'shop/web').stats;
  assert.equal(s.requests, 3);
  assert.equal(s.mtlsShare, 1);
  assert.deepEqual(agg.view({ windowMs: 60_000 }).map((g) => g.kind), ['edge-in', 'pod', 'workload']);
});
