// The layer rules (.dependency-cruiser.cjs) hold for the repository, and they catch what they forbid:
// an upward import, a component importing another, a sidecar room importing one above it on the data path,
// production code importing a fixture, a cycle.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const CRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string, dirs: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [CRUISE, '--config', CONFIG, '--output-type', 'err', ...dirs], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A small tree laid out like the repository's, with the given files. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-layers-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('the repository keeps its layers: no upward import, no cycle, no fixture in production code', () => {
  const r = cruise(ROOT, ['src', 'sidecar', 'webhook', 'certs', 'bench', 'reliability', 'test']);
  assert.equal(r.code, 0, r.out);
});

const BROKEN: [string, Record<string, string>, RegExp][] = [
  ['the base imports a component', { 'src/config/a.ts': "import { b } from '../../sidecar/b';\nexport const a = b;\n", 'sidecar/b.ts': 'export const b = 1;\n' }, /base-imports-no-component: src\/config\/a\.ts → sidecar\/b\.ts/],
  ['a component imports another', { 'webhook/a.ts': "import { b } from '../sidecar/b';\nexport const a = b;\n", 'sidecar/b.ts': 'export const b = 1;\n' }, /webhook-imports-no-other-component: webhook\/a\.ts → sidecar\/b\.ts/],
  ['a component imports the composition root', { 'sidecar/a.ts': "import { b } from '../src/cli/b';\nexport const a = b;\n", 'src/cli/b.ts': 'export const b = 1;\n' }, /sidecar-imports-no-other-component: sidecar\/a\.ts → src\/cli\/b\.ts/],
  ['production code imports a fixture', { 'sidecar/a.ts': "import { b } from './b.fixture';\nexport const a = b;\n", 'sidecar/b.fixture.ts': 'export const b = 1;\n' }, /production-imports-no-test-code: sidecar\/a\.ts → sidecar\/b\.fixture\.ts/],
  ['the upstream leg importing the router above it', { 'sidecar/upstream/a.ts': "import { b } from '../router/b';\nexport const a = b;\n", 'sidecar/router/b.ts': 'export const b = 1;\n' }, /sidecar-upstream-imports-nothing-above-it: sidecar\/upstream\/a\.ts → sidecar\/router\/b\.ts/],
  ['the router importing the proxy wiring', { 'sidecar/router/a.ts': "import { b } from '../proxy';\nexport const a = b;\n", 'sidecar/proxy.ts': 'export const b = 1;\n' }, /sidecar-router-imports-nothing-above-it: sidecar\/router\/a\.ts → sidecar\/proxy\.ts/],
  ['a cycle', { 'src/mesh/a.ts': "import type { B } from './b';\nexport type A = B | 1;\n", 'src/mesh/b.ts': "import type { A } from './a';\nexport type B = A | 2;\n" }, /no-circular/],
];
for (const [name, files, message] of BROKEN) {
  test(`the rules refuse ${name}`, () => {
    const dir = tree(files);
    const r = cruise(dir, ['src', 'sidecar', 'webhook'].filter((d) => Object.keys(files).some((f) => f.startsWith(`${d}/`))));
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, message);
  });
}
