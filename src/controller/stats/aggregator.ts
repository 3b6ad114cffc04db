// The mesh-stats aggregator: scraped samples → per-series increases → a bounded window of golden metrics per group (pure).
//
// Each scrape tick, every target's text is compared with that target's previous scrape, series by
// series (a series is its line up to the value: name and labels, hashed). An increase is `value − previous`, or the whole value when it went down (the counter restarted
// from zero: a sidecar restart), exactly as PromQL's `rate` treats a reset. A series that first appears
// on a target already scraped was born since that scrape, so its whole value is new; a target's first
// scrape only sets the baseline. Increases are summed per group (workload, pod, service, edge) into
// monotonic totals, and `endTick` keeps a snapshot of every group's totals in a ring of `windowSize`.
// Rates, success, quantiles and the mTLS share are differences between two snapshots of one ring. No
// clock of its own: the caller passes the tick's times.
//
// Cost: a series seen before is a hash of its line and a map lookup; its labels are parsed and its
// groups resolved only the first time (and again when the registry's resolver changes).

import { parsePrometheusText, type Sample } from '../../observability/prom-text';
import { classify, NO_RESOLVER, type GroupKind, type GroupRef, type TargetIdentity, type WorkloadResolver } from './classify';
import { histogramQuantile } from './quantile';

/** Counter slots of a group's totals. */
const REQ = 0;
const ERR = 1;
const MTLS = 2; // requests + connections that arrived over mTLS
const SEC = 3; // requests + connections whose security is known (inbound)
const TCP_OPENED = 4;
const TCP_CLOSED = 5;
const SENT = 6;
const RECEIVED = 7;
const SLOTS = 8;

type Field = 'requests' | 'bucket' | 'tcpOpened' | 'tcpClosed' | 'sent' | 'received';

/** The metric families read, Ferry's names and Istio's (a real Envoy sidecar), with the histogram's unit. */
const FAMILIES: ReadonlyMap<string, { readonly field: Field; readonly toSeconds?: number }> = new Map([
  ['ferry_requests_total', { field: 'requests' }],
  ['istio_requests_total', { field: 'requests' }],
  ['ferry_request_duration_seconds_bucket', { field: 'bucket', toSeconds: 1 }],
  ['istio_request_duration_milliseconds_bucket', { field: 'bucket', toSeconds: 0.001 }],
  ['ferry_tcp_connections_opened_total', { field: 'tcpOpened' }],
  ['istio_tcp_connections_opened_total', { field: 'tcpOpened' }],
  ['ferry_tcp_connections_closed_total', { field: 'tcpClosed' }],
  ['istio_tcp_connections_closed_total', { field: 'tcpClosed' }],
  ['ferry_tcp_sent_bytes_total', { field: 'sent' }],
  ['istio_tcp_sent_bytes_total', { field: 'sent' }],
  ['ferry_tcp_received_bytes_total', { field: 'received' }],
  ['istio_tcp_received_bytes_total', { field: 'received' }],
] as const);

/** Whether a family is one the aggregator reads (lets a scraper skip the rest early). */
export function isAggregated(name: string): boolean {
  return FAMILIES.has(name);
}

interface Snapshot {
  /** Monotonic ms (rates) and wall ms (shown). */
  readonly t: number;
  readonly at: number;
  readonly c: Float64Array;
  /** Open TCP connections at this tick (opened − closed, summed from the raw values). */
  readonly open: number;
  /** Bucket bounds (seconds) and their cumulative increases; a later snapshot may know more bounds. */
  readonly les: readonly number[];
  readonly b: Float64Array;
}

interface Group {
  readonly ref: GroupRef;
  readonly totals: Float64Array;
  les: number[];
  frozenLes: readonly number[];
  readonly bucketIndex: Map<number, number>;
  buckets: number[];
  open: number;
  readonly principals: Set<string>;
  readonly ring: Snapshot[];
  head: number;
  /** The last tick a sample of this group was scraped. */
  lastSeen: number;
  /** Dropped from the map: series that pointed here resolve their groups again. */
  dead: boolean;
}

/** One series of one target: what it counts toward, resolved once, and its last value. */
interface Entry {
  readonly field: Field;
  /** Resolver generation the groups were resolved under. */
  gen: number;
  groups: Group[];
  /** Per group: the bucket slot of this series' `le` (buckets only). */
  slots: number[];
  readonly isError: boolean;
  readonly mtls: boolean;
  /** The connection security is known (mutual_tls or none). */
  readonly secKnown: boolean;
  readonly le: number;
  last: number | undefined;
}

interface TargetState {
  /** Hash of the series' line up to its value → the series (hashed: full label strings would dominate the memory). */
  series: Map<number, Entry>;
}

/** The golden metrics of one group over a window. */
export interface GoldenStats {
  /** Seconds between the two snapshots compared (0: a single snapshot, no rates yet). */
  readonly windowS: number;
  readonly requests: number;
  readonly rps: number;
  /** Share of requests not answered 5xx; null without requests. */
  readonly successRate: number | null;
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  readonly tcp: { readonly open: number; readonly openedPerS: number; readonly sentBytesPerS: number; readonly receivedBytesPerS: number };
  /** Share of inbound requests and connections over mTLS; null when unknown (outbound views, no traffic). */
  readonly mtlsShare: number | null;
}

/** One step of a group's time series: the rates between two consecutive ticks. */
export interface SeriesPoint {
  /** Wall time of the later tick, ms since the epoch. */
  readonly at: number;
  readonly rps: number;
  readonly successRate: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly tcpOpen: number;
}

export interface GroupView {
  readonly kind: GroupKind;
  readonly key: string;
  readonly source?: string;
  readonly destination?: string;
  /** Inbound groups: the callers' SPIFFE IDs seen. */
  readonly principals: readonly string[];
  readonly stats: GoldenStats;
  readonly series?: readonly SeriesPoint[];
}

export interface AggregatorOptions {
  /** Snapshots kept per group (default 60). */
  readonly windowSize?: number;
  /** Groups kept at most; samples of further groups are dropped and counted (default 20,000). */
  readonly maxGroups?: number;
  /** Caller identities kept per group (default 16). */
  readonly maxPrincipals?: number;
}

function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/**
 * A 53-bit hash of `text[start, end)` (two 32-bit FNV-1a style passes) without cutting the string; a
 * collision among one target's few hundred series is vanishingly rare.
 */
export function seriesHash(text: string, start = 0, end = text.length): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ (end - start);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/**
 * A copy of `s` that holds no reference to the text it was cut from. Label values parsed from a
 * scrape are slices of its whole body; keeping one (a group key, a principal) would keep every
 * target's last 100 kB response alive.
 */
function detach(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

function detachRef(r: GroupRef): GroupRef {
  return {
    kind: r.kind,
    key: detach(r.key),
    ...(r.source !== undefined ? { source: detach(r.source) } : {}),
    ...(r.destination !== undefined ? { destination: detach(r.destination) } : {}),
    ...(r.principal !== undefined ? { principal: detach(r.principal) } : {}),
    security: r.security,
  };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Prometheus text renders of the samples (tests and callers holding parsed samples). */
export function samplesText(samples: readonly Sample[]): string {
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return samples
    .map((x) => {
      const labels = Object.entries(x.labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      const v = x.value === Infinity ? '+Inf' : x.value === -Infinity ? '-Inf' : String(x.value);
      return `${x.name}${labels ? `{${labels}}` : ''} ${v}`;
    })
    .join('\n');
}

export class StatsAggregator {
  readonly windowSize: number;
  private readonly maxGroups: number;
  private readonly maxPrincipals: number;
  private readonly groups = new Map<string, Group>();
  private readonly targets = new Map<string, TargetState>();
  private resolver: WorkloadResolver = NO_RESOLVER;
  private gen = 0;
  private tick = 0;
  /** Samples dropped because `maxGroups` was reached. */
  droppedSamples = 0;

  constructor(opts: AggregatorOptions = {}) {
    this.windowSize = opts.windowSize ?? 60;
    if (!(Number.isInteger(this.windowSize) && this.windowSize >= 2)) throw new RangeError(`windowSize: ${this.windowSize} must be an integer >= 2`);
    this.maxGroups = opts.maxGroups ?? 20_000;
    this.maxPrincipals = opts.maxPrincipals ?? 16;
  }

  /** The registry's view of who runs behind services and identities; group assignments are redone. */
  setResolver(r: WorkloadResolver): void {
    if (r === this.resolver) return;
    this.resolver = r;
    this.gen++;
  }

  /** Starts a tick: every group's open-connection gauge is re-summed from this tick's scrapes. */
  beginTick(): void {
    this.tick++;
    for (const g of this.groups.values()) g.open = 0;
  }

  /** One target's scrape in this tick: its Prometheus text. Lines of other families are skipped unparsed. */
  ingest(targetId: string, target: TargetIdentity | null, text: string): void {
    let state = this.targets.get(targetId);
    const first = state === undefined;
    if (state === undefined) {
      state = { series: new Map() };
      this.targets.set(targetId, state);
    }
    const prev = state.series;
    const next = new Map<number, Entry>();
    const len = text.length;
    let pos = 0;
    while (pos < len) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = len;
      const line = pos;
      pos = nl + 1;
      const c0 = text.charCodeAt(line);
      if (line === nl || c0 === 35 /* # */) continue;
      let i = line;
      while (i < nl) {
        const c = text.charCodeAt(i);
        if (c === 123 /* { */ || isSpace(c)) break;
        i++;
      }
      const fam = FAMILIES.get(text.slice(line, i));
      if (fam === undefined) continue;
      const idEnd = text.charCodeAt(i) === 123 ? text.lastIndexOf('}', nl) + 1 : i;
      if (idEnd <= i && text.charCodeAt(i) === 123) continue;
      let j = idEnd;
      while (j < nl && isSpace(text.charCodeAt(j))) j++;
      let k = j;
      while (k < nl && !isSpace(text.charCodeAt(k)) && text.charCodeAt(k) !== 13) k++;
      const raw = text.slice(j, k);
      const v = raw === '+Inf' ? Infinity : Number(raw);
      if (!Number.isFinite(v)) continue;
      const h = seriesHash(text, line, idEnd);
      let e = prev.get(h);
      // Labels are parsed for a new series, and again when its groups must be resolved anew (kept, they would dominate the memory).
      if (e === undefined || e.gen !== this.gen || e.groups.some((g) => g.dead)) {
        const parsed = parsePrometheusText(text.slice(line, nl))[0];
        if (parsed === undefined) continue;
        e ??= this.entry(fam.field, fam.toSeconds ?? 1, parsed.labels);
        this.resolve(e, parsed.labels, target);
      }
      const inc = e.last === undefined ? (first ? 0 : v) : v >= e.last ? v - e.last : v;
      e.last = v;
      next.set(h, e);
      for (let n = 0; n < e.groups.length; n++) {
        const g = e.groups[n];
        g.lastSeen = this.tick;
        this.add(g, e, n, inc, v);
      }
    }
    state.series = next;
  }

  /** A series seen for the first time: what its labels say about its outcome. */
  private entry(field: Field, toSeconds: number, labels: Readonly<Record<string, string>>): Entry {
    const policy = labels.connection_security_policy;
    const le = field === 'bucket' ? (labels.le === '+Inf' ? Infinity : Number(labels.le) * toSeconds) : NaN;
    return {
      field,
      gen: -1,
      groups: [],
      slots: [],
      isError: field === 'requests' && labels.response_code !== undefined && labels.response_code.startsWith('5'),
      mtls: policy === 'mutual_tls',
      secKnown: policy === 'mutual_tls' || policy === 'none',
      le,
      last: undefined,
    };
  }

  /** The groups a series counts toward under the current resolver (and its bucket slot in each). */
  private resolve(e: Entry, labels: Readonly<Record<string, string>>, target: TargetIdentity | null): void {
    e.gen = this.gen;
    e.groups = [];
    e.slots = [];
    if (e.field === 'bucket' && Number.isNaN(e.le)) return;
    for (const ref of classify(labels, target, this.resolver)) {
      const g = this.group(ref);
      if (g === null) {
        this.droppedSamples++;
        continue;
      }
      e.groups.push(g);
      e.slots.push(e.field === 'bucket' ? this.bucketSlot(g, e.le) : -1);
    }
  }

  private bucketSlot(g: Group, le: number): number {
    let i = g.bucketIndex.get(le);
    if (i === undefined) {
      i = g.les.length;
      g.bucketIndex.set(le, i);
      g.les.push(le);
      g.buckets.push(0);
      g.frozenLes = Object.freeze([...g.les]);
    }
    return i;
  }

  /** Forgets targets no longer listed (a pod that went away): their series start over if they return. */
  retainTargets(ids: ReadonlySet<string>): void {
    for (const id of this.targets.keys()) if (!ids.has(id)) this.targets.delete(id);
  }

  /** Ends the tick: a snapshot of every group; groups unseen for a whole window are dropped. */
  endTick(t: number, at: number): void {
    for (const [id, g] of this.groups) {
      if (this.tick - g.lastSeen >= this.windowSize) {
        g.dead = true;
        this.groups.delete(id);
        continue;
      }
      const snap: Snapshot = { t, at, c: Float64Array.from(g.totals), open: g.open, les: g.frozenLes, b: Float64Array.from(g.buckets) };
      if (g.ring.length < this.windowSize) g.ring.push(snap);
      else {
        g.ring[g.head] = snap;
        g.head = (g.head + 1) % this.windowSize;
      }
    }
  }

  get groupCount(): number {
    return this.groups.size;
  }

  get targetCount(): number {
    return this.targets.size;
  }

  /** Every group of `kind` (all when omitted), its stats over the last `windowMs`, and optionally its series. */
  view(opts: { kind?: GroupKind; windowMs: number; series?: boolean }): GroupView[] {
    const out: GroupView[] = [];
    for (const g of this.groups.values()) {
      if (opts.kind !== undefined && g.ref.kind !== opts.kind) continue;
      const ring = this.ordered(g);
      if (ring.length === 0) continue;
      const last = ring[ring.length - 1];
      let firstIdx = ring.length - 1;
      while (firstIdx > 0 && last.t - ring[firstIdx - 1].t <= opts.windowMs) firstIdx--;
      const view: GroupView = {
        kind: g.ref.kind,
        key: g.ref.key,
        ...(g.ref.source !== undefined ? { source: g.ref.source, destination: g.ref.destination } : {}),
        principals: [...g.principals].sort(),
        stats: golden(ring[firstIdx], last, g.ref.security),
        ...(opts.series ? { series: ring.slice(1).map((s, i) => point(ring[i], s)) } : {}),
      };
      out.push(view);
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
  }

  private ordered(g: Group): Snapshot[] {
    return g.ring.length < this.windowSize ? g.ring : [...g.ring.slice(g.head), ...g.ring.slice(0, g.head)];
  }

  private group(ref: GroupRef): Group | null {
    const id = `${ref.kind}\u0000${ref.key}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      if (this.groups.size >= this.maxGroups) return null;
      g = { ref: detachRef(ref), totals: new Float64Array(SLOTS), les: [], frozenLes: [], bucketIndex: new Map(), buckets: [], open: 0, principals: new Set(), ring: [], head: 0, lastSeen: this.tick, dead: false };
      this.groups.set(id, g);
    }
    if (ref.principal !== undefined && g.principals.size < this.maxPrincipals && !g.principals.has(ref.principal)) g.principals.add(detach(ref.principal));
    return g;
  }

  private add(g: Group, e: Entry, n: number, inc: number, raw: number): void {
    const c = g.totals;
    switch (e.field) {
      case 'requests':
        c[REQ] += inc;
        if (e.isError) c[ERR] += inc;
        if (g.ref.security && e.secKnown) {
          c[SEC] += inc;
          if (e.mtls) c[MTLS] += inc;
        }
        return;
      case 'tcpOpened':
        c[TCP_OPENED] += inc;
        g.open += raw;
        if (g.ref.security && e.secKnown) {
          c[SEC] += inc;
          if (e.mtls) c[MTLS] += inc;
        }
        return;
      case 'tcpClosed':
        c[TCP_CLOSED] += inc;
        g.open -= raw;
        return;
      case 'sent':
        c[SENT] += inc;
        return;
      case 'received':
        c[RECEIVED] += inc;
        return;
      case 'bucket':
        g.buckets[e.slots[n]] += inc;
    }
  }
}

/** The bucket increases between two snapshots, in seconds. */
function bucketDelta(a: Snapshot, b: Snapshot): { le: number; count: number }[] {
  const out: { le: number; count: number }[] = [];
  for (let i = 0; i < b.les.length; i++) {
    const before = i < a.les.length && a.les[i] === b.les[i] ? a.b[i] : (() => {
      const j = a.les.indexOf(b.les[i]);
      return j < 0 ? 0 : a.b[j];
    })();
    out.push({ le: b.les[i], count: b.b[i] - before });
  }
  return out;
}

function ms(v: number): number | null {
  return Number.isFinite(v) ? round(v * 1000) : null;
}

/** Golden metrics between snapshot `a` and the later `b` (the same snapshot: no rates yet). */
export function golden(a: Snapshot, b: Snapshot, security: boolean): GoldenStats {
  const dt = (b.t - a.t) / 1000;
  const d = (i: number): number => b.c[i] - (a === b ? b.c[i] : a.c[i]);
  const per = (v: number): number => (dt > 0 ? round(v / dt) : 0);
  const requests = d(REQ);
  const buckets = a === b ? [] : bucketDelta(a, b);
  const q = (x: number): number | null => (buckets.length ? ms(histogramQuantile(x, buckets)) : null);
  const sec = d(SEC);
  return {
    windowS: round(dt),
    requests,
    rps: per(requests),
    successRate: requests > 0 ? round(1 - d(ERR) / requests, 4) : null,
    latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) },
    tcp: { open: b.open, openedPerS: per(d(TCP_OPENED)), sentBytesPerS: per(d(SENT)), receivedBytesPerS: per(d(RECEIVED)) },
    mtlsShare: security && sec > 0 ? round(d(MTLS) / sec, 4) : null,
  };
}

function point(a: Snapshot, b: Snapshot): SeriesPoint {
  const g = golden(a, b, false);
  return { at: b.at, rps: g.rps, successRate: g.successRate, p50Ms: g.latencyMs.p50, p99Ms: g.latencyMs.p99, tcpOpen: g.tcp.open };
}
