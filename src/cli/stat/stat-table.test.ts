// The stat and edges tables from one /api/stats document: rows per resource, filters, --from, cells.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GoldenStats } from '../../controller/stats/aggregator';
import type { StatsDocument } from '../../controller/stats/mesh-stats';
import { edgeRows, formatEdges, formatStatTable, statRows, type StatQuery } from './stat-table';

function stats(rps: number, extra: Partial<GoldenStats> = {}): GoldenStats {
  return { windowS: 60, requests: rps * 60, rps, successRate: 0.995, latencyMs: { p50: 2.345, p95: 12.4, p99: 48.6 }, tcp: { open: 3, openedPerS: 0, sentBytesPerS: 2048, receivedBytesPerS: 100 }, mtlsShare: 1, ...extra };
}

const DOC: StatsDocument = {
  generatedAt: '2026-01-01T00:00:00.000Z',
  intervalMs: 5000,
  windowMs: 60_000,
  targets: { total: 2, up: 2, down: [] },
  workloads: [
    { namespace: 'shop', name: 'web', pods: { total: 2, meshed: 2 }, stats: stats(10) },
    { namespace: 'shop', name: 'legacy', pods: { total: 1, meshed: 0 }, stats: null },
    { namespace: 'ops', name: 'probe', pods: { total: 1, meshed: 1 }, stats: stats(1, { mtlsShare: 0.5, successRate: null }) },
  ],
  pods: [{ namespace: 'shop', name: 'web-0', workload: 'web', meshed: true, scrape: { address: '10.0.0.2:15090', up: true, error: null }, stats: stats(5) }],
  services: [{ namespace: 'shop', name: 'web', stats: stats(10, { mtlsShare: null }) }],
  edges: [
    { source: 'shop/frontend', destination: 'shop/web', clientIdentities: ['spiffe://cluster.local/ns/shop/sa/frontend'], serverIdentities: ['spiffe://cluster.local/ns/shop/sa/web'], mtls: 'mtls', client: stats(7, { mtlsShare: null }), server: stats(7) },
    { source: 'unknown', destination: 'ops/probe', clientIdentities: [], serverIdentities: [], mtls: 'mixed', client: null, server: stats(1, { mtlsShare: 0.5 }) },
  ],
};

const Q: StatQuery = { resource: 'deploy', name: null, namespace: null, from: null, wide: false };

test('stat table: workloads of every namespace with a NAMESPACE column; unmeshed and idle ones show dashes', () => {
  assert.equal(
    formatStatTable(statRows(DOC, Q), Q),
    [
      'NAMESPACE   NAME     MESHED   SUCCESS   RPS     LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN   MTLS%',
      'ops         probe    1/1      -         1rps    2.3ms         12ms          49ms          3          50%',
      'shop        legacy   0/1      -         -       -             -             -             -          -',
      'shop        web      2/2      99.50%    10rps   2.3ms         12ms          49ms          3          100%',
      '',
    ].join('\n'),
  );
});

const rowCases: { name: string; q: Partial<StatQuery>; want: string[] }[] = [
  { name: '-n filters and drops the NAMESPACE column', q: { namespace: 'shop' }, want: ['legacy', 'web'] },
  { name: 'a NAME picks one', q: { name: 'web' }, want: ['web'] },
  { name: 'pods', q: { resource: 'pod' }, want: ['web-0'] },
  { name: 'services', q: { resource: 'svc' }, want: ['web'] },
  { name: '--from ns/name: the destinations it calls', q: { from: 'shop/frontend' }, want: ['web'] },
  { name: '--from name with -n', q: { from: 'frontend', namespace: 'shop' }, want: ['web'] },
  { name: '--from a workload that called nobody', q: { from: 'shop/web' }, want: [] },
];
for (const c of rowCases) {
  test(`stat rows: ${c.name}`, () => {
    assert.deepEqual(statRows(DOC, { ...Q, ...c.q }).map((r) => r.name), c.want);
  });
}

test('stat table: --from shows the caller-side rate and the callee-side mTLS; wide adds bytes and the window; nothing found says so', () => {
  const from = { ...Q, from: 'shop/frontend', namespace: 'shop' };
  const [row] = statRows(DOC, from);
  assert.equal(row.stats?.rps, 7);
  assert.equal(row.mtlsShare, 1);
  const wide = formatStatTable(statRows(DOC, { ...Q, namespace: 'shop', name: 'web', wide: true }), { ...Q, namespace: 'shop', wide: true });
  assert.match(wide, /READ_BYTES\/SEC\s+WRITE_BYTES\/SEC\s+WINDOW\n/);
  assert.match(wide, /100B\/s\s+2\.0kB\/s\s+60s\n$/);
  assert.equal(formatStatTable([], { ...Q, namespace: 'nowhere' }), 'No workloads found in namespace nowhere.\n');
});

test('edges table: SRC → DST, identities and the mTLS state', () => {
  assert.equal(
    formatEdges(edgeRows(DOC, null)),
    [
      'SRC                 DST         CLIENT_ID                                    SERVER_ID                               MTLS          RPS',
      'shop/frontend   →   shop/web    spiffe://cluster.local/ns/shop/sa/frontend   spiffe://cluster.local/ns/shop/sa/web   ✓ mTLS        7rps',
      'unknown         →   ops/probe   -                                            -                                       partial 50%   1rps',
      '',
    ].join('\n'),
  );
  assert.deepEqual(edgeRows(DOC, 'ops').map((e) => e.destination), ['ops/probe']);
});
