// The mesh dashboard in the browser: polls /api/stats and draws the topology (cytoscape), the workload table and a workload's charts (uPlot).

import {
  chartData,
  fmtBytes,
  fmtMs,
  fmtPct,
  fmtRps,
  graphModel,
  parseRoute,
  pollDelayMs,
  SECURITY_TEXT,
  shortName,
  workloadDetail,
  workloadHref,
  workloadRows,
} from './model.mjs';

const STATS_URL = new URL('../api/stats', location.href).pathname;

/** What the page holds; exposed as window.ferryDashboard for tests and the curious. */
const state = {
  doc: null,
  error: null,
  updates: 0,
  cy: null,
  graphShape: '',
  charts: {},
  chartsFor: null,
};
window.ferryDashboard = state;

/** A DOM element with attributes and children (strings become text nodes, never HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.setAttribute(k, String(v));
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

function workloadLink(key) {
  const href = workloadHref(key);
  return href ? el('a', { href }, key) : el('span', {}, key);
}

function securityBadge(security) {
  return el('span', { class: `sec sec-${security}`, 'data-security': security, title: SECURITY_TEXT[security] }, SECURITY_TEXT[security]);
}

// ---------- polling ----------

async function poll() {
  if (!document.hidden || state.doc === null) {
    try {
      const res = await fetch(STATS_URL, { cache: 'no-store', headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`${STATS_URL}: HTTP ${res.status}${res.status === 404 ? ' (is the controller scraping? --stats-interval)' : ''}`);
      state.doc = await res.json();
      state.error = null;
      state.updates++;
    } catch (err) {
      state.error = String(err && err.message ? err.message : err);
    }
    render();
  }
  setTimeout(poll, pollDelayMs(state.doc));
}

// ---------- header ----------

function renderStatus() {
  const box = document.getElementById('status');
  const doc = state.doc;
  box.replaceChildren();
  if (doc) {
    const t = doc.targets;
    box.append(
      el('span', {}, `updated ${new Date(doc.generatedAt).toLocaleTimeString()}`),
      el('span', {}, `window ${Math.round(doc.windowMs / 1000)} s`),
      el('span', { class: t.up < t.total ? 'warn' : null }, `sidecars scraped ${t.up}/${t.total}`),
    );
  }
  if (state.error) box.append(el('span', { class: 'error' }, `cannot update: ${state.error}`));
  const down = document.getElementById('down');
  down.replaceChildren();
  down.hidden = !doc || doc.targets.down.length === 0;
  if (doc) for (const d of doc.targets.down) down.append(el('li', {}, `${d.id} (${d.address}): ${d.error ?? 'down'}`));
}

// ---------- overview: graph, edge list, table ----------

const GRAPH_STYLE = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      width: 150,
      height: 44,
      'background-color': '#ffffff',
      'border-width': 2,
      'border-color': '#2f6fb2',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'center',
      'font-size': 13,
      'font-family': 'system-ui, sans-serif',
      color: '#1c2733',
    },
  },
  { selector: 'node[mesh = "partial"]', style: { 'border-color': '#c98a00', 'border-style': 'dashed' } },
  { selector: 'node[mesh = "unmeshed"]', style: { 'border-color': '#8a939c', 'border-style': 'dashed', 'background-color': '#eef0f2', color: '#5b6670' } },
  { selector: 'node[mesh = "external"]', style: { 'border-color': '#8a939c', 'border-style': 'dotted', 'background-color': '#f6f6f6', color: '#5b6670', shape: 'ellipse' } },
  { selector: 'node:selected', style: { 'border-width': 4 } },
  {
    selector: 'edge',
    style: {
      width: 2,
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      'line-color': '#8a939c',
      'target-arrow-color': '#8a939c',
      label: 'data(label)',
      'font-size': 11,
      'font-family': 'system-ui, sans-serif',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': 2,
      'text-rotation': 'autorotate',
      'text-margin-y': -9,
      color: '#1c2733',
    },
  },
  { selector: 'edge[security = "mtls"]', style: { 'line-color': '#2e8540', 'target-arrow-color': '#2e8540' } },
  { selector: 'edge[security = "mixed"]', style: { 'line-color': '#c98a00', 'target-arrow-color': '#c98a00', 'line-style': 'dashed' } },
  { selector: 'edge[security = "plaintext"]', style: { 'line-color': '#c0392b', 'target-arrow-color': '#c0392b', 'line-style': 'dashed' } },
  { selector: 'edge[security = "unknown"]', style: { 'line-style': 'dotted' } },
];

function renderGraph(model) {
  const container = document.getElementById('graph');
  if (state.cy === null) {
    state.cy = cytoscape({ container, style: GRAPH_STYLE, elements: [], minZoom: 0.3, maxZoom: 3 });
    state.cy.on('tap', 'node', (ev) => {
      const href = workloadHref(ev.target.id());
      if (href && ev.target.data('mesh') !== 'external') location.hash = href;
    });
  }
  const cy = state.cy;
  // Data changes in place; the layout runs again only when nodes or edges come or go.
  const shape = JSON.stringify([model.nodes.map((n) => n.id), model.edges.map((e) => e.id)]);
  cy.batch(() => {
    const want = new Set([...model.nodes.map((n) => n.id), ...model.edges.map((e) => e.id)]);
    cy.elements().filter((x) => !want.has(x.id())).remove();
    for (const n of model.nodes) {
      const have = cy.getElementById(n.id);
      if (have.nonempty()) have.data(n);
      else cy.add({ group: 'nodes', data: n });
    }
    for (const e of model.edges) {
      const data = { id: e.id, source: e.source, target: e.target, security: e.security, label: e.label, rps: e.rps };
      const have = cy.getElementById(e.id);
      if (have.nonempty()) have.data(data);
      else cy.add({ group: 'edges', data });
    }
  });
  if (shape !== state.graphShape || container.dataset.laidOut !== 'yes') {
    state.graphShape = shape;
    cy.resize();
    // Callers on the left, callees to their right: breadthfirst's levels turned sideways to fill a wide box.
    cy.layout({ name: 'breadthfirst', directed: true, spacingFactor: 1, padding: 16, animate: false, transform: (_n, p) => ({ x: p.y * 1.9, y: p.x * 0.75 }) }).run();
    cy.fit(undefined, 16);
    container.dataset.laidOut = 'yes';
  }
}

function renderEdgeList(model) {
  const list = document.getElementById('edge-list');
  list.replaceChildren();
  if (model.edges.length === 0) list.append(el('li', { class: 'empty' }, 'No traffic seen yet.'));
  for (const e of model.edges) {
    list.append(
      el(
        'li',
        { 'data-source': e.source, 'data-destination': e.target, 'data-security': e.security, 'data-rps': e.rps },
        workloadLink(e.source),
        ' → ',
        workloadLink(e.target),
        el('div', { class: 'edge-detail' }, e.sentence.replace(/, [^,]+$/, ''), ' ', securityBadge(e.security)),
      ),
    );
  }
}

function renderTable(doc) {
  const body = document.querySelector('#workloads tbody');
  body.replaceChildren();
  if (doc.workloads.length === 0) body.append(el('tr', {}, el('td', { colspan: 10, class: 'empty' }, 'No workloads in the registry yet.')));
  for (const r of workloadRows(doc)) {
    body.append(
      el(
        'tr',
        { 'data-workload': r.key, 'data-mesh': r.mesh, class: r.mesh === 'unmeshed' ? 'unmeshed' : null },
        el('td', {}, r.namespace),
        el('td', {}, el('a', { href: workloadHref(r.key) }, r.name), r.mesh === 'unmeshed' ? el('span', { class: 'tag' }, 'unmeshed') : null),
        el('td', { class: 'num' }, r.cells.meshed),
        el('td', { class: 'num' }, r.cells.success),
        el('td', { class: 'num' }, r.cells.rps),
        el('td', { class: 'num' }, r.cells.p50),
        el('td', { class: 'num' }, r.cells.p95),
        el('td', { class: 'num' }, r.cells.p99),
        el('td', { class: 'num' }, r.cells.tcp),
        el('td', { class: 'num' }, r.cells.mtls),
      ),
    );
  }
}

// ---------- a workload's page ----------

function destroyCharts() {
  for (const c of Object.values(state.charts)) c.destroy();
  state.charts = {};
  state.chartsFor = null;
}

const CHARTS = [
  { id: 'latency', title: 'Latency (ms)', series: [{ label: 'p50', stroke: '#2f6fb2' }, { label: 'p99', stroke: '#c0392b' }], value: (v) => fmtMs(v), range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
  { id: 'success', title: 'Success rate (%)', series: [{ label: 'success', stroke: '#2e8540' }], value: (v) => (v === null ? '-' : `${v.toFixed(2)}%`), range: [0, 100] },
  { id: 'rps', title: 'Requests per second', series: [{ label: 'rps', stroke: '#6b4fbb' }], value: (v) => fmtRps(v), range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
];

function renderCharts(key, series) {
  const data = chartData(series);
  if (state.chartsFor !== key) {
    destroyCharts();
    state.chartsFor = key;
  }
  for (const spec of CHARTS) {
    const box = document.getElementById(`chart-${spec.id}`);
    if (!box) continue;
    const width = Math.max(280, box.clientWidth);
    if (!state.charts[spec.id]) {
      state.charts[spec.id] = new uPlot(
        {
          title: spec.title,
          width,
          height: 200,
          scales: { x: { time: true }, ...(spec.range ? { y: { range: spec.range } } : {}) },
          series: [{}, ...spec.series.map((s) => ({ ...s, width: 2, spanGaps: false, value: (_u, v) => spec.value(v) }))],
          axes: [{}, { size: 60 }],
        },
        data[spec.id],
        box,
      );
    } else {
      state.charts[spec.id].setData(data[spec.id]);
    }
  }
}

function statTile(label, value) {
  return el('div', { class: 'tile' }, el('div', { class: 'tile-label' }, label), el('div', { class: 'tile-value' }, value));
}

function edgeRows(edges, peerOf, identitiesOf) {
  if (edges.length === 0) return [el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'none in the window'))];
  return edges.map((e) =>
    el(
      'tr',
      { 'data-peer': peerOf(e), 'data-security': e.security },
      el('td', {}, workloadLink(peerOf(e))),
      el('td', { class: 'ids' }, identitiesOf(e).length ? identitiesOf(e).join('\n') : '-'),
      el('td', { class: 'num' }, e.stats ? fmtRps(e.stats.rps) : '-'),
      el('td', { class: 'num' }, fmtPct(e.stats?.successRate ?? null)),
      el('td', { class: 'num' }, fmtMs(e.stats?.latencyMs.p99 ?? null)),
      el('td', {}, securityBadge(e.security)),
    ),
  );
}

function edgeTable(caption, peer, edges, peerOf, identitiesOf, idHeader) {
  return el(
    'table',
    { class: 'grid' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...[peer, idHeader, 'RPS', 'SUCCESS', 'P99', 'SECURITY'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...edgeRows(edges, peerOf, identitiesOf)),
  );
}

function podTable(pods) {
  return el(
    'table',
    { class: 'grid' },
    el('caption', {}, 'Pods'),
    el('thead', {}, el('tr', {}, ...['POD', 'SIDECAR', 'SCRAPE', 'RPS', 'SUCCESS', 'P99'].map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      ...pods.map((p) =>
        el(
          'tr',
          {},
          el('td', {}, p.name),
          el('td', {}, p.meshed ? 'meshed' : 'unmeshed'),
          el('td', { class: p.scrape && !p.scrape.up ? 'warn' : null }, p.scrape ? `${p.scrape.address} ${p.scrape.up ? 'up' : `down: ${p.scrape.error ?? ''}`}` : '-'),
          el('td', { class: 'num' }, p.stats ? fmtRps(p.stats.rps) : '-'),
          el('td', { class: 'num' }, fmtPct(p.stats?.successRate ?? null)),
          el('td', { class: 'num' }, fmtMs(p.stats?.latencyMs.p99 ?? null)),
        ),
      ),
    ),
  );
}

function renderWorkload(doc, route) {
  const view = document.getElementById('workload-view');
  const d = workloadDetail(doc, route.namespace, route.name);
  const w = d.workload;
  const s = w?.stats ?? null;
  const hasSeries = (w?.series ?? []).length > 0;
  // The page's frame (and the chart boxes) is built once per workload, so uPlot only gets new data.
  const frame = `${d.key}|${w !== null}|${hasSeries}`;
  if (view.dataset.frame !== frame) {
    destroyCharts();
    view.dataset.frame = frame;
    view.replaceChildren(
      el('p', {}, el('a', { href: '#/' }, '← all workloads')),
      el('h2', {}, d.key, w && w.pods.meshed === 0 ? el('span', { class: 'tag' }, 'unmeshed') : null),
      el('div', { id: 'wl-tiles', class: 'tiles' }),
      hasSeries
        ? el('div', { class: 'charts' }, ...CHARTS.map((c) => el('div', { id: `chart-${c.id}`, class: 'chart', 'data-chart': c.id })))
        : el('p', { class: 'empty' }, w ? 'No inbound requests in the window yet: the charts start with the first scrape that sees traffic to this workload.' : `No workload ${d.key} in the registry.`),
      el('div', { id: 'wl-tables' }),
    );
  }
  document.title = `${shortName(d.key)} · Ferry mesh`;
  if (!w) return;
  document.getElementById('wl-tiles').replaceChildren(
    statTile('meshed pods', `${w.pods.meshed}/${w.pods.total}`),
    statTile('success', fmtPct(s?.successRate ?? null)),
    statTile('rate', s ? fmtRps(s.rps) : '-'),
    statTile('p50 / p95 / p99', s ? `${fmtMs(s.latencyMs.p50)} / ${fmtMs(s.latencyMs.p95)} / ${fmtMs(s.latencyMs.p99)}` : '-'),
    statTile('TCP open', s ? `${s.tcp.open} (${fmtBytes(s.tcp.sentBytesPerS + s.tcp.receivedBytesPerS)})` : '-'),
    statTile('mTLS', fmtPct(s?.mtlsShare ?? null, 0)),
  );
  document.getElementById('wl-tables').replaceChildren(
    edgeTable('Inbound: who calls it', 'FROM', d.inbound, (e) => e.source, (e) => e.clientIdentities, 'CLIENT IDENTITY'),
    edgeTable('Outbound: what it calls', 'TO', d.outbound, (e) => e.destination, (e) => e.serverIdentities, 'SERVER IDENTITY'),
    podTable(d.pods),
  );
  if (hasSeries) renderCharts(d.key, w.series);
}

// ---------- the page ----------

function render() {
  renderStatus();
  const doc = state.doc;
  const route = parseRoute(location.hash);
  document.getElementById('overview').hidden = route.view !== 'overview';
  document.getElementById('workload-view').hidden = route.view !== 'workload';
  if (!doc) return;
  if (route.view === 'overview') {
    document.title = 'Ferry mesh';
    destroyCharts();
    document.getElementById('workload-view').dataset.frame = '';
    const model = graphModel(doc);
    renderGraph(model);
    renderEdgeList(model);
    renderTable(doc);
  } else {
    renderWorkload(doc, route);
  }
  document.body.dataset.updates = String(state.updates);
}

window.addEventListener('hashchange', () => {
  const graph = document.getElementById('graph');
  if (graph) graph.dataset.laidOut = 'no'; // shown again: fit the graph to its box
  render();
});
window.addEventListener('resize', () => {
  for (const [id, chart] of Object.entries(state.charts)) {
    const box = document.getElementById(`chart-${id}`);
    if (box) chart.setSize({ width: Math.max(280, box.clientWidth), height: 200 });
  }
  if (state.cy) state.cy.resize();
});

poll();
