// Tests for the markdown results: added latency over direct, Ferry / Envoy ratios, failed runs, targets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { difference, ratio, renderResultsMarkdown, scenarioTable, targets } from './results-table';
import type { BenchReport, RunResult } from './types';

function fakeRun(over: Partial<RunResult>): RunResult {
  return {
    scenario: 'latency-1000rps', topology: 'single', proxy: 'envoy', tls: 'none', status: 'ok', error: null,
    duration_s: 10, qps_target: 1000, qps_actual: 1000, p50_ms: 1, p90_ms: 2, p99_ms: 3, p999_ms: 4,
    requests: 10000, errors: 0, mb_per_s: null, proxy_cpu_s_per_1k_req: 0.05, proxy_rss_mb: 20,
    streams: null, controller_cpu_s: null, controller_rss_mb: null, mb_per_proxy: null, rate_per_cpu_s: null,
    ...over,
  };
}

const runs: RunResult[] = [
  fakeRun({ topology: 'direct', proxy: 'direct', p50_ms: 0.5, p90_ms: 0.8, p99_ms: 1, p999_ms: 2, proxy_cpu_s_per_1k_req: null, proxy_rss_mb: null }),
  fakeRun({ topology: 'pair', proxy: 'ferry', p50_ms: 0.9, p99_ms: 1.6, proxy_rss_mb: 40 }),
  fakeRun({ topology: 'pair', proxy: 'envoy', p50_ms: 0.7, p99_ms: 1.2, proxy_rss_mb: 20 }),
  fakeRun({ topology: 'pair', proxy: 'haproxy', status: 'failed', error: 'exited | code 1\nbad', p50_ms: null }),
];

test('difference and ratio handle missing figures and zero denominators', () => {
  assert.equal(difference(3, 1), 2);
  assert.equal(difference(null, 1), null);
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(3, 0), null);
  assert.equal(ratio(null, 2), null);
  assert.equal(ratio(1, -0.5), null);
  assert.equal(ratio(-1, 0.5), null);
  assert.equal(ratio(0, 2), 0);
});

test('latency table: added over direct, ferry/envoy ratio row, failed run with escaped reason', () => {
  const table = scenarioTable(runs, 'latency-1000rps')!;
  const lines = table.split('\n');
  const ferry = lines.find((l) => l.startsWith('| pair | ferry |'))!;
  const cells = ferry.split(' | ');
  // columns: topology, proxy, qps, p50, p90, p99, p99.9, +p50, ...
  assert.equal(cells[3], '0.900');
  assert.equal(cells[7], '0.400'); // 0.9 − 0.5
  const ratioRow = lines.find((l) => l.includes('**ferry / envoy**'))!.split(' | ');
  assert.equal(ratioRow[3], '1.29×'); // p50 0.9 / 0.7
  assert.equal(ratioRow[7], '2.00×'); // +p50 0.4 / 0.2
  assert.match(table, /\| pair \| haproxy \| failed: exited \\\| code 1 bad \|/);
  const direct = lines.find((l) => l.startsWith('| direct |'))!;
  assert.match(direct, /\| – \| – \| – \| – \| 0 \| – \| – \|$/); // no added latency, CPU or RSS for direct
});

test('ratio row shows – when ferry failed', () => {
  const failed = runs.map((r) => (r.proxy === 'ferry' ? fakeRun({ ...r, status: 'failed', error: 'not ready' }) : r));
  const row = scenarioTable(failed, 'latency-1000rps')!.split('\n').find((l) => l.includes('**ferry / envoy**'))!;
  assert.doesNotMatch(row, /×/);
});

test('a scenario with no runs has no table', () => {
  assert.equal(scenarioTable(runs, 'max-rps'), null);
});

test('targets: pair added latency compared with Envoy and 0.30 ms; pending without Ferry figures', () => {
  const t = targets(runs);
  assert.equal(t[0]!.met, false); // ferry +p50 0.4 > envoy 0.2
  assert.ok(Math.abs(t[0]!.ferry! - 0.4) < 1e-9);
  assert.equal(t[2]!.met, null); // no max-rps runs
  const good = targets(runs.map((r) => (r.proxy === 'ferry' ? { ...r, p50_ms: 0.6, p99_ms: 1.1 } : r)));
  assert.equal(good[0]!.met, true);
  assert.equal(good[1]!.met, true);
});

test('whole markdown names versions, pinning and the reproducing command', () => {
  const report: BenchReport = {
    date: '2025-01-01T00:00:00.000Z', mode: 'quick', pinning: 'proxies on CPU 1', ferry_commit: 'abc1234',
    machine: { cpus: 2, node: 'v20.0.0', envoy: '1.40.0', haproxy: '2.6.12', fortio: '1.68.2', load_avg_start: [0.5, 0.25, 0], load_avg_end: [1, 1, 1] },
    runs,
  };
  const md = renderResultsMarkdown(report);
  assert.match(md, /make bench-quick/);
  assert.match(md, /Envoy 1\.40\.0, HAProxy 2\.6\.12, fortio 1\.68\.2/);
  assert.match(md, /Pinning: proxies on CPU 1/);
  assert.match(md, /Ferry commit: abc1234\. Load average \(1\/5\/15 min\) before: 0\.50 \/ 0\.25 \/ 0\.00, after: 1\.00/);
  assert.match(md, /## latency-1000rps/);
  assert.match(md, /## Targets/);
});

test('a baseline build gets its own ratio row beside ferry / envoy, and the report names its commit', () => {
  const withBase = [...runs, fakeRun({ topology: 'pair', proxy: 'ferry-baseline', p50_ms: 0.8, p99_ms: 1.6 })];
  const table = scenarioTable(withBase, 'latency-1000rps')!;
  const cells = (l: string): string[] => l.split('|').map((c) => c.trim());
  const header = cells(table.split('\n')[0]!);
  const line = cells(table.split('\n').find((l) => l.includes('**ferry / baseline**'))!);
  // added p50: ferry 0.9 − 0.5 = 0.4, baseline 0.8 − 0.5 = 0.3 → 1.33×; added p99: 0.6 / 0.6 → 1.00×
  assert.equal(line[header.indexOf('+p50 ms')], '1.33×');
  assert.equal(line[header.indexOf('+p99 ms')], '1.00×');
  assert.equal(scenarioTable(runs, 'latency-1000rps')!.includes('baseline'), false);
  const report: BenchReport = {
    date: '2026-01-01T00:00:00Z', mode: 'quick', ferry_commit: 'abc1234', baseline_commit: '9ed9b1c',
    machine: { cpus: 2, node: 'v20', envoy: '1', haproxy: '2', fortio: '3', load_avg_start: [0, 0, 0], load_avg_end: [0, 0, 0] },
    pinning: 'none', runs: withBase,
  };
  assert.match(renderResultsMarkdown(report), /ferry-baseline: 9ed9b1c/);
  assert.match(renderResultsMarkdown(report), /with `make bench-compare BASE=9ed9b1c`/);
});
