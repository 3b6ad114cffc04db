// Renders the latency chart (SVG): grouped p50/p90/p99 bars per proxy and topology of one scenario.

import type { RunResult, Scenario } from './types';

const SERIES = [
  { key: 'p50_ms', label: 'p50', color: '#4e79a7' },
  { key: 'p90_ms', label: 'p90', color: '#f28e2b' },
  { key: 'p99_ms', label: 'p99', color: '#e15759' },
] as const;

const BAR = 16;
const BAR_GAP = 2;
const GROUP_PAD = 28;
const LEFT = 64;
const RIGHT = 24;
const TOP = 48;
const PLOT_HEIGHT = 260;
const BOTTOM = 64;

/** A "nice" axis step (1, 2, 2.5 or 5 × 10^k) so that `ticks` steps cover `max`. */
export function niceStep(max: number, ticks: number): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number(n.toFixed(3)).toString();
}

export interface ChartOptions {
  readonly scenario?: Scenario;
  readonly title?: string;
}

/** SVG text of the chart; runs that failed show as a labelled gap so a missing proxy is visible. */
export function renderLatencyChart(runs: readonly RunResult[], opts: ChartOptions = {}): string {
  const scenario = opts.scenario ?? 'latency-1000rps';
  const groups = runs.filter((r) => r.scenario === scenario);
  const groupWidth = SERIES.length * BAR + (SERIES.length - 1) * BAR_GAP + GROUP_PAD;
  const width = LEFT + RIGHT + Math.max(1, groups.length) * groupWidth;
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  let max = 0;
  for (const g of groups) if (g.status === 'ok') for (const s of SERIES) max = Math.max(max, g[s.key] ?? 0);
  const step = niceStep(max, 5);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v: number): number => TOP + PLOT_HEIGHT - (v / top) * PLOT_HEIGHT;
  const title = opts.title ?? `${scenario}: latency percentiles (ms), lower is better`;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  // Legend.
  SERIES.forEach((s, i) => {
    const x = LEFT + i * 70;
    out.push(`<rect x="${x}" y="28" width="10" height="10" fill="${s.color}"/>`, `<text x="${x + 14}" y="37">${s.label}</text>`);
  });
  // Axis and grid.
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = fmt(y(v));
    out.push(
      `<line x1="${LEFT}" y1="${yy}" x2="${width - RIGHT}" y2="${yy}" stroke="#dddddd"/>`,
      `<text x="${LEFT - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  out.push(`<text x="14" y="${TOP + PLOT_HEIGHT / 2}" transform="rotate(-90 14 ${TOP + PLOT_HEIGHT / 2})" text-anchor="middle">ms</text>`);
  // Bars.
  groups.forEach((g, gi) => {
    const x0 = LEFT + gi * groupWidth + GROUP_PAD / 2;
    const center = x0 + (groupWidth - GROUP_PAD) / 2;
    if (g.status === 'ok') {
      SERIES.forEach((s, si) => {
        const v = g[s.key] ?? 0;
        const x = x0 + si * (BAR + BAR_GAP);
        out.push(
          `<rect x="${fmt(x)}" y="${fmt(y(v))}" width="${BAR}" height="${fmt(TOP + PLOT_HEIGHT - y(v))}" fill="${s.color}">` +
            `<title>${escapeXml(`${g.proxy} ${g.topology} ${s.label}: ${v.toFixed(3)} ms`)}</title></rect>`,
        );
      });
    } else {
      out.push(`<text x="${fmt(center)}" y="${TOP + PLOT_HEIGHT - 6}" text-anchor="middle" fill="#999999">failed</text>`);
    }
    out.push(
      `<text x="${fmt(center)}" y="${TOP + PLOT_HEIGHT + 18}" text-anchor="middle" font-weight="bold">${escapeXml(g.proxy)}</text>`,
      `<text x="${fmt(center)}" y="${TOP + PLOT_HEIGHT + 34}" text-anchor="middle" fill="#555555">${escapeXml(g.topology)}</text>`,
    );
  });
  out.push(`<line x1="${LEFT}" y1="${TOP + PLOT_HEIGHT}" x2="${width - RIGHT}" y2="${TOP + PLOT_HEIGHT}" stroke="#333333"/>`);
  out.push('</svg>', '');
  return out.join('\n');
}
