// A real Prometheus scrapes a `ferry up` mesh (bind mode) with the config `ferry up --prometheus-config` writes; PromQL over its HTTP API agrees with the requests sent and the sidecars' own counters.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { freePort } from '../../src/cli/up/addresses';
import { systemClock } from '../../src/clock/clock';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { alive, FERRY, httpGet, REPO, sleep, startUp, stateDir, waitFor, type UpState } from './ferry-up-process';

const clock = systemClock;
const SCRAPE_SECONDS = 1;

function onPath(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // keep looking
    }
  }
  return null;
}

const PROMETHEUS = onPath('prometheus');
const SKIP = PROMETHEUS ? false : 'prometheus is not installed (run `bash scripts/setup-tools.sh test` as root)';
if (SKIP && process.env.CI) throw new Error(`prometheus test: ${SKIP}; CI must install it`);
if (SKIP) console.log(`prometheus test skipped: ${SKIP}`);

/** Two services in an injected namespace: web (two replicas) and api (one), both the shop's catalog app. */
function manifests(dir: string): string {
  const app = join(REPO, 'examples', 'shop', 'apps', 'catalog.js');
  const workload = (name: string, replicas: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: demo}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      serviceAccountName: ${name}
      containers:
      - name: ${name}
        command: [node, ${JSON.stringify(app)}]
        env:
        - {name: PORT, value: "8080"}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: demo}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 8080, targetPort: http}]
`;
  const folder = join(dir, 'manifests');
  mkdirSync(folder);
  writeFileSync(join(folder, 'mesh.yaml'), `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels: {ferry.io/inject: enabled}\n---\n${workload('web', 2)}---\n${workload('api', 1)}`);
  return folder;
}

interface Prometheus {
  readonly base: string;
  output(): string;
}

/** The real prometheus on loopback with a temp storage folder; killed by pid and its folder removed when the test ends, pass or fail. */
async function startPrometheus(t: TestContext, configFile: string): Promise<Prometheus> {
  const storage = mkdtempSync(join(tmpdir(), 'ferry-prometheus-'));
  const port = await freePort('127.0.0.1');
  const proc = spawn(PROMETHEUS!, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${storage}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  t.after(async () => {
    const pid = proc.pid;
    if (pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = clock.setTimeout(() => alive(pid) && process.kill(pid, 'SIGKILL'), 10_000);
      await exited;
      clock.clearTimeout(timer);
    }
    rmSync(storage, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`prometheus to be ready on ${base}`, async () => {
    if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}):\n${out}`);
    return (await httpGet('127.0.0.1', port, '/-/ready', 1000)).status === 200;
  }, 20_000).catch((err: Error) => assert.fail(`${err.message}\n${out}`));
  return { base, output: () => out };
}

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** An instant PromQL query through the HTTP API (at `at`, Unix seconds, else now); fails on anything but a vector. */
async function query(p: Prometheus, promql: string, at?: number): Promise<VectorSample[]> {
  const url = new URL('/api/v1/query', p.base);
  url.searchParams.set('query', promql);
  if (at !== undefined) url.searchParams.set('time', at.toFixed(3));
  const r = await httpGet(url.hostname, Number(url.port), `${url.pathname}${url.search}`);
  const body = JSON.parse(r.body) as { status: string; error?: string; data?: { resultType: string; result: VectorSample[] } };
  assert.equal(body.status, 'success', `${promql}: ${body.error ?? r.body}`);
  assert.equal(body.data!.resultType, 'vector', promql);
  return body.data!.result;
}

/** Per destination_service, the largest factor PromQL's extrapolation can apply to any of its series in this range selector. */
async function extrapolationBound(p: Prometheus, selector: string, at: number): Promise<Record<string, number>> {
  const url = new URL('/api/v1/query', p.base);
  url.searchParams.set('query', selector);
  url.searchParams.set('time', at.toFixed(3));
  const r = await httpGet(url.hostname, Number(url.port), `${url.pathname}${url.search}`);
  const body = JSON.parse(r.body) as { status: string; data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] } };
  assert.equal(body.data?.resultType, 'matrix', r.body);
  const out: Record<string, number> = {};
  for (const series of body.data.result) {
    const ts = series.values.map((v) => v[0]);
    assert.ok(ts.length >= 3, `${JSON.stringify(series.metric)}: ${ts.length} samples in the window`);
    const span = ts[ts.length - 1] - ts[0];
    const spacing = span / (ts.length - 1);
    const f = (span + 2.2 * spacing) / span;
    const service = series.metric.destination_service;
    out[service] = Math.max(out[service] ?? 1, f);
  }
  return out;
}

/** `label value → sample value` of a query that aggregates by one label. */
async function byLabel(p: Prometheus, label: string, promql: string, at?: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await query(p, promql, at)) out[s.metric[label]] = Number(s.value[1]);
  return out;
}

/** What the sidecars count themselves (reporter="destination"), summed by `label`, read from their stats endpoints. */
async function sidecarCounts(state: UpState, label: 'destination_service' | 'pod'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const pod of state.pods) {
    const [host, port] = pod.sidecar!.stats.split(':');
    const samples = parsePrometheusText((await httpGet(host, Number(port), '/metrics')).body);
    for (const s of samples) {
      if (s.name !== 'ferry_requests_total' || s.labels.reporter !== 'destination') continue;
      const key = label === 'pod' ? pod.name : s.labels.destination_service;
      out[key] = (out[key] ?? 0) + s.value;
    }
    assert.equal(sumWhere(samples, 'ferry_requests_total', { reporter: 'destination', response_code: '503' }), 0, `${pod.name} answered 503s`);
  }
  return out;
}

const WEB = 'web.demo.svc.cluster.local';
const API = 'api.demo.svc.cluster.local';
const TOTAL = 'sum by (destination_service) (ferry_requests_total{reporter="destination"})';

test('Prometheus scrapes a ferry up mesh: per-service increase() matches the requests sent and the sidecars\' own counters', { skip: SKIP, timeout: 150_000 }, async (t) => {
  const dir = stateDir(t);
  const up = startUp(t, dir, ['-f', manifests(dir), '--mode', 'bind', '--prometheus-config', '--prometheus-scrape-interval', String(SCRAPE_SECONDS)]);
  const state = await up.ready(60_000);
  const configFile = join(state.dir, 'prometheus.yml');
  assert.match(up.output(), new RegExp(`Prometheus scrape config \\(also in ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  assert.match(up.output(), /job_name: ferry-sidecars/, 'the config is printed');

  // promtool (shipped with prometheus) accepts the file as it is.
  const promtool = onPath('promtool');
  if (promtool) {
    const check = spawnSync(promtool, ['check', 'config', configFile], { encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool check config:\n${check.stdout}${check.stderr}`);
  }
  const config = parse(readFileSync(configFile, 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[]; labels: Record<string, string> }[] }[] };
  const sidecarJob = config.scrape_configs.find((j) => j.job_name === 'ferry-sidecars')!;
  assert.deepEqual(
    sidecarJob.static_configs.map((s) => [s.targets[0], s.labels.pod]).sort(),
    [...state.pods.map((p) => [p.sidecar!.stats, p.name]), [(state as unknown as { outbound: { stats: string } }).outbound.stats, 'ferry-outbound']].sort(),
  );

  const prom = await startPrometheus(t, configFile);
  // Every target up: 3 pod sidecars, the outbound proxy, the controller.
  await waitFor('every target to be scraped and up', async () => {
    const up = await query(prom, 'up');
    return up.length === 5 && up.every((s) => s.value[1] === '1');
  }, 20_000).catch(async (err: Error) => assert.fail(`${err.message}: ${JSON.stringify(await query(prom, 'up'))}\n${prom.output()}`));
  const jobs = await byLabel(prom, 'job', 'count by (job) (up)');
  assert.deepEqual(jobs, { 'ferry-sidecars': 4, 'ferry-controller': 1 });
  const targetLabels = await query(prom, 'up{job="ferry-sidecars", namespace="demo"}');
  assert.deepEqual(targetLabels.map((s) => `${s.metric.pod}/${s.metric.workload}`).sort(), ['api-0/api', 'web-0/web', 'web-1/web']);
  // The controller's own metrics: it sees every sidecar's ADS stream.
  await waitFor('the controller to report 4 connected proxies', async () => {
    const [v] = await query(prom, 'sum(ferry_controller_connected_proxies)');
    return v !== undefined && Number(v.value[1]) === 4;
  });

  // Warm-up: every replica answers once, so each series exists (increase() needs a sample before the burst).
  const seen = new Set<string>();
  await waitFor('all three replicas to answer through their service addresses', async () => {
    for (const name of ['web', 'api']) {
      const vip = state.services.find((s) => s.name === name)!.clusterIP;
      const r = await httpGet(vip, 8080, '/items');
      if (r.status === 200) seen.add((JSON.parse(r.body) as { pod: string }).pod);
    }
    return seen.size === 3;
  });
  const baseline = await sidecarCounts(state, 'destination_service');
  assert.deepEqual(Object.keys(baseline).sort(), [API, WEB]);
  await waitFor('Prometheus to hold the warm-up counts', async () => deepEqualNumbers(await byLabel(prom, 'destination_service', TOTAL), baseline));
  // Several scrapes of the baseline, so the window's samples before the burst bound the extrapolation.
  await sleep(8 * SCRAPE_SECONDS * 1000);

  const sent = { [WEB]: 40, [API]: 15 };
  const t0 = clock.now();
  for (const [service, n] of Object.entries(sent)) {
    const vip = state.services.find((s) => `${s.name}.demo.svc.cluster.local` === service)!.clusterIP;
    for (let i = 0; i < n; i++) {
      const r = await httpGet(vip, 8080, '/items');
      assert.equal(r.status, 200, `${service} request ${i}: ${r.body}`);
    }
  }
  const want = { [WEB]: baseline[WEB] + sent[WEB], [API]: baseline[API] + sent[API] };
  assert.deepEqual(await sidecarCounts(state, 'destination_service'), want, 'the sidecars counted every request once');
  await waitFor('Prometheus to scrape the new counts', async () => deepEqualNumbers(await byLabel(prom, 'destination_service', TOTAL), want));
  await sleep(3 * SCRAPE_SECONDS * 1000);

  // Exact: the stored counters equal the sidecars' own, per service and per pod.
  assert.deepEqual(await byLabel(prom, 'destination_service', TOTAL), await sidecarCounts(state, 'destination_service'));
  assert.deepEqual(await byLabel(prom, 'pod', 'sum by (pod) (ferry_requests_total{reporter="destination"})'), await sidecarCounts(state, 'pod'));

  // increase() over a window that holds the whole burst and baseline samples before it. PromQL extrapolates
  // a series' samples towards the window's edges, by at most 1.1 times its average sample spacing at each
  // end, so the figure is at least the count sent and at most that count times (span + 2.2 × spacing) / span,
  // span and spacing read from the samples Prometheus actually holds in the window (slow scrapes widen it).
  const window = Math.ceil((clock.now() - t0) / 1000) + 6 * SCRAPE_SECONDS;
  const at = clock.wallNow() / 1000;
  const factor = await extrapolationBound(prom, `ferry_requests_total{reporter="destination"}[${window}s]`, at);
  const increase = await byLabel(prom, 'destination_service', `sum by (destination_service) (increase(ferry_requests_total{reporter="destination"}[${window}s]))`, at);
  assert.deepEqual(Object.keys(increase).sort(), [API, WEB], `increase: ${JSON.stringify(increase)}`);
  for (const [service, n] of Object.entries(sent)) {
    const bound = n * factor[service];
    assert.ok(factor[service] < 1.5, `${service}: samples too sparse for the window (bound factor ${factor[service]})`);
    assert.ok(increase[service] >= n - 1e-9 && increase[service] <= bound + 1e-9, `increase for ${service}: ${increase[service]}, sent ${n} (at most ${bound.toFixed(2)} with extrapolation)`);
  }
  // rate() is the same figure per second of the window.
  const rate = await byLabel(prom, 'destination_service', `sum by (destination_service) (rate(ferry_requests_total{reporter="destination"}[${window}s]))`, at);
  for (const service of [WEB, API]) assert.ok(Math.abs(rate[service] * window - increase[service]) < 1e-6, `rate × window = increase for ${service}: ${rate[service]} × ${window} vs ${increase[service]}`);
  // Without extrapolation: the difference to the counters a window ago is exactly what was sent.
  const delta = await byLabel(prom, 'destination_service', `sum by (destination_service) (ferry_requests_total{reporter="destination"} - ferry_requests_total{reporter="destination"} offset ${window}s)`, at);
  assert.deepEqual(delta, sent);

  // ferry stat (the controller's own scrapes of the same sidecars) agrees: over a window that starts
  // before the burst, each workload's inbound requests are exactly what was sent, and so what PromQL says.
  const statWindow = Math.ceil((clock.now() - t0) / 1000) + 12;
  const statRows = await waitFor('ferry stat to count the burst', async () => {
    const r = spawnSync(process.execPath, [FERRY, 'stat', '-n', 'demo', '-t', String(statWindow), '-o', 'json', '--controller', state.controller.admin], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; stats: { requests: number } | null }[];
    const got = Object.fromEntries(rows.map((x) => [`${x.name}.demo.svc.cluster.local`, x.stats?.requests ?? 0]));
    return got[WEB] === sent[WEB] && got[API] === sent[API] ? got : null;
  }, 20_000).catch(async (err: Error) => assert.fail(`${err.message}: ${spawnSync(process.execPath, [FERRY, 'stat', '-n', 'demo', '-t', String(statWindow), '--controller', state.controller.admin], { encoding: 'utf8' }).stdout}`));
  assert.deepEqual({ [WEB]: statRows[WEB], [API]: statRows[API] }, delta, 'ferry stat and PromQL count the same requests per service');

  // The Grafana dashboard's queries run on this Prometheus and show the mesh: both services, all
  // requests successful and over mTLS (STRICT), latency quantiles, and the drill-down into demo/web.
  const dashboard = JSON.parse(readFileSync(join(REPO, 'charts', 'ferry', 'dashboards', 'ferry-mesh.json'), 'utf8')) as { panels: { title: string; targets?: { refId: string; expr: string }[] }[] };
  const results = new Map<string, VectorSample[]>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      const expr = target.expr.replaceAll('$__rate_interval', `${window}s`).replaceAll('$namespace', 'demo').replaceAll('$workload', 'web');
      results.set(`${panel.title}/${target.refId}`, await query(prom, expr, at));
    }
  }
  const values = (key: string, label: string): Record<string, number> => Object.fromEntries(results.get(key)!.map((s) => [s.metric[label], Number(s.value[1])]));
  assert.deepEqual(Object.keys(values('Request rate by service/A', 'destination_service')).sort(), [API, WEB]);
  assert.deepEqual(values('Success rate by service/A', 'destination_service'), { [API]: 1, [WEB]: 1 });
  assert.deepEqual(values('mTLS share by service/A', 'destination_service'), { [API]: 1, [WEB]: 1 });
  for (const ref of ['A', 'B', 'C']) {
    for (const [service, seconds] of Object.entries(values(`Latency by service (p50, p95, p99)/${ref}`, 'destination_service'))) {
      assert.ok(seconds > 0 && seconds < 5, `latency ${ref} of ${service}: ${seconds}`);
    }
  }
  assert.deepEqual(Object.keys(values('Inbound request rate by response code/A', 'response_code')), ['200']);
  assert.equal(Number(results.get('Inbound mTLS share/A')![0].value[1]), 1);
});

function deepEqualNumbers(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
