// `ferry stat` and `ferry edges` tables from the controller's /api/stats document (pure).

import type { GoldenStats } from '../../controller/stats/aggregator';
import type { EdgeEntry, StatsDocument } from '../../controller/stats/mesh-stats';

export type Resource = 'deploy' | 'pod' | 'svc';

export interface StatQuery {
  readonly resource: Resource;
  readonly name: string | null;
  /** null: every namespace (a NAMESPACE column is shown). */
  readonly namespace: string | null;
  /** `ns/workload` (or `workload` in --namespace): rows are its outbound edges, by destination. */
  readonly from: string | null;
  readonly wide: boolean;
}

/** One row, as `-o json` prints it. */
export interface StatRow {
  readonly namespace: string;
  readonly name: string;
  /** `meshed/total` pods; null where it does not apply (services, edges). */
  readonly meshed: { readonly meshed: number; readonly total: number } | null;
  readonly stats: GoldenStats | null;
  /** Edges: the mTLS share from the callee's side (the caller's view has none). */
  readonly mtlsShare: number | null;
}

function split(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The rows a query selects, sorted by namespace and name. */
export function statRows(doc: StatsDocument, q: StatQuery): StatRow[] {
  const inNs = (ns: string): boolean => q.namespace === null || ns === q.namespace;
  const named = (n: string): boolean => q.name === null || n === q.name;
  let rows: StatRow[];
  if (q.from !== null) {
    const from = q.from.includes('/') ? q.from : `${q.namespace ?? 'default'}/${q.from}`;
    rows = doc.edges
      .filter((e) => e.source === from)
      .map((e) => ({ ...split(e.destination), meshed: null, stats: e.client ?? e.server, mtlsShare: e.server?.mtlsShare ?? null }))
      .filter((r) => named(r.name));
  } else if (q.resource === 'deploy') {
    rows = doc.workloads.filter((w) => inNs(w.namespace) && named(w.name)).map((w) => ({ namespace: w.namespace, name: w.name, meshed: w.pods, stats: w.stats, mtlsShare: w.stats?.mtlsShare ?? null }));
  } else if (q.resource === 'pod') {
    rows = doc.pods.filter((p) => inNs(p.namespace) && named(p.name)).map((p) => ({ namespace: p.namespace, name: p.name, meshed: { meshed: p.meshed ? 1 : 0, total: 1 }, stats: p.stats, mtlsShare: p.stats?.mtlsShare ?? null }));
  } else {
    rows = doc.services.filter((s) => inNs(s.namespace) && named(s.name)).map((s) => ({ namespace: s.namespace, name: s.name, meshed: null, stats: s.stats, mtlsShare: null }));
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

function pct(v: number | null): string {
  return v === null ? '-' : `${(v * 100).toFixed(2)}%`;
}

function latency(v: number | null): string {
  if (v === null) return '-';
  return v < 10 ? `${Number(v.toFixed(1))}ms` : `${Math.round(v)}ms`;
}

function rate(v: number): string {
  return `${Number(v.toFixed(1))}rps`;
}

function bytes(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}MB/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}kB/s`;
  return `${Math.round(v)}B/s`;
}

/** Left-aligned columns, three spaces apart (the last column unpadded). */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd()).join('\n') + '\n';
}

/** The stat table: NAME MESHED SUCCESS RPS LATENCY_P50 LATENCY_P95 LATENCY_P99 TCP_CONN MTLS% (+ NAMESPACE, + wide columns). */
export function formatStatTable(rows: readonly StatRow[], q: StatQuery): string {
  if (rows.length === 0) return `No ${q.from !== null ? `traffic from ${q.from}` : q.resource === 'svc' ? 'services with traffic' : q.resource === 'pod' ? 'pods' : 'workloads'} found${q.namespace !== null ? ` in namespace ${q.namespace}` : ''}.\n`;
  const nsCol = q.namespace === null;
  const head = [...(nsCol ? ['NAMESPACE'] : []), 'NAME', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN', 'MTLS%', ...(q.wide ? ['READ_BYTES/SEC', 'WRITE_BYTES/SEC', 'WINDOW'] : [])];
  const body = rows.map((r) => {
    const s = r.stats;
    return [
      ...(nsCol ? [r.namespace] : []),
      r.name,
      r.meshed ? `${r.meshed.meshed}/${r.meshed.total}` : '-',
      s ? pct(s.successRate) : '-',
      s ? rate(s.rps) : '-',
      s ? latency(s.latencyMs.p50) : '-',
      s ? latency(s.latencyMs.p95) : '-',
      s ? latency(s.latencyMs.p99) : '-',
      s ? String(s.tcp.open) : '-',
      r.mtlsShare === null ? '-' : `${Math.round(r.mtlsShare * 100)}%`,
      ...(q.wide ? [s ? bytes(s.tcp.receivedBytesPerS) : '-', s ? bytes(s.tcp.sentBytesPerS) : '-', s ? `${Math.round(s.windowS)}s` : '-'] : []),
    ];
  });
  return columns([head, ...body]);
}

/** Edges in a namespace (either end), sorted. */
export function edgeRows(doc: StatsDocument, namespace: string | null): EdgeEntry[] {
  return doc.edges.filter((e) => namespace === null || split(e.source).namespace === namespace || split(e.destination).namespace === namespace);
}

function mtlsCell(e: EdgeEntry): string {
  if (e.mtls === null) return '-';
  if (e.mtls === 'mtls') return '✓ mTLS';
  if (e.mtls === 'plaintext') return '✗ plaintext';
  return `partial ${Math.round((e.server?.mtlsShare ?? 0) * 100)}%`;
}

/** SRC → DST with the client and server SPIFFE identities and the mTLS state. */
export function formatEdges(edges: readonly EdgeEntry[]): string {
  if (edges.length === 0) return 'No edges seen yet (no traffic between workloads in the window).\n';
  const head = ['SRC', '', 'DST', 'CLIENT_ID', 'SERVER_ID', 'MTLS', 'RPS'];
  const body = edges.map((e) => {
    const s = e.client ?? e.server;
    return [e.source, '→', e.destination, e.clientIdentities.join(',') || '-', e.serverIdentities.join(',') || '-', mtlsCell(e), s ? rate(s.rps) : '-'];
  });
  return columns([head, ...body]);
}
