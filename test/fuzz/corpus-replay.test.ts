// Replays every fuzz target's checked-in corpus (seeds and past crashers) through the target, as `make test` does.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

/** The source tree's test/fuzz (this file runs compiled from dist/test/fuzz). */
const SOURCE_DIR = resolve(__dirname, '../../../test/fuzz');
const CORPUS_DIR = join(SOURCE_DIR, 'corpus');

const targets = readdirSync(__dirname)
  .filter((f) => f.endsWith('.fuzz.js'))
  .map((f) => f.slice(0, -'.fuzz.js'.length))
  .sort();

test('every fuzz target has a source file and a corpus', () => {
  const expected = ['admission', 'bootstrap', 'csr', 'http1-request', 'http1-response', 'registry', 'sniff', 'tls-client-hello', 'xds-resource'];
  for (const t of expected) assert.ok(targets.includes(t), `the ${t} target is missing (built: ${targets.join(', ')})`);
  for (const t of targets) {
    assert.ok(existsSync(join(SOURCE_DIR, `${t}.fuzz.ts`)), `${t}: no test/fuzz/${t}.fuzz.ts (stale build?)`);
    const dir = join(CORPUS_DIR, t);
    assert.ok(existsSync(dir) && readdirSync(dir).length > 0, `${t}: no corpus in test/fuzz/corpus/${t}/`);
  }
});

for (const t of targets) {
  test(`fuzz corpus: ${t}`, async () => {
    const { fuzz } = (await import(join(__dirname, `${t}.fuzz.js`))) as { fuzz: (data: Buffer) => void | Promise<void> };
    const dir = join(CORPUS_DIR, t);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : [];
    for (const f of files) {
      const data = readFileSync(join(dir, f));
      try {
        await fuzz(data);
      } catch (err) {
        assert.fail(`test/fuzz/corpus/${t}/${f}: ${(err as Error).stack ?? String(err)}`);
      }
    }
  });
}
