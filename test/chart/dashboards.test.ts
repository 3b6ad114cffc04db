// The Grafana dashboards in charts/ferry/dashboards/: every panel query selects only metrics and labels the sidecars export (from the metric catalogue in src/observability/), and the checker fails naming the panel and the name.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { identityMetrics } from '../../src/observability/identity-metrics';
import { ProxyMetrics } from '../../src/observability/metrics';
import { unknownNames, unknownNamesInLabelValues, type MetricCatalogue } from '../support/promql-names';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DASHBOARDS = path.join(ROOT, 'charts', 'ferry', 'dashboards');

type Obj = Record<string, any>;

/** Every series name a sidecar exports, with its labels, read from the sidecar's own registry (histograms as _bucket/_sum/_count). */
function sidecarCatalogue(): MetricCatalogue {
  const m = new ProxyMetrics();
  identityMetrics(m.registry);
  const out = new Map<string, Set<string>>();
  for (const metric of m.registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames?: readonly string[] }[]) {
    const labels = [...(metric.labelNames ?? [])];
    if (metric.type === 'histogram') {
      out.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${metric.name}_sum`, new Set(labels));
      out.set(`${metric.name}_count`, new Set(labels));
    } else if (metric.type === 'summary') {
      out.set(metric.name, new Set([...labels, 'quantile']));
      out.set(`${metric.name}_sum`, new Set(labels));
      out.set(`${metric.name}_count`, new Set(labels));
    } else {
      out.set(metric.name, new Set(labels));
    }
  }
  return out;
}

const CATALOGUE = sidecarCatalogue();

function dashboards(): [string, Obj][] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(path.join(DASHBOARDS, f), 'utf8')) as Obj]);
}

/** Every panel, rows' nested panels included. */
function panels(dashboard: Obj): Obj[] {
  return (dashboard.panels ?? []).flatMap((p: Obj) => [p, ...(p.panels ?? [])]);
}

/** The problems of one dashboard, each naming the panel (or variable) and the unknown name. */
function problems(file: string, dashboard: Obj, catalogue: MetricCatalogue): string[] {
  const out: string[] = [];
  for (const p of panels(dashboard)) {
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string') continue;
      for (const problem of unknownNames(t.expr, catalogue)) out.push(`${file}: panel "${p.title}" target ${t.refId}: ${problem}`);
    }
  }
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    for (const problem of unknownNamesInLabelValues(String(q), catalogue)) out.push(`${file}: variable $${v.name}: ${problem}`);
  }
  return out;
}

test('the catalogue comes from the sidecar\'s registry', () => {
  assert.ok(CATALOGUE.get('ferry_requests_total')?.has('destination_service'));
  assert.ok(CATALOGUE.get('ferry_request_duration_seconds_bucket')?.has('le'));
  assert.ok(CATALOGUE.get('ferry_tcp_sent_bytes_total')?.has('connection_security_policy'));
  assert.ok(CATALOGUE.has('ferry_identity_cert_expiration_timestamp_seconds'));
  assert.ok(!CATALOGUE.has('ferry_request_duration_seconds'), 'a histogram is exported as _bucket, _sum and _count only');
  assert.ok(!CATALOGUE.has('istio_requests_total'));
});

test('every dashboard query names only metrics, labels and functions the sidecars export', () => {
  const all = dashboards();
  assert.ok(all.length >= 1, `no dashboards in ${DASHBOARDS}`);
  let exprs = 0;
  for (const [file, d] of all) {
    exprs += panels(d).flatMap((p) => p.targets ?? []).length;
    assert.deepEqual(problems(file, d, CATALOGUE), [], file);
  }
  assert.ok(exprs >= 10, `only ${exprs} queries checked`);
});

test('the mesh dashboard: overview (rate, success, p50/p95/p99, TCP bytes, mTLS share) and a workload drill-down on $namespace/$workload', () => {
  const d = JSON.parse(readFileSync(path.join(DASHBOARDS, 'ferry-mesh.json'), 'utf8')) as Obj;
  const all = panels(d);
  const ids = all.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const exprs = all.flatMap((p) => (p.targets ?? []).map((t: Obj) => t.expr as string));
  for (const q of ['0.50', '0.95', '0.99']) assert.ok(exprs.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (le, destination_service)`)), `p${q} per service`);
  assert.ok(exprs.some((e) => e.includes('ferry_tcp_sent_bytes_total') && e.includes('by (destination_service)')), 'TCP bytes per service');
  assert.ok(exprs.some((e) => e.includes('connection_security_policy="mutual_tls"')), 'mTLS share');
  assert.ok(exprs.some((e) => /response_code!~"5\.\."/.test(e)), 'success rate');
  assert.deepEqual(d.templating.list.map((v: Obj) => v.name), ['datasource', 'namespace', 'workload']);
  const drill = all.filter((p) => (p.targets ?? []).some((t: Obj) => t.expr.includes('$workload')));
  assert.ok(drill.length >= 6, `${drill.length} drill-down panels`);
  for (const p of drill) for (const t of p.targets) assert.match(t.expr, /\$namespace/, `panel "${p.title}" filters by namespace too`);
  for (const p of all.filter((x) => x.type !== 'row')) assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the datasource variable`);
});

test('a misspelled metric, label or function fails, naming the panel and the name', () => {
  const [file, real] = dashboards().find(([f]) => f === 'ferry-mesh.json')!;
  const cases: { what: string; edit: (d: Obj) => void; want: RegExp }[] = [
    {
      what: 'metric',
      edit: (d) => {
        const t = panels(d).find((p) => p.title === 'Request rate by service')!.targets[0];
        t.expr = t.expr.replace('ferry_requests_total', 'ferry_request_total');
      },
      want: /^ferry-mesh\.json: panel "Request rate by service" target A: unknown metric ferry_request_total$/,
    },
    {
      what: 'Istio\'s name (the sidecars prefix ferry_)',
      edit: (d) => {
        const t = panels(d).find((p) => p.title === 'Success rate by service')!.targets[0];
        t.expr = t.expr.replaceAll('ferry_requests_total', 'istio_requests_total');
      },
      want: /^ferry-mesh\.json: panel "Success rate by service" target A: unknown metric istio_requests_total$/,
    },
    {
      what: 'label matcher',
      edit: (d) => {
        const t = panels(d).find((p) => p.title === 'Inbound callers')!.targets[0];
        t.expr = t.expr.replace('destination_service_name=~', 'destination_team=~');
      },
      want: /^ferry-mesh\.json: panel "Inbound callers" target A: unknown label destination_team on ferry_requests_total$/,
    },
    {
      what: 'by label',
      edit: (d) => {
        const t = panels(d).find((p) => p.title === 'TCP bytes by service')!.targets[1];
        t.expr = t.expr.replace('by (destination_service)', 'by (response_code)');
      },
      want: /^ferry-mesh\.json: panel "TCP bytes by service" target B: by \(response_code\): unknown label response_code on ferry_tcp_sent_bytes_total$/,
    },
    {
      what: 'function',
      edit: (d) => {
        const t = panels(d).find((p) => p.title === 'Latency by service (p50, p95, p99)')!.targets[2];
        t.expr = t.expr.replace('histogram_quantile', 'histogram_quantil');
      },
      want: /^ferry-mesh\.json: panel "Latency by service \(p50, p95, p99\)" target C: unknown function histogram_quantil\(\)$/,
    },
    {
      what: 'variable query',
      edit: (d) => {
        d.templating.list[2].query.query = d.templating.list[2].query.query.replace('destination_service_name)', 'workload)');
      },
      want: /^ferry-mesh\.json: variable \$workload: unknown label workload on ferry_requests_total$/,
    },
  ];
  for (const c of cases) {
    const d = structuredClone(real);
    c.edit(d);
    const got = problems(file, d, CATALOGUE);
    assert.equal(got.length, 1, `${c.what}: ${JSON.stringify(got)}`);
    assert.match(got[0], c.want, c.what);
  }
});

test('the PromQL reader: selectors, matchers, grouping, modifiers and Grafana variables', () => {
  const cat: MetricCatalogue = new Map([
    ['a_total', new Set(['x', 'y'])],
    ['b_bucket', new Set(['x', 'le'])],
  ]);
  const cases: [string, string[]][] = [
    ['a_total', []],
    ['sum without (y) (rate(a_total{x=~"$ns", y!="1"}[$__rate_interval]))', []],
    ['histogram_quantile(0.9, sum(rate(b_bucket[5m])) by (le))', []],
    ['a_total - a_total offset 30s', []],
    ['a_total @ end() > bool on (x) group_left b_bucket', []],
    ['-a_total * 2 and {__name__="a_total", x="1"}', []],
    ['topk(3, a_total) or vector(0)', []],
    ['sum by (le) (a_total)', ['by (le): unknown label le on a_total']],
    ['sum by (x) (a_total / b_bucket) by (y)', ['by (y): unknown label y on b_bucket']],
    ['a_total / on (y) b_bucket', ['on (y): unknown label y on b_bucket']],
    ['rate(c_total[1m])', ['unknown metric c_total']],
    ['a_total{z="1"}', ['unknown label z on a_total']],
    ['{x="1"}', ['a selector without a metric name']],
    ['rates(a_total[1m])', ['unknown function rates()']],
    ['sum(a_total', ['cannot read the expression: unexpected end of expression']],
    ['a_total{x=1}', ['cannot read the expression: expected a quoted value for x at 10']],
  ];
  for (const [expr, want] of cases) assert.deepEqual(unknownNames(expr, cat), want, expr);
  assert.deepEqual(unknownNamesInLabelValues('label_values(a_total{y="$v"}, x)', cat), []);
  assert.deepEqual(unknownNamesInLabelValues('label_values(a_total, z)', cat), ['unknown label z on a_total']);
  assert.deepEqual(unknownNamesInLabelValues('query_result(a_total)', cat), ['not label_values(selector, label): "query_result(a_total)"']);
});
