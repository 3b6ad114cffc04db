// Tests for the RE2 → JavaScript regex translation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fullMatchRegex, globalRegex, re2Substitution } from './re2';
import { assertConfigError } from './config.fixture';

describe('re2 translation', () => {
  const matches: [string, string, boolean][] = [
    ['/api/v[0-9]+', '/api/v12', true],
    ['/api/v[0-9]+', '/api/v12/x', false],
    ['a|b', 'b', true],
    ['a|b', 'ab', false],
    ['(?P<id>[0-9]+)', '42', true],
    ['(?i)abc', 'ABC', true],
    ['[[:digit:]]+', '123', true],
    ['[[:alpha:]_]+', 'ab_c', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Afoo\\z', 'foo', true],
    ['[]a]+', ']a', true],
  ];
  for (const [re, input, want] of matches) {
    test(`${re} ${want ? 'matches' : 'does not match'} ${input}`, () => assert.equal(fullMatchRegex(re, 'r').test(input), want));
  }
  const rejected: [string, string][] = [
    ['a(?=b)', 'lookaround'],
    ['a(?!b)', 'lookaround'],
    ['(?<=a)b', 'lookaround'],
    ['(a)\\1', 'backreference'],
    ['\\pL', 'Unicode'],
    ['a(?i)b', 'inline flags'],
    ['a(', 'invalid regex'],
    ['[a', 'missing ]'],
  ];
  for (const [re, why] of rejected) test(`rejects ${re}`, () => assertConfigError(() => fullMatchRegex(re, 'm.safe_regex.regex'), 'm.safe_regex.regex', why));

  test('regex rewrite replaces every match with RE2 group syntax', () => {
    const re = globalRegex('o', 'r');
    assert.equal('foo'.replace(re, re2Substitution('0', 's')), 'f00');
    const g = globalRegex('^/items/([0-9]+)$', 'r');
    assert.equal('/items/7'.replace(g, re2Substitution('/v2/\\1?$x', 's')), '/v2/7?$x');
    assert.equal('ab'.replace(globalRegex('a', 'r'), re2Substitution('[\\0]', 's')), '[a]b');
  });
  test('bad substitution escape', () => assertConfigError(() => re2Substitution('\\x', 's'), 's'));
});
