// Formats /debug/syncz as the `ferry proxy-status` table (NAME, KIND, CDS, LDS, EDS, RDS).

import type { SynczProxy } from '../ads/syncz';

const COLUMNS = ['CDS', 'LDS', 'EDS', 'RDS'] as const;

/** One row per connected proxy stream; a type the proxy never asked for is NOT SENT. */
export function formatProxyStatus(proxies: readonly SynczProxy[]): string {
  const rows: string[][] = [['NAME', 'KIND', ...COLUMNS, 'VERSION']];
  for (const p of proxies) {
    const cds = p.types.CDS;
    rows.push([p.id, p.kind, ...COLUMNS.map((c) => p.types[c]?.status ?? 'NOT SENT'), cds?.versionAcked ?? '-']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('   '));
  const nacks = proxies.flatMap((p) =>
    Object.entries(p.types)
      .filter(([, t]) => t.status === 'NACKED' && t.lastNack)
      .map(([ty, t]) => `${p.id} ${ty} NACK of ${t.lastNack!.version}: ${t.lastNack!.message}`),
  );
  return `${lines.join('\n')}\n${nacks.length ? `\n${nacks.join('\n')}\n` : ''}`;
}
