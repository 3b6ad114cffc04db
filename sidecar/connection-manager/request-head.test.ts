// Table tests for the request head check: versions, Host, targets, transfer codings, header limits.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequestHead, type HeadLimits, type RequestHead } from './request-head';

const LIMITS: HeadLimits = { maxHeadersCount: 100, maxHeadersBytes: 60 * 1024 };

function h1(target: string, headers: string[], version = '1.1', method = 'GET'): RequestHead {
  const [major, minor] = version.split('.').map(Number);
  return { method, url: target, httpVersionMajor: major, httpVersionMinor: minor, rawHeaders: headers };
}

const withHost = (...more: string[]): string[] => ['Host', 'a.test', ...more];
const many = (n: number): string[] => Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']).flat();

describe('checkRequestHead', () => {
  const accepted: [string, RequestHead, string | null, string | null][] = [
    ['origin-form', h1('/p?q=1', withHost()), null, null],
    ['empty Host', h1('/', ['Host', '']), null, null],
    ['IPv6 literal Host with port', h1('/', ['Host', '[::1]:8080']), null, null],
    ['Host with an empty port', h1('/', ['Host', 'a.test:']), null, null],
    ['HTTP/1.0 without Host', h1('/', [], '1.0'), null, null],
    ['OPTIONS *', h1('*', withHost(), '1.1', 'OPTIONS'), null, null],
    ['chunked', h1('/', withHost('Transfer-Encoding', 'chunked')), null, null],
    ['CHUNKED with spaces', h1('/', withHost('transfer-encoding', ' CHUNKED ')), null, null],
    ['100 header fields', h1('/', withHost(...many(99))), null, null],
    ['absolute-form', h1('http://b.test:81/x?y', withHost()), 'b.test:81', '/x?y'],
    ['absolute-form, upper-case scheme', h1('HTTPS://B.test/x', withHost()), 'B.test', '/x'],
    ['absolute-form without a path', h1('http://b.test', withHost()), 'b.test', '/'],
    ['absolute-form with only a query', h1('http://b.test?q', withHost()), 'b.test', '/?q'],
  ];
  for (const [name, head, authority, path] of accepted) {
    test(`accepts ${name}`, () => assert.deepEqual(checkRequestHead(head, false, LIMITS), { kind: 'accept', authority, path }));
  }

  const rejected: [string, RequestHead, number, string, RegExp][] = [
    ['HTTP/0.9', h1('/', [], '0.9'), 426, 'http_version', /HTTP\/0\.9/],
    ['HTTP/2.0 in HTTP/1 syntax', h1('/', withHost(), '2.0'), 426, 'http_version', /use HTTP\/1\.1/],
    ['HTTP/1.1 without Host', h1('/', []), 400, 'missing_host', /without a Host/],
    ['two Host fields', h1('/', ['Host', 'a.test', 'host', 'b.test']), 400, 'multiple_host', /2 Host/],
    ['Host with a space', h1('/', ['Host', 'a b']), 400, 'invalid_host', /"a b"/],
    ['Host with userinfo', h1('/', ['Host', 'u@a']), 400, 'invalid_host', /host\[:port\]/],
    ['Host with two ports', h1('/', ['Host', 'a:1:2']), 400, 'invalid_host', /host\[:port\]/],
    ['Host with a non-digit port', h1('/', ['Host', 'a:http']), 400, 'invalid_host', /host\[:port\]/],
    ['xchunked', h1('/', withHost('Transfer-Encoding', 'xchunked')), 400, 'invalid_transfer_encoding', /final coding/],
    ['chunked, identity', h1('/', withHost('Transfer-Encoding', 'chunked, identity')), 400, 'invalid_transfer_encoding', /final coding/],
    ['empty Transfer-Encoding', h1('/', withHost('Transfer-Encoding', '')), 400, 'invalid_transfer_encoding', /final coding/],
    ['gzip, chunked', h1('/', withHost('Transfer-Encoding', 'gzip, chunked')), 501, 'unsupported_transfer_encoding', /only chunked/],
    ['chunked on two lines', h1('/', withHost('Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked')), 501, 'unsupported_transfer_encoding', /only chunked/],
    ['Transfer-Encoding on HTTP/1.0', h1('/', ['Transfer-Encoding', 'chunked'], '1.0'), 400, 'invalid_transfer_encoding', /HTTP\/1\.0/],
    ['a fragment', h1('/p#f', withHost()), 400, 'invalid_target', /fragment/],
    ['a relative target', h1('p', withHost()), 400, 'invalid_target', /not origin-form/],
    ['* for GET', h1('*', withHost()), 400, 'invalid_target', /only for OPTIONS/],
    ['an ftp target', h1('ftp://b.test/x', withHost()), 400, 'invalid_target', /scheme ftp/],
    ['userinfo in the target', h1('http://u:p@b.test/x', withHost()), 400, 'invalid_target', /userinfo/],
    ['an empty authority', h1('http:///x', withHost()), 400, 'invalid_target', /no valid host/],
    ['a bad authority', h1('http://b test/x', withHost()), 400, 'invalid_target', /no valid host/],
    ['101 header fields', h1('/', withHost(...many(100))), 431, 'too_many_headers', /101 header fields, over the limit of 100/],
  ];
  for (const [name, head, status, code, message] of rejected) {
    test(`rejects ${name}`, () => {
      const v = checkRequestHead(head, false, LIMITS);
      assert.equal(v.kind, 'reject');
      if (v.kind !== 'reject') return;
      assert.deepEqual([v.status, v.code, v.reset], [status, code, false]);
      assert.match(v.message, message);
    });
  }

  test('HTTP/2: pseudo-headers count, and the stream is reset past the limits', () => {
    const pseudo = [':method', 'GET', ':scheme', 'http', ':authority', 'a.test', ':path', '/'];
    const h2 = (extra: string[]): RequestHead => ({ method: 'GET', url: '/', httpVersionMajor: 2, httpVersionMinor: 0, rawHeaders: [...pseudo, ...extra] });
    assert.equal(checkRequestHead(h2(many(96)), true, LIMITS).kind, 'accept');
    assert.deepEqual(pick(checkRequestHead(h2(many(97)), true, LIMITS)), [431, 'too_many_headers', true]);
    // 32 bytes per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts.
    const size = (v: number) => h2(['x-big', 'b'.repeat(v)]);
    const fixed = 5 * 32 + pseudo.join('').length + 'x-big'.length;
    assert.equal(checkRequestHead(size(LIMITS.maxHeadersBytes - fixed), true, LIMITS).kind, 'accept');
    assert.deepEqual(pick(checkRequestHead(size(LIMITS.maxHeadersBytes - fixed + 1), true, LIMITS)), [431, 'headers_too_large', true]);
    // HTTP/1-only rules do not apply to an HTTP/2 head (its :authority and :path are the codec's).
    assert.equal(checkRequestHead({ ...h2([]), url: '*' }, true, LIMITS).kind, 'accept');
  });

  test('a configured limit', () => {
    assert.equal(checkRequestHead(h1('/', withHost(...many(4))), false, { ...LIMITS, maxHeadersCount: 5 }).kind, 'accept');
    assert.deepEqual(pick(checkRequestHead(h1('/', withHost(...many(5))), false, { ...LIMITS, maxHeadersCount: 5 })), [431, 'too_many_headers', false]);
  });
});

function pick(v: ReturnType<typeof checkRequestHead>): unknown[] {
  return v.kind === 'reject' ? [v.status, v.code, v.reset] : [v.kind];
}
