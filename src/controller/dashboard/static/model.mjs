// The dashboard's view model: the /api/stats document → what the graph, the edge list, the table and a workload's page show (pure, no DOM).

/** `ns/name` of a workload entry. */
export function workloadKey(w) {
  return `${w.namespace}/${w.name}`;
}

/** The last path segment of `ns/name` (the caller `unknown` stays itself). */
export function shortName(key) {
  const i = key.indexOf('/');
  return i < 0 ? key : key.slice(i + 1);
}

export function fmtRps(v) {
  if (v === null || v === undefined) return '-';
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)} rps`;
}

export function fmtPct(share, digits = 2) {
  if (share === null || share === undefined) return '-';
  return `${(share * 100).toFixed(share === 1 || share === 0 ? 0 : digits)}%`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
}

export function fmtBytes(perS) {
  if (perS === null || perS === undefined) return '-';
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let v = perS;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** The side of an edge to show: the destination's (it knows success and mTLS), else the caller's. */
export function edgeStats(e) {
  return e.server ?? e.client ?? null;
}

/** Whether the stats are TCP only (connections, no HTTP requests). */
function tcpOnly(s) {
  return s !== null && s.requests === 0 && s.rps === 0 && s.tcp.openedPerS > 0;
}

/**
 * How an edge's traffic travels: `mtls` (all), `mixed`, `plaintext`, or `unknown` (no inbound data).
 * A destination without any meshed pod has no sidecar to speak mTLS: plaintext.
 */
export function edgeSecurity(e, workloadsByKey) {
  if (e.mtls === 'mtls' || e.mtls === 'mixed' || e.mtls === 'plaintext') return e.mtls;
  const dst = workloadsByKey.get(e.destination);
  if (dst && dst.pods.total > 0 && dst.pods.meshed === 0) return 'plaintext';
  return 'unknown';
}

export const SECURITY_TEXT = {
  mtls: 'mTLS',
  mixed: 'mixed: part plaintext',
  plaintext: 'plaintext',
  unknown: 'security unknown',
};

/** The short text on a graph edge: rate, success (or TCP throughput) and the mTLS mark. */
export function edgeLabel(e, security) {
  const s = edgeStats(e);
  const mark = security === 'mtls' ? 'mTLS' : security === 'mixed' ? 'mixed' : security === 'plaintext' ? 'plain' : '?';
  if (s === null) return mark;
  if (tcpOnly(s)) return `${s.tcp.openedPerS.toFixed(2)} conn/s · TCP · ${mark}`;
  return `${fmtRps(s.rps)} · ${fmtPct(s.successRate, 1)} · ${mark}`;
}

/** One sentence per edge for the text list (what a screen reader reads). */
export function edgeSentence(e, security) {
  const s = edgeStats(e);
  const parts = [];
  if (s === null) parts.push('no traffic in the window');
  else if (tcpOnly(s)) parts.push(`${s.tcp.openedPerS.toFixed(2)} TCP connections/s`, `${fmtBytes(s.tcp.sentBytesPerS + s.tcp.receivedBytesPerS)}`);
  else parts.push(fmtRps(s.rps), `${fmtPct(s.successRate)} success`, `p99 ${fmtMs(s.latencyMs.p99)}`);
  parts.push(SECURITY_TEXT[security]);
  return parts.join(', ');
}

/** Meshed state of a workload: every pod with a sidecar, none, or some. */
export function meshState(w) {
  if (w.pods.total === 0) return 'unknown';
  if (w.pods.meshed === 0) return 'unmeshed';
  return w.pods.meshed === w.pods.total ? 'meshed' : 'partial';
}

/** Nodes and edges of the topology graph. Callers that are no workload (`unknown`) become nodes of their own. */
export function graphModel(doc) {
  const byKey = new Map(doc.workloads.map((w) => [workloadKey(w), w]));
  const nodes = doc.workloads.map((w) => {
    const mesh = meshState(w);
    return {
      id: workloadKey(w),
      name: w.name,
      namespace: w.namespace,
      mesh,
      label: `${w.name}${mesh === 'unmeshed' ? ' (unmeshed)' : ''}\n${w.namespace} · ${w.pods.meshed}/${w.pods.total} meshed`,
    };
  });
  const known = new Set(nodes.map((n) => n.id));
  for (const e of doc.edges) {
    for (const id of [e.source, e.destination]) {
      if (known.has(id)) continue;
      known.add(id);
      nodes.push({ id, name: shortName(id), namespace: '', mesh: 'external', label: id === 'unknown' ? 'unknown caller\n(plaintext)' : `${id}\nnot in the registry` });
    }
  }
  const edges = doc.edges.map((e) => {
    const security = edgeSecurity(e, byKey);
    const s = edgeStats(e);
    return {
      id: `${e.source}->${e.destination}`,
      source: e.source,
      target: e.destination,
      security,
      rps: s?.rps ?? 0,
      label: edgeLabel(e, security),
      sentence: edgeSentence(e, security),
    };
  });
  return { nodes, edges };
}

/** The workload table's rows, in the document's order (namespace, then name). */
export function workloadRows(doc) {
  return doc.workloads.map((w) => {
    const s = w.stats;
    return {
      key: workloadKey(w),
      namespace: w.namespace,
      name: w.name,
      mesh: meshState(w),
      cells: {
        meshed: `${w.pods.meshed}/${w.pods.total}`,
        success: fmtPct(s?.successRate ?? null),
        rps: s ? fmtRps(s.rps) : '-',
        p50: fmtMs(s?.latencyMs.p50 ?? null),
        p95: fmtMs(s?.latencyMs.p95 ?? null),
        p99: fmtMs(s?.latencyMs.p99 ?? null),
        tcp: s ? String(s.tcp.open) : '-',
        mtls: fmtPct(s?.mtlsShare ?? null, 0),
      },
    };
  });
}

/** `#/workload/NS/NAME` → the workload page; anything else → the overview. */
export function parseRoute(hash) {
  const m = /^#\/workload\/([^/]+)\/([^/]+)$/.exec(hash);
  if (!m) return { view: 'overview' };
  try {
    return { view: 'workload', namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) };
  } catch {
    return { view: 'overview' };
  }
}

export function workloadHref(key) {
  const i = key.indexOf('/');
  if (i < 0) return null;
  return `#/workload/${encodeURIComponent(key.slice(0, i))}/${encodeURIComponent(key.slice(i + 1))}`;
}

/** A workload's page: its entry, its pods, and the edges into and out of it. */
export function workloadDetail(doc, namespace, name) {
  const key = `${namespace}/${name}`;
  const workload = doc.workloads.find((w) => workloadKey(w) === key) ?? null;
  const byKey = new Map(doc.workloads.map((w) => [workloadKey(w), w]));
  const edge = (e) => ({ ...e, security: edgeSecurity(e, byKey), stats: edgeStats(e) });
  return {
    key,
    workload,
    pods: doc.pods.filter((p) => p.namespace === namespace && p.workload === name),
    inbound: doc.edges.filter((e) => e.destination === key).map(edge),
    outbound: doc.edges.filter((e) => e.source === key).map(edge),
  };
}

/** uPlot's columns from a workload's series: time (s), p50 and p99 (ms), success (%), rate. */
export function chartData(series) {
  const pts = series ?? [];
  return {
    latency: [pts.map((p) => p.at / 1000), pts.map((p) => p.p50Ms), pts.map((p) => p.p99Ms)],
    success: [pts.map((p) => p.at / 1000), pts.map((p) => (p.successRate === null ? null : p.successRate * 100))],
    rps: [pts.map((p) => p.at / 1000), pts.map((p) => p.rps)],
  };
}

/** How long to wait before the next poll: the scrape interval, kept between 2 and 10 s. */
export function pollDelayMs(doc) {
  const ms = doc?.intervalMs ?? 5000;
  return Math.min(10_000, Math.max(2000, ms));
}
