// Summarises a V8 .cpuprofile (node --cpu-prof): self and inclusive time per function, and self time per file.

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotSpot {
  /** `name (file:line)`, file relative to the repository or `node:` internal. */
  readonly what: string;
  readonly selfMs: number;
  readonly selfPct: number;
  /** Time with this function anywhere on the stack (recursion counted once). */
  readonly totalMs: number;
  readonly totalPct: number;
}

export interface ProfileSummary {
  readonly sampledMs: number;
  /** Time not in (idle), (program) or (garbage collector). */
  readonly busyMs: number;
  readonly gcMs: number;
  readonly functions: readonly HotSpot[];
  readonly files: readonly { readonly file: string; readonly selfMs: number; readonly selfPct: number }[];
}

/** Shortens a script URL: repository files relative to their dist/ root, Node's own as `node:…`. */
export function shortFile(url: string): string {
  if (url === '') return '(native)';
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 6);
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 14);
  return url.replace(/^file:\/\//, '');
}

function label(n: CpuProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (f.url === '') return name;
  return `${name} (${shortFile(f.url)}:${f.lineNumber + 1})`;
}

/** Top `limit` functions by self time and files by self time; percentages are of busy time. */
export function summarizeCpuProfile(p: CpuProfile, limit = 25): ProfileSummary {
  const byId = new Map<number, CpuProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // V8 records the delta before each sample; attribute it to that sample.
    const dt = Math.max(0, p.timeDeltas[i] ?? 0);
    total += dt;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  let idle = 0;
  let gc = 0;
  const fnSelf = new Map<string, number>();
  const fnTotal = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      idle += us;
      continue;
    }
    if (name === '(garbage collector)') gc += us;
    const key = label(n);
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const file = n.callFrame.url === '' ? '(native)' : shortFile(n.callFrame.url);
    fileSelf.set(file, (fileSelf.get(file) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (us: number): number => (busy > 0 ? Math.round((1000 * us) / busy) / 10 : 0);
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const functions = [...fnSelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([what, us]) => {
      const t = fnTotal.get(what) ?? us;
      return { what, selfMs: ms(us), selfPct: pct(us), totalMs: ms(t), totalPct: pct(t) };
    });
  const files = [...fileSelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([file, us]) => ({ file, selfMs: ms(us), selfPct: pct(us) }));
  return { sampledMs: ms(total), busyMs: ms(busy), gcMs: ms(gc), functions, files };
}

/** A plain-text report of a summary. */
export function renderSummary(s: ProfileSummary): string {
  const lines = [`sampled ${s.sampledMs} ms, busy ${s.busyMs} ms, GC ${s.gcMs} ms`, '', 'self %  total %  function'];
  for (const f of s.functions) lines.push(`${f.selfPct.toFixed(1).padStart(6)}  ${f.totalPct.toFixed(1).padStart(7)}  ${f.what}`);
  lines.push('', 'self %  file');
  for (const f of s.files) lines.push(`${f.selfPct.toFixed(1).padStart(6)}  ${f.file}`);
  return lines.join('\n') + '\n';
}
