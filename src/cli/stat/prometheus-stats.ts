// `ferry stat --prometheus URL`: the same stats document, built from PromQL over the sidecars' metrics in a Prometheus.
//
// The queries mirror the controller's aggregator: rate() per series then summed, histogram_quantile
// over the summed bucket rates, the mTLS share of inbound requests and connections, open connections
// as opened − closed. What Prometheus cannot know: pods without a sidecar (it only sees what it
// scrapes), so MESHED counts the scraped sidecars; and which workload is behind a service, so edges
// are seen from the destination's side only, the caller named by its SPIFFE ID (`ns/sa`).

import { request } from 'node:http';
import type { Clock } from '../../clock/clock';
import type { GoldenStats } from '../../controller/stats/aggregator';
import { callerOf, NO_RESOLVER } from '../../controller/stats/classify';
import type { EdgeEntry, StatsDocument } from '../../controller/stats/mesh-stats';
import { FerryError } from '../../errors';

type Vector = { metric: Record<string, string>; value: [number, string] }[];

/** One instant query at `at` (Unix seconds): every query of one document is evaluated at the same instant. */
function query(base: URL, promql: string, at: number, clock: Clock): Promise<Vector> {
  const url = new URL('/api/v1/query', base);
  url.searchParams.set('query', promql);
  url.searchParams.set('time', at.toFixed(3));
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => req.destroy(new Error('timed out after 10 s')), 10_000);
    const req = request(url, { method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clock.clearTimeout(timer);
        const body = Buffer.concat(chunks).toString('utf8');
        let parsed: { status?: string; error?: string; data?: { resultType?: string; result?: Vector } };
        try {
          parsed = JSON.parse(body);
        } catch {
          return reject(new FerryError('FERRY_ERR_ADMIN', `Prometheus at ${base.origin}: HTTP ${res.statusCode}, not JSON: ${body.slice(0, 200)}`));
        }
        if (parsed.status !== 'success' || parsed.data?.resultType !== 'vector') return reject(new FerryError('FERRY_ERR_ADMIN', `Prometheus at ${base.origin}: ${parsed.error ?? `HTTP ${res.statusCode}`} (query ${promql})`));
        resolve(parsed.data.result ?? []);
      });
    });
    req.on('error', (err) => {
      clock.clearTimeout(timer);
      reject(new FerryError('FERRY_ERR_ADMIN', `cannot reach Prometheus at ${base.origin}: ${err.message}`, { cause: err }));
    });
    req.end();
  });
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Golden stats per group (`by` labels joined with `/`) for series matching `sel`, over `w` seconds. */
async function golden(base: URL, by: readonly string[], sel: string, w: number, security: boolean, at: number, clock: Clock): Promise<Map<string, GoldenStats>> {
  const g = by.join(', ');
  const req = (extra: string): string => `sum by (${g}) (rate(ferry_requests_total{${sel}${extra}}[${w}s]))`;
  const tcp = (name: string, extra = ''): string => `sum by (${g}) (${name}{${sel}${extra}})`;
  const q = (p: number): string => `histogram_quantile(${p}, sum by (le, ${g}) (rate(ferry_request_duration_seconds_bucket{${sel}}[${w}s])))`;
  const queries = {
    rps: req(''),
    errors: req(',response_code=~"5.."'),
    mtls: req(',connection_security_policy="mutual_tls"'),
    known: req(',connection_security_policy=~"mutual_tls|none"'),
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    open: `${tcp('ferry_tcp_connections_opened_total')} - ${tcp('ferry_tcp_connections_closed_total')}`,
    opened: `sum by (${g}) (rate(ferry_tcp_connections_opened_total{${sel}}[${w}s]))`,
    tcpMtls: `sum by (${g}) (rate(ferry_tcp_connections_opened_total{${sel},connection_security_policy="mutual_tls"}[${w}s]))`,
    tcpKnown: `sum by (${g}) (rate(ferry_tcp_connections_opened_total{${sel},connection_security_policy=~"mutual_tls|none"}[${w}s]))`,
    sent: `sum by (${g}) (rate(ferry_tcp_sent_bytes_total{${sel}}[${w}s]))`,
    received: `sum by (${g}) (rate(ferry_tcp_received_bytes_total{${sel}}[${w}s]))`,
  };
  const names = Object.keys(queries) as (keyof typeof queries)[];
  const results = await Promise.all(names.map((n) => query(base, queries[n], at, clock)));
  const values = new Map<string, Partial<Record<keyof typeof queries, number>>>();
  names.forEach((n, i) => {
    for (const s of results[i]) {
      const key = by.map((l) => s.metric[l] ?? '').join('/');
      if (!values.has(key)) values.set(key, {});
      values.get(key)![n] = Number(s.value[1]);
    }
  });
  const out = new Map<string, GoldenStats>();
  for (const [key, v] of values) {
    const rps = v.rps ?? 0;
    const ms = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : round(x * 1000));
    const known = (v.known ?? 0) + (v.tcpKnown ?? 0);
    out.set(key, {
      windowS: w,
      requests: round(rps * w, 1),
      rps: round(rps),
      successRate: rps > 0 ? round(1 - (v.errors ?? 0) / rps, 4) : null,
      latencyMs: { p50: ms(v.p50), p95: ms(v.p95), p99: ms(v.p99) },
      tcp: { open: v.open ?? 0, openedPerS: round(v.opened ?? 0), sentBytesPerS: round(v.sent ?? 0), receivedBytesPerS: round(v.received ?? 0) },
      mtlsShare: security && known > 0 ? round(((v.mtls ?? 0) + (v.tcpMtls ?? 0)) / known, 4) : null,
    });
  }
  return out;
}

function split(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The stats document from a Prometheus that scrapes the sidecars (e.g. through the controller's /api/targets). */
export async function statsFromPrometheus(raw: string, windowS: number, clock: Clock): Promise<StatsDocument> {
  const base = new URL(raw.includes('://') ? raw : `http://${raw}`);
  const inbound = 'reporter="destination"';
  const at = clock.wallNow() / 1000;
  const [workloads, pods, services, edges, sidecars] = await Promise.all([
    golden(base, ['destination_service_namespace', 'destination_service_name'], inbound, windowS, true, at, clock),
    golden(base, ['namespace', 'pod'], inbound, windowS, true, at, clock),
    golden(base, ['destination_service_namespace', 'destination_service_name'], 'reporter="source"', windowS, false, at, clock),
    golden(base, ['source_principal', 'destination_service_namespace', 'destination_service_name'], inbound, windowS, true, at, clock),
    // Every Ferry sidecar exports this gauge; the SD labels name its pod and workload.
    query(base, 'ferry_config_loaded_timestamp_seconds', at, clock),
  ]);
  const scraped = new Map<string, Set<string>>();
  for (const s of sidecars) {
    const k = `${s.metric.namespace ?? ''}/${s.metric.workload ?? ''}`;
    if (!scraped.has(k)) scraped.set(k, new Set());
    scraped.get(k)!.add(s.metric.pod ?? s.metric.instance ?? '');
  }
  const edgeList: EdgeEntry[] = [...edges].map(([key, stats]) => {
    // The principal holds slashes itself: the key is principal/ns/name, read from the right.
    const parts = key.split('/');
    const destination = `${parts[parts.length - 2]}/${parts[parts.length - 1]}`;
    const id = parts.slice(0, -2).join('/');
    const share = stats.mtlsShare;
    return {
      source: callerOf(id, NO_RESOLVER),
      destination,
      clientIdentities: id && id !== 'unknown' ? [id] : [],
      serverIdentities: [],
      mtls: share === null ? null : share === 1 ? 'mtls' : share === 0 ? 'plaintext' : 'mixed',
      client: null,
      server: stats,
    };
  });
  const keys = [...new Set([...workloads.keys(), ...scraped.keys()])].filter((k) => k !== '/').sort();
  return {
    generatedAt: new Date(clock.wallNow()).toISOString(),
    // Prometheus has its own scrape interval; --watch refreshes every 5 s.
    intervalMs: 5000,
    windowMs: windowS * 1000,
    targets: { total: sidecars.length, up: sidecars.length, down: [] },
    workloads: keys.map((k) => {
      const n = scraped.get(k)?.size ?? 0;
      return { ...split(k), pods: { total: n, meshed: n }, stats: workloads.get(k) ?? null };
    }),
    pods: [...pods].filter(([k]) => k !== '/').map(([k, stats]) => ({ ...split(k), workload: '', meshed: true, scrape: null, stats })),
    services: [...services].map(([k, stats]) => ({ ...split(k), stats })),
    edges: edgeList.sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination)),
  };
}
