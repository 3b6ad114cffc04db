// Tests for the lean labelled metrics: Prometheus text, children reuse, and multi-worker aggregation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Registry } from 'prom-client';
import { LeanCounter, LeanGauge, LeanHistogram, ProxyMetrics } from './metrics';

test('counter children: positional and record labels reach the same series', async () => {
  const registry = new Registry();
  const c = new LeanCounter({ name: 'x_total', help: 'h', labelNames: ['a', 'b'] as const, registers: [registry] });
  const child = c.labels('1', '2');
  child.inc();
  child.inc(4);
  c.labels({ a: '1', b: '2' }).inc();
  c.labels('1', 'other').inc(2);
  assert.equal(c.labels('1', '2'), child);
  const text = await registry.metrics();
  assert.match(text, /# HELP x_total h\n# TYPE x_total counter\n/);
  assert.match(text, /^x_total\{a="1",b="2"\} 6$/m);
  assert.match(text, /^x_total\{a="1",b="other"\} 2$/m);
});

test('histogram: cumulative le buckets, +Inf, _sum and _count like prom-client', async () => {
  const registry = new Registry();
  const h = new LeanHistogram({ name: 'd_seconds', help: 'h', labelNames: ['r'] as const, buckets: [0.01, 0.001, 0.1], registers: [registry] });
  const c = h.labels('x');
  for (const v of [0.0005, 0.001, 0.002, 0.05, 7]) c.observe(v);
  const text = await registry.metrics();
  assert.match(text, /# TYPE d_seconds histogram\n/);
  assert.match(text, /^d_seconds_bucket\{le="0.001",r="x"\} 2$/m);
  assert.match(text, /^d_seconds_bucket\{le="0.01",r="x"\} 3$/m);
  assert.match(text, /^d_seconds_bucket\{le="0.1",r="x"\} 4$/m);
  assert.match(text, /^d_seconds_bucket\{le="\+Inf",r="x"\} 5$/m);
  assert.match(text, /^d_seconds_sum\{r="x"\} 7.0535$/m);
  assert.match(text, /^d_seconds_count\{r="x"\} 5$/m);
});

test('workers aggregate: counters and histograms add, the endpoints gauge takes the max', async () => {
  const worker = async (n: number): Promise<unknown> => {
    const m = new ProxyMetrics({ defaultMetrics: false });
    m.retries.labels('c', 'attempted').inc(n);
    m.endpoints.labels('c', 'healthy').set(n);
    m.requestDuration.labels({ destination_cluster: 'c', response_code: '200' }).observe(0.002);
    return m.registry.getMetricsAsJSON();
  };
  const parts = [await worker(2), await worker(3)];
  const text = await AggregatorRegistry.aggregate(parts as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  assert.match(text, /^ferry_upstream_rq_retry_total\{destination_cluster="c",outcome="attempted"\} 5$/m);
  assert.match(text, /^ferry_upstream_endpoints\{destination_cluster="c",health="healthy"\} 3$/m);
  assert.match(text, /^ferry_request_duration_seconds_count\{[^}]*destination_cluster="c"[^}]*\} 2$/m);
  assert.match(text, /^ferry_request_duration_seconds_bucket\{le="0.005",[^}]*\} 2$/m);
});

test('gauge set replaces the value', async () => {
  const registry = new Registry();
  const g = new LeanGauge({ name: 'g', help: 'h', labelNames: ['k'] as const, registers: [registry] });
  g.labels('a').set(3);
  g.labels('a').set(1);
  assert.match(await registry.metrics(), /^g\{k="a"\} 1$/m);
});
