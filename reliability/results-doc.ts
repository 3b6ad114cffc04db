// Renders RELIABILITY.md from a chaos run's results: one table per scenario, with the command that reproduces it.

import type { ScenarioResult } from './scenario';
import type { SoakResult } from './soak-figures';

export interface RunResults {
  /** ISO time the run started. */
  readonly startedAt: string;
  readonly host: { readonly cpus: number; readonly node: string };
  readonly scenarios: readonly ScenarioResult[];
  /** The last `make soak`, kept across chaos runs. */
  readonly soak?: SoakResult;
}

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${v} ms`;
}

function mb(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${v} MiB`;
}

function n(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : String(v);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function scenarioSection(r: ScenarioResult): string[] {
  const out = [`## ${r.title}`, '', `\`${r.command}\``, ''];
  const verdict = r.error ? `**did not complete**: ${cell(r.error)}` : r.passed ? 'met' : '**not met**';
  out.push(`Expectation: ${r.expectation} — ${verdict} (run ${r.ranAt}).`, '');
  const f = r.figures;
  out.push('| figure | value |', '|---|---|');
  out.push(`| load | ${r.rps} req/s for ${(r.durationMs / 1000).toFixed(0)} s, open loop, HTTP/1.1 |`);
  if (r.fault) out.push(`| fault window | ${(r.fault.startMs / 1000).toFixed(1)}–${(r.fault.endMs / 1000).toFixed(1)} s |`);
  if (f) {
    out.push(`| sent | ${f.sent} |`, `| ok | ${f.ok} |`, `| failed | ${f.failed} |`);
    const reasons = Object.entries(f.failedBy).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} × ${k}`);
    out.push(`| failed by reason | ${reasons.length ? cell(reasons.join(', ')) : '—'} |`);
    out.push(`| p50 / p99 during the fault | ${ms(f.faultP50Ms)} / ${ms(f.faultP99Ms)} |`);
    out.push(`| p50 / p99 over the run | ${ms(f.p50Ms)} / ${ms(f.p99Ms)} |`);
    out.push(`| time to recover | ${f.recoveryMs === null ? 'not recovered' : ms(f.recoveryMs)} |`);
    out.push(`| client's latest send after due | ${ms(f.maxSendLagMs)} |`);
  }
  for (const [k, v] of Object.entries(r.extra)) out.push(`| ${cell(k)} | ${cell(v === null ? '—' : String(v))} |`);
  out.push('');
  if (r.sidecars.length) {
    out.push('| sidecar | RSS before | RSS after | fds before | fds after |', '|---|---|---|---|---|');
    for (const s of r.sidecars) out.push(`| ${s.pod} | ${mb(s.before?.rssMb)} | ${mb(s.after?.rssMb)} | ${n(s.before?.fds)} | ${n(s.after?.fds)} |`);
    out.push('');
  }
  const restarted = r.sidecars.filter((x) => x.before && x.after && x.before.pid !== x.after.pid);
  const notes = [...r.notes];
  if (restarted.length) notes.push(`Sidecars that restarted during the run: ${restarted.map((x) => `${x.pod} (pid ${x.before!.pid} → ${x.after!.pid})`).join(', ')}; their logs say why.`);
  for (const note of notes) out.push(`- ${note}`);
  if (notes.length) out.push('');
  return out;
}

function soakSection(r: SoakResult): string[] {
  const out = ['## Soak: steady load with periodic rolling restarts and config edits', '', `\`${r.command}\` (\`make soak DURATION=…\`)`, ''];
  const verdict = r.error ? `**did not complete**: ${cell(r.error)}` : r.passed ? 'met' : '**not met**';
  out.push(`Expectation: 0 failed, RSS growth under ${r.bounds.maxRssGrowthPct} % after the warm-up, descriptors flat (at most +${r.bounds.maxFdGrowth}), no sidecar or controller restarted — ${verdict} (run ${r.ranAt}).`, '');
  out.push('| figure | value |', '|---|---|');
  out.push(`| load | ${r.rps} req/s for ${(r.durationMs / 60_000).toFixed(1)} min, open loop, HTTP/1.1, ${r.segments} consecutive load clients |`);
  out.push(`| rolling restarts of the catalog | ${r.rollingRestarts} (${r.replicaRestartMs.length} replica restarts) |`);
  out.push(`| config edits (a Service added or removed) | ${r.configEdits}; seen by the client's sidecar after ${ms(r.editSeenMs.median)} (median), ${ms(r.editSeenMs.max)} (max) |`);
  out.push(`| baseline window | ${(r.bounds.warmupMs / 1000).toFixed(0)}–${((r.bounds.warmupMs + r.bounds.windowMs) / 1000).toFixed(0)} s; end window: the last ${(r.bounds.windowMs / 1000).toFixed(0)} s |`);
  const l = r.load;
  if (l) {
    out.push(`| sent | ${l.sent} |`, `| ok | ${l.ok} |`, `| failed | ${l.failed} |`);
    const reasons = Object.entries(l.failedBy).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} × ${k}`);
    out.push(`| failed by reason | ${reasons.length ? cell(reasons.join(', ')) : '—'} |`);
    out.push(`| p50 / p99 over the soak | ${ms(l.p50Ms)} / ${ms(l.p99Ms)} |`);
    out.push(`| client's latest send after due | ${ms(l.maxSendLagMs)} |`);
    if (l.firstFailures.length) out.push(`| first failures (s into the soak) | ${cell(l.firstFailures.map((f) => `${(f.atMs / 1000).toFixed(1)} ${f.reason}`).join(', '))} |`);
  }
  out.push('');
  if (r.trends.length) {
    out.push('| process | RSS baseline | RSS end | growth | RSS max | fds baseline | fds end | restarted |', '|---|---|---|---|---|---|---|---|');
    for (const t of r.trends) out.push(`| ${t.name} | ${mb(t.baselineRssMb)} | ${mb(t.endRssMb)} | ${t.rssGrowthPct === null ? '—' : `${t.rssGrowthPct} %`} | ${mb(t.maxRssMb)} | ${n(t.baselineFds)} | ${n(t.endFds)} | ${t.pids.length > 1 ? `**yes** (${t.pids.length} pids)` : 'no'} |`);
    out.push('');
    const series = r.trends.filter((t) => t.rssByWindowMb?.length);
    if (series.length) {
      out.push(`RSS (MiB) by ${r.bounds.windowMs / 60_000}-minute window from the start, each the window's median:`, '');
      for (const t of series) out.push(`- ${t.name}: ${t.rssByWindowMb.map((v) => (v === null ? '—' : String(v))).join(' · ')}`);
      out.push('');
    }
  }
  for (const p of r.problems) out.push(`- ${p}`);
  if (r.problems.length) out.push('');
  return out;
}

/** The whole document. */
export function renderReliability(results: RunResults, header: string): string {
  const lines = [header.trimEnd(), '', `Last run: ${results.startedAt} on ${results.host.cpus} CPUs, Node ${results.host.node} (a run of some scenarios keeps the others' last figures; each heading says when it ran).`, ''];
  const met = results.scenarios.filter((s) => s.passed && !s.error).length;
  lines.push(`${met} of ${results.scenarios.length} scenarios met their expectation.`, '');
  lines.push('| scenario | expectation | sent | failed | time to recover | met |', '|---|---|---|---|---|---|');
  for (const s of results.scenarios) {
    lines.push(`| ${s.name} | ${cell(s.expectation)} | ${n(s.figures?.sent)} | ${n(s.figures?.failed)} | ${s.figures ? (s.figures.recoveryMs === null ? 'not recovered' : ms(s.figures.recoveryMs)) : '—'} | ${s.error ? 'did not complete' : s.passed ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  for (const s of results.scenarios) lines.push(...scenarioSection(s));
  if (results.soak) lines.push(...soakSection(results.soak));
  return `${lines.join('\n').trimEnd()}\n`;
}
