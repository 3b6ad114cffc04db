// Tests for request normalization: normalize_path, merge_slashes and strip_*_host_port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestPath, stripHostPort } from './request-normalize';

const NORMALIZE = { normalizePath: true, mergeSlashes: false };
const MERGE = { normalizePath: false, mergeSlashes: true };
const BOTH = { normalizePath: true, mergeSlashes: true };
const NONE = { normalizePath: false, mergeSlashes: false };

test('normalize_path: dot segments are removed and escapes made canonical (RFC 3986 §5.2.4, §6.2.2)', () => {
  const cases: [string, string][] = [
    ['/a/./b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/%2e%2E/b', '/b'],
    ['/%7euser/%41%62', '/~user/Ab'],
    ['/x%2fy%3a', '/x%2Fy%3A'],
    ['/100%', '/100%'],
    ['/%zz/..', '/'],
    ['/a//b', '/a//b'],
    ['/a/..?x=/../y', '/?x=/../y'],
    ['*', '*'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeRequestPath(input, NORMALIZE), want, input);
});

test('merge_slashes: runs of slashes in the path become one; the query is untouched', () => {
  const cases: [string, string][] = [
    ['//a///b/', '/a/b/'],
    ['/a/./b', '/a/./b'],
    ['/a//b?next=//c', '/a/b?next=//c'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeRequestPath(input, MERGE), want, input);
  assert.equal(normalizeRequestPath('//a/.//../b', BOTH), '/a/b', 'normalized first, then merged (as Envoy)');
});

test('neither option: the target is left exactly as received', () => {
  for (const t of ['/a/../b', '//x', '/%7e']) assert.equal(normalizeRequestPath(t, NONE), t);
});

test('strip_any_host_port and strip_matching_host_port', () => {
  const cases: [string, 'none' | 'any' | 'matching', number, string][] = [
    ['example.com:8080', 'any', 80, 'example.com'],
    ['example.com:8080', 'matching', 8080, 'example.com'],
    ['example.com:8080', 'matching', 80, 'example.com:8080'],
    ['example.com:8080', 'none', 8080, 'example.com:8080'],
    ['[::1]:443', 'any', 0, '[::1]'],
    ['[::1]:443', 'matching', 443, '[::1]'],
    ['[::1]', 'any', 0, '[::1]'],
    ['example.com', 'any', 0, 'example.com'],
  ];
  for (const [authority, mode, port, want] of cases) assert.equal(stripHostPort(authority, mode, port), want, `${authority} ${mode} ${port}`);
});
