// One time source: no production file outside src/clock/ reads the time itself (Date.now, performance.now,
// process.hrtime, new Date() or Date() without arguments); it takes a Clock (src/clock/clock.ts) instead.
// Tests, fixtures, test/ and bench/ (benchmarks measure wall time) may read the time directly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

const ROOT = resolve(__dirname, '../../..');

// Files still being moved to the Clock, each with the number of raw time reads it still has. Empty: every
// production file takes its time from a Clock. The list can only shrink; nothing may be added to it.
const ALLOWED: Readonly<Record<string, number>> = {};

/** Folders that hold no production code, at any depth; and the top-level ones that are harnesses. */
const SKIP_ANYWHERE = new Set(['node_modules', 'dist']);
const SKIP_TOP = new Set(['test', 'bench']);

export interface RawTimeRead {
  readonly line: number;
  readonly what: string;
  readonly text: string;
}

/** `Date`, `globalThis.Date`, `global.Date` → `Date` (and so on); anything else unchanged. */
function globalName(e: ts.Expression): string {
  const t = e.getText().replace(/\s+/g, '');
  return t.replace(/^(globalThis|global)\./, '');
}

/** Node's global timers: timed code takes them from a Clock too, so tests can drive them. */
const GLOBAL_TIMERS = new Set(['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval']);

/** The raw time reads in one source file (comments and strings do not count). */
export function rawTimeReads(fileName: string, source: string): RawTimeRead[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lines = source.split('\n');
  const found: RawTimeRead[] = [];
  const add = (node: ts.Node, what: string): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    found.push({ line, what, text: lines[line - 1].trim() });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const owner = globalName(node.expression);
      const name = node.name.text;
      if ((owner === 'Date' || owner === 'performance') && name === 'now') add(node, `${owner}.now`);
      else if (owner === 'process' && name === 'hrtime') add(node, 'process.hrtime');
    } else if (ts.isCallExpression(node) && GLOBAL_TIMERS.has(globalName(node.expression))) {
      add(node, `${globalName(node.expression)}()`);
    } else if (ts.isNewExpression(node) && globalName(node.expression) === 'Date' && (node.arguments?.length ?? 0) === 0) {
      add(node, 'new Date()');
    } else if (ts.isCallExpression(node) && globalName(node.expression) === 'Date' && node.arguments.length === 0) {
      add(node, 'Date()');
    } else if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // `import { hrtime } from 'node:process'` or `import { performance } from 'node:perf_hooks'`: the same reads, renamed.
      const from = node.moduleSpecifier.text.replace(/^node:/, '');
      const bindings = node.importClause?.namedBindings;
      if ((from === 'process' || from === 'perf_hooks') && bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) {
          const imported = (el.propertyName ?? el.name).text;
          if ((from === 'process' && imported === 'hrtime') || (from === 'perf_hooks' && imported === 'performance' && el.name.text !== 'performance')) {
            add(el, `import { ${imported} } from '${node.moduleSpecifier.text}'`);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every production .ts file of the repository, relative to ROOT with `/` separators. */
function productionFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP_ANYWHERE.has(e.name)) continue;
    const full = join(dir, e.name);
    const rel = relative(ROOT, full).split(sep).join('/');
    if (e.isDirectory()) {
      if (dir === ROOT && SKIP_TOP.has(e.name)) continue;
      out.push(...productionFiles(full));
    } else if (/\.(c|m)?tsx?$/.test(e.name) && !/\.d\.(c|m)?ts$/.test(e.name) && !/\.(test|fixture)\.(c|m)?tsx?$/.test(e.name)) {
      out.push(rel);
    }
  }
  return out.sort();
}

/** What is wrong with `reads` (file → its raw time reads) given the allow-list; empty when all is well. */
export function problems(reads: ReadonlyMap<string, readonly RawTimeRead[]>, allowed: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  for (const [file, found] of reads) {
    if (file.startsWith('src/clock/') || found.length === 0) continue;
    const limit = allowed[file];
    if (limit === undefined) {
      for (const r of found) out.push(`${file}:${r.line}: ${r.what} — take a Clock (src/clock/clock.ts) instead: ${r.text}`);
    } else if (found.length > limit) {
      out.push(`${file}: ${found.length} raw time reads, the allow-list has ${limit}; new code takes a Clock. Its reads now:`);
      for (const r of found) out.push(`  ${file}:${r.line}: ${r.what}: ${r.text}`);
    }
  }
  for (const [file, limit] of Object.entries(allowed)) {
    const n = reads.get(file)?.length ?? 0;
    if (!reads.has(file)) out.push(`${file}: on the allow-list but not a production file any more; delete its entry`);
    else if (n === 0) out.push(`${file}: no raw time reads any more; delete its entry from the allow-list`);
    else if (n < limit) out.push(`${file}: ${n} raw time read(s) left, the allow-list says ${limit}; lower its count to ${n}`);
  }
  return out;
}

test('no production file outside src/clock/ reads the time itself or sets a global timer (but the allow-listed ones, as counted)', () => {
  const reads = new Map<string, RawTimeRead[]>();
  for (const file of productionFiles()) reads.set(file, rawTimeReads(file, readFileSync(join(ROOT, file), 'utf8')));
  assert.ok(reads.size > 100 && reads.has('src/clock/clock.ts') && reads.has('sidecar/proxy.ts'), `found only ${reads.size} production files under ${ROOT}`);
  const found = problems(reads, ALLOWED);
  if (found.length > 0) assert.fail(`raw time reads outside src/clock/, or an allow-list to shrink:\n${found.join('\n')}`);
});

test('the scan finds each way of reading the time, and not comments, strings or dates built from a value', () => {
  const cases: [string, string[]][] = [
    ['const t = Date.now();', ['Date.now']],
    ['const now = opts.now ?? Date.now;', ['Date.now']],
    ['const t = globalThis.Date.now();', ['Date.now']],
    ['const t = performance.now();', ['performance.now']],
    ['const t = process.hrtime.bigint();', ['process.hrtime']],
    ['const [s, ns] = process.hrtime();', ['process.hrtime']],
    ['const stamp = new Date().toISOString();', ['new Date()']],
    ['const stamp = new Date;', ['new Date()']],
    ['const text = Date();', ['Date()']],
    ["import { hrtime } from 'node:process';", ["import { hrtime } from 'node:process'"]],
    ["import { performance as perf } from 'perf_hooks';", ["import { performance } from 'perf_hooks'"]],
    ['const d = new Date(ms).toISOString();', []],
    ['const t = clock.now(); const w = clock.wallNow();', []],
    ['// Date.now() is not used here, nor performance.now()', []],
    ['/* new Date() */ const s = "Date.now()";', []],
    ['const x = { now: () => 1 }.now();', []],
    ['const t = setTimeout(() => undefined, 5);', ['setTimeout()']],
    ['globalThis.setInterval(tick, 1000); clearInterval(i);', ['setInterval()', 'clearInterval()']],
    ['clock.setTimeout(fn, 5); clock.clearTimeout(t); socket.setTimeout(5);', []],
    ['class S { setTimeout(ms: number): this { return this; } }', []],
  ];
  for (const [source, want] of cases) assert.deepEqual(rawTimeReads('a.ts', source).map((r) => r.what), want, source);
  const [r] = rawTimeReads('a.ts', 'let a = 1;\n\n  const t = Date.now() - a;\n');
  assert.deepEqual(r, { line: 3, what: 'Date.now', text: 'const t = Date.now() - a;' });
});

test('the allow-list only shrinks: new reads, fewer reads, none left and a vanished file all fail', () => {
  const reads = (n: number): RawTimeRead[] => Array.from({ length: n }, (_, i) => ({ line: i + 1, what: 'Date.now', text: 'Date.now()' }));
  const allowed = { 'sidecar/a.ts': 2 };
  assert.deepEqual(problems(new Map([['sidecar/a.ts', reads(2)], ['src/clock/clock.ts', reads(3)]]), allowed), []);
  assert.deepEqual(problems(new Map([['sidecar/a.ts', reads(2)], ['webhook/b.ts', reads(1)]]), allowed), [
    'webhook/b.ts:1: Date.now — take a Clock (src/clock/clock.ts) instead: Date.now()',
  ]);
  assert.match(problems(new Map([['sidecar/a.ts', reads(3)]]), allowed).join('\n'), /^sidecar\/a\.ts: 3 raw time reads, the allow-list has 2;[^\n]*\n  sidecar\/a\.ts:1: Date\.now[\s\S]*\n  sidecar\/a\.ts:3: Date\.now: Date\.now\(\)$/);
  assert.deepEqual(problems(new Map([['sidecar/a.ts', reads(1)]]), allowed), [
    'sidecar/a.ts: 1 raw time read(s) left, the allow-list says 2; lower its count to 1',
  ]);
  assert.deepEqual(problems(new Map([['sidecar/a.ts', reads(0)]]), allowed), ['sidecar/a.ts: no raw time reads any more; delete its entry from the allow-list']);
  assert.deepEqual(problems(new Map(), allowed), ['sidecar/a.ts: on the allow-list but not a production file any more; delete its entry']);
});
