// The mesh dashboard in headless Chromium against the shop run by `ferry up` in netns mode: graph, edges, table, a workload's charts.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { systemClock, type Timer } from '../../src/clock/clock';
import type { StatsDocument } from '../../src/controller/stats/mesh-stats';
import { netnsSkipReason } from '../../sidecar/init/netns.fixture';
import { alive, httpGet, REPO, SHOP, startUp, stateDir, waitFor } from '../e2e-local/ferry-up-process';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** Screenshots of each run (git-ignored). */
const ARTIFACTS = join(REPO, 'test', 'browser', 'artifacts');

const SHOP_WORKLOADS = ['legacy/ledger', 'shop/cart', 'shop/catalog-v1', 'shop/catalog-v1-flaky', 'shop/catalog-v2', 'shop/frontend', 'shop/loadgen', 'shop/store'];
const CALLS = [
  ['shop/loadgen', 'shop/frontend'],
  ['shop/frontend', 'shop/catalog-v1'],
  ['shop/frontend', 'shop/catalog-v1-flaky'],
  ['shop/frontend', 'shop/cart'],
  ['shop/cart', 'shop/store'],
] as const;

/** Why the test cannot run here, or null. Under CI=true a missing Chromium fails the test instead. */
function skipReason(): string | null {
  const noChromium = existsSync(CHROMIUM) ? null : `${CHROMIUM} missing (Debian package chromium; scripts/setup-tools.sh test installs it as root)`;
  if (noChromium && process.env.CI) throw new Error(`running in CI but ${noChromium}`);
  return netnsSkipReason(['iptables', 'iptables-restore', 'setpriv']) ?? noChromium;
}

/**
 * Chromium through playwright-core's browser server (a fresh temporary profile per launch), so the test
 * knows the browser's pid: closed when the test ends, and killed by that pid if it does not go.
 */
async function launch(t: TestContext): Promise<Browser> {
  const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS });
  const pid = server.process().pid;
  t.after(async () => {
    let timer: Timer | null = null;
    await Promise.race([server.close().catch(() => undefined), new Promise<void>((r) => (timer = systemClock.setTimeout(r, 5000)))]);
    systemClock.clearTimeout(timer);
    if (pid === undefined) return;
    // The browser leads its own process group: whatever of it is left (renderers, zygotes) goes with it.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone: closed cleanly
    }
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  return chromium.connect(server.wsEndpoint());
}

function stats(admin: string): Promise<StatsDocument> {
  const [host, port] = admin.split(':');
  return httpGet(host, Number(port), '/api/stats').then((r) => {
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as StatsDocument;
  });
}

/** What the page's graph holds, read from its cytoscape instance. */
interface GraphView {
  nodes: { id: string; mesh: string; label: string; inside: boolean }[];
  edges: { source: string; target: string; security: string; label: string; rps: number }[];
}

function readGraph(page: Page): Promise<GraphView> {
  return page.evaluate(() => {
    const g = globalThis as any; // the page's window (no DOM types in this project)
    const cy = g.ferryDashboard.cy;
    const box = g.document.getElementById('graph').getBoundingClientRect();
    return {
      nodes: cy.nodes().map((n: any) => {
        const p = n.renderedPosition();
        return { id: n.id(), mesh: n.data('mesh'), label: n.data('label'), inside: p.x > 0 && p.y > 0 && p.x < box.width && p.y < box.height };
      }),
      edges: cy.edges().map((e: any) => ({ source: e.source().id(), target: e.target().id(), security: e.data('security'), label: e.data('label'), rps: e.data('rps') })),
    };
  });
}

test('the dashboard shows the shop: every workload in the graph (ledger unmeshed), its calls with rates and mTLS, the table, a workload’s live charts', { timeout: 240_000 }, async (t) => {
  const why = skipReason();
  if (why) {
    process.stdout.write(`dashboard browser test skipped: ${why}\n`);
    t.skip(why);
    return;
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  process.stdout.write(`dashboard browser test: screenshots in ${ARTIFACTS}\n`);

  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', SHOP, '--mode', 'netns']);
  const state = await up.ready(60_000);
  const url = /ferry up: ready .*; dashboard (http:\/\/127\.0\.0\.1:\d+\/);/.exec(up.output())?.[1];
  assert.equal(url, `http://${state.controller.admin}/`, `the ready line names the dashboard:\n${up.output()}`);

  // Until the controller's scrapes show every call, and the frontend has a few points of history.
  await waitFor('traffic on every shop edge in /api/stats, and a frontend series', async () => {
    const doc = await stats(state.controller.admin);
    const flowing = CALLS.every(([s, d]) => doc.edges.some((e) => e.source === s && e.destination === d && ((e.server?.rps ?? 0) > 0 || (e.server?.tcp.openedPerS ?? 0) > 0)));
    const frontend = doc.workloads.find((w) => w.namespace === 'shop' && w.name === 'frontend');
    return flowing && (frontend?.series?.filter((p) => p.p99Ms !== null).length ?? 0) >= 2;
  }, 90_000);

  const browser = await launch(t);
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const shot = async (name: string): Promise<void> => {
    const file = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    process.stdout.write(`  screenshot ${file}\n`);
  };

  try {
    await page.goto(url!);
    assert.equal(page.url(), `${url}dashboard/`, '/ redirects to the page');
    await page.waitForSelector('#edge-list li[data-source="shop/loadgen"][data-destination="shop/frontend"]', { timeout: 20_000 });

    // The graph: every shop workload a node, placed inside the box; ledger marked unmeshed.
    const graph = await readGraph(page);
    assert.deepEqual(graph.nodes.map((n) => n.id).filter((id) => SHOP_WORKLOADS.includes(id)).sort(), SHOP_WORKLOADS);
    for (const n of graph.nodes) assert.ok(n.inside, `node ${n.id} is drawn inside the graph`);
    const mesh = Object.fromEntries(graph.nodes.map((n) => [n.id, n.mesh]));
    assert.equal(mesh['legacy/ledger'], 'unmeshed');
    assert.match(graph.nodes.find((n) => n.id === 'legacy/ledger')!.label, /unmeshed/);
    for (const id of SHOP_WORKLOADS.filter((w) => w !== 'legacy/ledger')) assert.equal(mesh[id], 'meshed', id);
    assert.ok((await page.locator('#graph canvas').count()) > 0, 'cytoscape drew on a canvas');

    // Its edges: the calls, each with a non-zero rate and the mTLS mark.
    for (const [s, d] of CALLS) {
      const e = graph.edges.find((x) => x.source === s && x.target === d);
      assert.ok(e, `edge ${s} → ${d} in ${JSON.stringify(graph.edges)}`);
      assert.equal(e.security, 'mtls', `${s} → ${d}`);
      assert.match(e.label, /· mTLS$/, `${s} → ${d}: ${e.label}`);
      if (d !== 'shop/store') {
        assert.ok(e.rps > 0, `${s} → ${d} rate`);
        assert.match(e.label, /^\d+\.\d+ rps · \d+(\.\d)?% · mTLS$/, e.label);
      } else assert.match(e.label, /conn\/s · TCP · mTLS$/, e.label);
    }

    // The same edges as text beside the graph.
    const item = page.locator('#edge-list li[data-source="shop/frontend"][data-destination="shop/catalog-v1"]');
    const text = (await item.textContent()) ?? '';
    assert.match(text, /^shop\/frontend → shop\/catalog-v1/);
    const rps = Number(/(\d+\.\d+) rps/.exec(text)?.[1]);
    assert.ok(rps > 0, `a non-zero rate in "${text}"`);
    assert.match(text, /% success, p99 /);
    assert.equal(await item.locator('.sec').getAttribute('data-security'), 'mtls');
    assert.match((await item.locator('.sec').textContent()) ?? '', /mTLS/);

    // The table: golden metrics per workload.
    const cells = async (key: string): Promise<string[]> => page.locator(`#workloads tr[data-workload="${key}"] td`).allTextContents();
    const catalog = await cells('shop/catalog-v1');
    assert.equal(catalog[2], '1/1', 'each Deployment is its own workload');
    assert.match(catalog[3], /^\d+(\.\d+)?%$/);
    assert.ok(Number.parseFloat(catalog[4]) > 0, `catalog RPS ${catalog[4]}`);
    for (const i of [5, 6, 7]) assert.match(catalog[i], / (ms|s)$/, `catalog latency cell ${i}: ${catalog[i]}`);
    assert.equal(catalog[9], '100%', 'mTLS %');
    assert.equal(await page.getAttribute('#workloads tr[data-workload="legacy/ledger"]', 'data-mesh'), 'unmeshed');
    assert.deepEqual((await cells('legacy/ledger')).slice(2), ['0/1', '-', '-', '-', '-', '-', '-', '-'], 'ledger runs without a sidecar');
    await shot('overview');

    // A workload's page, opened from the table: live charts from its series, its callers and callees with identities.
    await page.click('#workloads a[href="#/workload/shop/frontend"]');
    await page.waitForSelector('#chart-latency canvas');
    await page.waitForSelector('#chart-success canvas');
    const charts = await page.evaluate(() => {
      const g = globalThis as any;
      const c = g.ferryDashboard.charts;
      const inked = (id: string): number => {
        const canvas = g.document.querySelector(`#chart-${id} canvas`);
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
        return n;
      };
      return {
        latency: { points: c.latency.data[0].length, p99: c.latency.data[2].filter((v: number | null) => v !== null).length, inked: inked('latency') },
        success: { values: c.success.data[1].filter((v: number | null) => v !== null) as number[], inked: inked('success') },
      };
    });
    assert.ok(charts.latency.points >= 2 && charts.latency.p99 >= 2, JSON.stringify(charts));
    assert.ok(charts.latency.inked > 0 && charts.success.inked > 0, 'the charts drew lines');
    assert.ok(charts.success.values.length >= 2 && charts.success.values.every((v) => v >= 0 && v <= 100), JSON.stringify(charts.success));
    const inbound = page.locator('#wl-tables tr[data-peer="shop/loadgen"]');
    assert.match((await inbound.textContent()) ?? '', /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/loadgen/);
    assert.equal(await inbound.getAttribute('data-security'), 'mtls');
    for (const [peer, id] of [['shop/catalog-v1', 'catalog'], ['shop/catalog-v1-flaky', 'catalog'], ['shop/cart', 'cart']]) {
      const row = page.locator(`#wl-tables tr[data-peer="${peer}"]`);
      assert.match((await row.textContent()) ?? '', new RegExp(`spiffe://cluster\\.local/ns/shop/sa/${id}`), peer);
    }

    // It keeps polling: a later scrape arrives and the same charts take its point.
    const lastX = (): Promise<number> => page.evaluate(() => {
      const x = (globalThis as any).ferryDashboard.charts.latency.data[0];
      return x[x.length - 1] as number;
    });
    const before = await lastX();
    await page.waitForFunction((x) => {
      const d = (globalThis as any).ferryDashboard.charts.latency.data[0];
      return d[d.length - 1] > x;
    }, before, { timeout: 20_000 });
    assert.equal(await page.locator('#chart-latency canvas').count(), 1, 'one chart, updated in place');
    await shot('workload-frontend');
    assert.deepEqual(problems, [], 'no console errors, failed requests or error responses');
  } catch (err) {
    await shot('failure').catch(() => undefined);
    throw err;
  }
});
