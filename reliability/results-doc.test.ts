import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReliability, type RunResults } from './results-doc';
import type { ScenarioResult } from './scenario';

const base: ScenarioResult = {
  name: 'replica-sigkill',
  title: 'SIGKILL of one replica',
  expectation: '0 failed; ejection time reported',
  command: 'node dist/reliability/run.js --scenarios=replica-sigkill --rps=500',
  ranAt: '2026-01-01T00:01:00.000Z',
  passed: false,
  rps: 500,
  durationMs: 25_000,
  fault: { startMs: 3000, endMs: 6500 },
  figures: { sent: 12_500, ok: 12_498, failed: 2, failedBy: { '503 UF': 1, 'ECONNRESET': 1 }, faultP50Ms: 2.1, faultP99Ms: 40, p50Ms: 1.9, p99Ms: 12, recoveryMs: 180, maxSendLagMs: 3.5 },
  extra: { 'ejection after (ms)': 420, 'a | b': null },
  sidecars: [{ pod: 'catalog-1', before: { name: 'x', pid: 1, rssMb: 60.5, fds: 30 }, after: null }],
  notes: ['One note.'],
  error: null,
};

test('renderReliability: the summary row and a table per scenario with its command, failures by reason, figures and sidecars', () => {
  const results: RunResults = { startedAt: '2026-01-01T00:00:00.000Z', host: { cpus: 2, node: 'v22.0.0' }, scenarios: [base, { ...base, name: 'ok-one', title: 'Fine', passed: true, figures: { ...base.figures!, failed: 0, failedBy: {}, recoveryMs: 0 }, sidecars: [], notes: [] }] };
  const md = renderReliability(results, '# Reliability\n\nIntro.\n');
  assert.match(md, /^# Reliability\n\nIntro\.\n\nLast run: 2026-01-01T00:00:00\.000Z on 2 CPUs, Node v22\.0\.0 \(a run of some/);
  assert.match(md, /1 of 2 scenarios met their expectation\./);
  assert.match(md, /\| replica-sigkill \| 0 failed; ejection time reported \| 12500 \| 2 \| 180 ms \| \*\*no\*\* \|/);
  assert.match(md, /\| ok-one \| .* \| 0 \| 0 ms \| yes \|/);
  assert.match(md, /## SIGKILL of one replica\n\n`node dist\/reliability\/run\.js --scenarios=replica-sigkill --rps=500`\n\nExpectation: 0 failed; ejection time reported — \*\*not met\*\* \(run 2026-01-01T00:01:00\.000Z\)\./);
  assert.match(md, /\| failed by reason \| 1 × 503 UF, 1 × ECONNRESET \|/);
  assert.match(md, /\| p50 \/ p99 during the fault \| 2\.1 ms \/ 40 ms \|/);
  assert.match(md, /\| fault window \| 3\.0–6\.5 s \|/);
  assert.match(md, /\| client's latest send after due \| 3\.5 ms \|/);
  assert.match(md, /\| ejection after \(ms\) \| 420 \|/);
  assert.match(md, /\| a \\\| b \| — \|/, 'a pipe in a cell is escaped, null shows as a dash');
  assert.match(md, /\| catalog-1 \| 60\.5 MiB \| — \| 30 \| — \|/);
  assert.match(md, /- One note\./);
  assert.ok(md.endsWith('\n') && !md.endsWith('\n\n'));
});

test('renderReliability: a scenario that did not complete says so with its error, and a run that never recovered says that', () => {
  const failed: ScenarioResult = { ...base, figures: null, fault: null, error: 'ferry up exited (1)', sidecars: [], extra: {}, notes: [] };
  const stuck: ScenarioResult = { ...base, name: 'stuck', figures: { ...base.figures!, recoveryMs: null } };
  const md = renderReliability({ startedAt: 'now', host: { cpus: 1, node: 'v1' }, scenarios: [failed, stuck] }, '# R');
  assert.match(md, /\| replica-sigkill \| .* \| — \| — \| — \| did not complete \|/);
  assert.match(md, /Expectation: .* — \*\*did not complete\*\*: ferry up exited \(1\) \(run /);
  assert.match(md, /\| stuck \| .* \| not recovered \| \*\*no\*\* \|/);
  assert.match(md, /\| time to recover \| not recovered \|/);
});

test('renderReliability: a sidecar whose pid changed between the samples is named as restarted', () => {
  const sample = (pid: number) => ({ name: 'x', pid, rssMb: 1, fds: 1 });
  const r: ScenarioResult = { ...base, notes: [], sidecars: [{ pod: 'client', before: sample(10), after: sample(11) }, { pod: 'catalog-0', before: sample(20), after: sample(20) }, { pod: 'catalog-1', before: sample(30), after: null }] };
  const md = renderReliability({ startedAt: 'now', host: { cpus: 1, node: 'v1' }, scenarios: [r] }, '# R');
  assert.match(md, /- Sidecars that restarted during the run: client \(pid 10 → 11\); their logs say why\./);
  assert.doesNotMatch(md, /catalog-0 \(pid/);
});

test('renderReliability: the soak, when there is one, after the scenarios with its load, restarts, edits and each process trend', () => {
  const results: RunResults = {
    startedAt: '2026-01-01T00:00:00.000Z',
    host: { cpus: 2, node: 'v22.0.0' },
    scenarios: [],
    soak: {
      ranAt: '2026-01-01T01:00:00.000Z', command: 'node dist/reliability/soak.js --duration=10m --rps=1000', passed: false, durationMs: 600_000, rps: 1000,
      load: { sent: 600_000, ok: 599_999, failed: 1, failedBy: { '503 UC': 1 }, p50Ms: 2.5, p99Ms: 15, maxSendLagMs: 4, firstFailures: [{ atMs: 61_500, reason: '503 UC' }] },
      segments: 10, rollingRestarts: 3, replicaRestartMs: [5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000], configEdits: 19, editSeenMs: { median: 120, max: 480 },
      bounds: { warmupMs: 90_000, windowMs: 90_000, maxRssGrowthPct: 5, maxFdGrowth: 5 },
      trends: [{ name: 'client/ferry-proxy', baselineRssMb: 100, endRssMb: 102, maxRssMb: 110, rssGrowthPct: 2, baselineFds: 30, endFds: 31, pids: [5], rssByWindowMb: [80, 100, null, 102] }],
      problems: ['1 of 600000 requests failed (1 × 503 UC)'],
      error: null,
    },
  };
  const md = renderReliability(results, '# Reliability\n');
  assert.match(md, /## Soak: steady load with periodic rolling restarts and config edits\n\n`node dist\/reliability\/soak\.js --duration=10m --rps=1000`/);
  assert.match(md, /— \*\*not met\*\* \(run 2026-01-01T01:00:00\.000Z\)/);
  assert.match(md, /\| load \| 1000 req\/s for 10\.0 min, open loop, HTTP\/1\.1, 10 consecutive load clients \|/);
  assert.match(md, /\| rolling restarts of the catalog \| 3 \(9 replica restarts\) \|/);
  assert.match(md, /\| config edits \(a Service added or removed\) \| 19; seen by the client's sidecar after 120 ms \(median\), 480 ms \(max\) \|/);
  assert.match(md, /\| first failures \(s into the soak\) \| 61\.5 503 UC \|/);
  assert.match(md, /\| client\/ferry-proxy \| 100 MiB \| 102 MiB \| 2 % \| 110 MiB \| 30 \| 31 \| no \|/);
  assert.match(md, /RSS \(MiB\) by 1\.5-minute window from the start, each the window's median:\n\n- client\/ferry-proxy: 80 · 100 · — · 102\n/);
  assert.match(md, /- 1 of 600000 requests failed \(1 × 503 UC\)/);
});
