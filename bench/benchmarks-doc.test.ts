// Tests for splicing the latest results into BENCHMARKS.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEGIN_MARK, demoteHeadings, END_MARK, spliceLatest } from './benchmarks-doc';

test('replaces only what lies between the markers, and is idempotent', () => {
  const doc = `# Title\nintro\n${BEGIN_MARK}\nold table\n${END_MARK}\nnotes\n`;
  const once = spliceLatest(doc, '| new |\n')!;
  assert.equal(once, `# Title\nintro\n${BEGIN_MARK}\n| new |\n${END_MARK}\nnotes\n`);
  assert.equal(spliceLatest(once, '| new |'), once);
});

test('missing or reversed markers leave the caller to skip the update', () => {
  assert.equal(spliceLatest('# no markers', 'x'), null);
  assert.equal(spliceLatest(`${END_MARK}\n${BEGIN_MARK}`, 'x'), null);
});

test('headings are demoted, other lines untouched', () => {
  assert.equal(demoteHeadings('# A\n## B\ntext # not a heading\n###### F', 2), '### A\n#### B\ntext # not a heading\n###### F');
});
