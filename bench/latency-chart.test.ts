// Tests for the SVG latency chart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceStep, renderLatencyChart } from './latency-chart';
import type { RunResult } from './types';

function run(over: Partial<RunResult>): RunResult {
  return {
    scenario: 'latency-1000rps', topology: 'single', proxy: 'envoy', tls: 'none', status: 'ok', error: null,
    duration_s: 10, qps_target: 1000, qps_actual: 1000, p50_ms: 0.5, p90_ms: 1, p99_ms: 2, p999_ms: 3,
    requests: 10000, errors: 0, mb_per_s: null, proxy_cpu_s_per_1k_req: null, proxy_rss_mb: null,
    streams: null, controller_cpu_s: null, controller_rss_mb: null, mb_per_proxy: null, rate_per_cpu_s: null,
    ...over,
  };
}

test('niceStep picks 1/2/2.5/5 × 10^k', () => {
  const cases: Array<[number, number, number]> = [[1, 5, 0.2], [2.3, 5, 0.5], [0.9, 5, 0.2], [12, 5, 2.5], [0, 5, 1]];
  for (const [max, ticks, want] of cases) assert.equal(niceStep(max, ticks), want, `niceStep(${max})`);
});

test('three bars per successful run, heights proportional to the values', () => {
  const svg = renderLatencyChart([run({ proxy: 'direct', topology: 'direct' }), run({ p50_ms: 1, p90_ms: 1.5, p99_ms: 2.5 })]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="16" height="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(bars.length, 6);
  // axis top is 2.5 (step 0.5); the plot is 260 px high, so 2.5 ms fills it and 0.5 ms is a fifth.
  assert.equal(bars[5], 260);
  assert.equal(bars[0], 52);
  assert.match(svg, /<title>envoy single p99: 2\.500 ms<\/title>/);
});

test('a failed run is drawn as a labelled gap, and text is escaped', () => {
  const svg = renderLatencyChart([run({ proxy: 'ferry', status: 'failed', error: 'x' }), run({})], { title: 'a < b & c' });
  assert.match(svg, />failed</);
  assert.match(svg, /a &lt; b &amp; c/);
  assert.equal([...svg.matchAll(/width="16"/g)].length, 3);
});

test('other scenarios are left out', () => {
  const svg = renderLatencyChart([run({ scenario: 'max-rps' })]);
  assert.equal([...svg.matchAll(/width="16"/g)].length, 0);
});
