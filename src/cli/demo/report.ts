// What `make demo` prints after the shop has run: injection, mTLS per edge, the AccessPolicy refusal,
// and what retries and outlier ejection saved — all read back from the sidecars' own metrics.

import type { Sample } from '../../observability/prom-text';

export interface DemoPod {
  readonly namespace: string;
  readonly name: string;
  readonly workload: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly meshed: boolean;
  readonly notMeshedBecause: string | null;
  readonly serviceAccount: string;
  /** The labels of the pod's namespace (ferry.io/inject decides injection). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

export interface DemoService {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
}

/** A call the demo made on purpose that the AccessPolicy must refuse. */
export interface DeniedCall {
  readonly from: string;
  readonly to: string;
  /** HTTP status the caller got (0: no answer). */
  readonly status: number;
  readonly body: string;
}

export interface DemoInput {
  readonly mode: 'netns' | 'bind';
  readonly trustDomain: string;
  readonly pods: readonly DemoPod[];
  readonly services: readonly DemoService[];
  /** Each meshed pod's sidecar metrics, by `ns/pod` (the bind mode's outbound proxy under `ferry-system/ferry-outbound`). */
  readonly samples: ReadonlyMap<string, readonly Sample[]>;
  readonly denied: DeniedCall | null;
}

const pct = (part: number, whole: number): string => (whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)} %`);
const spiffe = (td: string, ns: string, sa: string): string => `spiffe://${td}/ns/${ns}/sa/${sa}`;

/** Section 1: which pods got the sidecar, grouped by namespace, and why the others did not. */
export function injectionLines(pods: readonly DemoPod[], mode: 'netns' | 'bind' = 'netns'): string[] {
  const what = mode === 'netns' ? 'ferry-init capture + ferry-proxy sidecar' : 'ferry-proxy sidecar; bind mode runs no capture rules';
  const out: string[] = [];
  const namespaces = [...new Set(pods.map((p) => p.namespace))].sort();
  for (const ns of namespaces) {
    const mine = pods.filter((p) => p.namespace === ns);
    const meshed = mine.filter((p) => p.meshed).map((p) => p.name);
    const plain = mine.filter((p) => !p.meshed);
    if (meshed.length > 0) out.push(`  ✓ ${ns}: ${meshed.join(', ')} — injected by the webhook's injector (${what})`);
    const label = mine[0]!.namespaceLabels['ferry.io/inject'];
    const nsWhy = label === undefined ? `namespace ${ns} has no ferry.io/inject label` : `namespace ${ns} has ferry.io/inject=${label}`;
    for (const p of plain) out.push(`  · ${ns}: ${p.name} — not injected (${nsWhy}): ${p.notMeshedBecause ?? 'no reason recorded'}`);
  }
  return out;
}

export interface Edge {
  readonly source: string;
  readonly destination: string;
  readonly destinationPrincipal: string;
  readonly sourcePrincipal: string;
  readonly security: string;
  readonly requests: number;
  /** Requests refused by the destination's AccessPolicy (403, response flag RBAC). */
  readonly denied: number;
  readonly connections: number;
}

/** Inbound traffic as each meshed pod's sidecar saw it (reporter=destination): who called, over what. */
export function edgesOf(input: DemoInput): Edge[] {
  const byPrincipal = new Map<string, string>();
  for (const p of input.pods) if (p.meshed) byPrincipal.set(spiffe(input.trustDomain, p.namespace, p.serviceAccount), `${p.namespace}/${p.workload}`);
  const edges = new Map<string, { -readonly [K in keyof Edge]: Edge[K] }>();
  for (const p of input.pods) {
    if (!p.meshed) continue;
    const samples = input.samples.get(`${p.namespace}/${p.name}`) ?? [];
    const destination = `${p.namespace}/${p.workload}`;
    for (const s of samples) {
      const isReq = s.name === 'ferry_requests_total';
      const isTcp = s.name === 'ferry_tcp_connections_opened_total';
      if ((!isReq && !isTcp) || s.labels.reporter !== 'destination' || s.value === 0) continue;
      const principal = s.labels.source_principal || 'unknown';
      const source = byPrincipal.get(principal) ?? (principal === 'unknown' ? 'unknown (plaintext)' : principal);
      const security = s.labels.connection_security_policy || 'unknown';
      const key = `${source}|${destination}|${security}`;
      let e = edges.get(key);
      if (e === undefined) {
        e = { source, destination, sourcePrincipal: principal, destinationPrincipal: spiffe(input.trustDomain, p.namespace, p.serviceAccount), security, requests: 0, denied: 0, connections: 0 };
        edges.set(key, e);
      }
      if (isReq) e.requests += s.value;
      else e.connections += s.value;
      if (isReq && s.labels.response_flags === 'RBAC') e.denied += s.value;
    }
  }
  return [...edges.values()].sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
}

/** Section 2: every edge with its identities and whether it was mutual TLS. */
export function mtlsLines(input: DemoInput): string[] {
  const edges = edgesOf(input);
  if (edges.length === 0) return ['  ✗ no traffic reached a meshed pod'];
  const out = edges.map((e) => {
    const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
    const what = [
      e.requests > 0 ? n(e.requests, 'request', 'requests') : '',
      e.denied > 0 ? `${e.denied} refused by the AccessPolicy (403 RBAC)` : '',
      e.connections > 0 ? n(e.connections, 'TCP connection', 'TCP connections') : '',
    ].filter(Boolean).join(', ');
    const mark = e.security === 'mutual_tls' ? '✓' : '✗';
    return `  ${mark} ${e.source} → ${e.destination}: ${e.security}, ${what}\n      ${e.sourcePrincipal} → ${e.destinationPrincipal}`;
  });
  const plain = edges.filter((e) => e.security !== 'mutual_tls');
  out.push(plain.length === 0 ? `  every meshed edge was mutual TLS (${edges.length} edges)` : `  ${plain.length} of ${edges.length} edges were not mutual TLS`);
  return out;
}

/** Section 2b: the call the AccessPolicy must refuse. */
export function deniedLines(denied: DeniedCall | null, mode: 'netns' | 'bind'): string[] {
  if (denied === null) return [mode === 'bind' ? '  · the AccessPolicy is shown in netns mode only (run as root)' : '  · no refused call was attempted'];
  const body = denied.body.trim().split('\n')[0]!.slice(0, 80);
  if (denied.status === 403) {
    const also = mode === 'bind' ? ' (bind mode: every caller has the outbound proxy\'s identity, so the frontend is refused as well)' : '';
    return [`  ✓ ${denied.from} → ${denied.to}: 403 ${body ? `"${body}"` : ''} — the AccessPolicy allows only the frontend${also}`];
  }
  return [`  ✗ ${denied.from} → ${denied.to}: expected 403 from the AccessPolicy, got ${denied.status || 'no answer'} ${body}`];
}

function selects(s: DemoService, p: DemoPod): boolean {
  const keys = Object.keys(s.selector);
  return s.namespace === p.namespace && keys.length > 0 && keys.every((k) => p.labels[k] === s.selector[k]);
}

export interface Rescue {
  readonly pod: string;
  readonly podRequests: number;
  readonly podFailures: number;
  readonly service: string;
  readonly callerRequests: number;
  readonly callerFailures: number;
  readonly retries: number;
  readonly ejections: number;
}

/**
 * Pods that answered ≥ 5 % 5xx, and what their callers saw of each service behind them: the callers'
 * own count (reporter=source), the retries their sidecars made and the ejections of outlier detection.
 */
export function rescues(input: DemoInput): Rescue[] {
  const out: Rescue[] = [];
  const callerSamples = [...input.samples.values()].flat();
  for (const p of input.pods) {
    if (!p.meshed) continue;
    const mine = input.samples.get(`${p.namespace}/${p.name}`) ?? [];
    const inbound = mine.filter((s) => s.name === 'ferry_requests_total' && s.labels.reporter === 'destination');
    const total = inbound.reduce((n, s) => n + s.value, 0);
    const failed = inbound.filter((s) => s.labels.response_code?.startsWith('5')).reduce((n, s) => n + s.value, 0);
    if (total === 0 || failed / total < 0.05) continue;
    for (const svc of input.services.filter((s) => selects(s, p))) {
      const cluster = (c: string | undefined): boolean => c !== undefined && c.endsWith(`|${svc.name}.${svc.namespace}.svc.cluster.local`);
      const calls = callerSamples.filter((s) => s.name === 'ferry_requests_total' && s.labels.reporter === 'source' && cluster(s.labels.destination_cluster));
      const callerRequests = calls.reduce((n, s) => n + s.value, 0);
      if (callerRequests === 0) continue;
      out.push({
        pod: `${p.namespace}/${p.name}`,
        podRequests: total,
        podFailures: failed,
        service: `${svc.namespace}/${svc.name}`,
        callerRequests,
        callerFailures: calls.filter((s) => s.labels.response_code?.startsWith('5')).reduce((n, s) => n + s.value, 0),
        retries: callerSamples.filter((s) => s.name === 'ferry_upstream_rq_retry_total' && s.labels.outcome === 'attempted' && cluster(s.labels.destination_cluster)).reduce((n, s) => n + s.value, 0),
        ejections: callerSamples.filter((s) => s.name === 'ferry_upstream_ejections_total' && cluster(s.labels.destination_cluster)).reduce((n, s) => n + s.value, 0),
      });
    }
  }
  return out;
}

/** Section 3b: retries and ejections turned a failing replica into a service that answers. */
export function rescueLines(input: DemoInput): string[] {
  const list = rescues(input);
  if (list.length === 0) return ['  · no replica failed often enough to show retries and ejection'];
  return list.map((r) =>
    `  ${r.podFailures > r.callerFailures ? '✓' : '✗'} ${r.pod} answered ${pct(r.podFailures, r.podRequests)} of its ${r.podRequests} requests with 5xx; ` +
    `callers of ${r.service} saw ${pct(r.callerRequests - r.callerFailures, r.callerRequests)} success over ${r.callerRequests} requests ` +
    `(${r.retries} ${r.retries === 1 ? 'retry' : 'retries'}, ${r.ejections} outlier ${r.ejections === 1 ? 'ejection' : 'ejections'})`);
}
