// The error catalogue: one list of codes, each with what to do, shown whole in docs/errors.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, ERROR_CODES, FerryError, UnsupportedConfigError } from './errors';

/** The repository root (this file runs compiled from dist/src/). */
const ROOT = resolve(__dirname, '../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('docs/errors.md lists every code with its text, and nothing else', () => {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(FERRY_ERR_[A-Z0-9_]+)` \| (.*) \|$/gm)].map((m) => [m[1], m[2].replace(/\\\|/g, '|')]);
  assert.deepEqual(rows, Object.entries(ERROR_CODES));
});

test('every FERRY_ERR_ code named in the sources is in the catalogue', () => {
  const known = new Set(Object.keys(ERROR_CODES));
  const unknown: string[] = [];
  for (const dir of ['src', 'sidecar', 'webhook', 'certs', 'bench', 'test']) {
    for (const file of sources(join(ROOT, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/FERRY_ERR_[A-Z0-9_]*[A-Z0-9]/g)) {
        if (!known.has(m[0])) unknown.push(`${file.slice(ROOT.length + 1)}: ${m[0]}`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});

test('the classes carry their codes', () => {
  assert.equal(new ConfigError('a.b', 'bad').code, 'FERRY_ERR_CONFIG');
  assert.equal(new ConfigError('a.b', 'bad').message, 'a.b: bad');
  assert.equal(new UnsupportedConfigError('a.b', 'not supported').code, 'FERRY_ERR_UNSUPPORTED');
  const cause = new Error('inner');
  const e = new FerryError('FERRY_ERR_USAGE', 'flag --x: bad', { cause });
  assert.equal(e.cause, cause);
  assert.equal(e.name, 'FerryError');
});
