// Tests for the HTTP/1.x response parser: framing, headers, trailers, split reads and malformed input.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1ResponseParser, MAX_HEAD_BYTES, ResponseParseError, type ResponseSink } from './http1-response-parser';

interface Parsed {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  trailers: Record<string, string | string[]> | null;
  ended: boolean;
  keepAlive: boolean;
  leftover: number;
}

/** Feeds `input` in pieces of `split` bytes (0 = all at once). */
function parse(input: string, opts: { head?: boolean; split?: number; close?: boolean } = {}): Parsed {
  const out: Parsed = { status: 0, headers: {}, body: '', trailers: null, ended: false, keepAlive: false, leftover: 0 };
  const sink: ResponseSink = {
    onResponseHead: (s, h) => {
      out.status = s;
      out.headers = { ...h }; // plain objects for deepEqual (the parser's have no prototype)
    },
    onResponseBody: (c) => {
      out.body += c.toString('latin1');
    },
    onResponseEnd: (t) => {
      out.trailers = t && { ...t };
      out.ended = true;
    },
  };
  const p = new Http1ResponseParser();
  p.start(sink, opts.head ?? false);
  const buf = Buffer.from(input, 'latin1');
  const step = opts.split && opts.split > 0 ? opts.split : buf.length;
  for (let i = 0; i < buf.length; i += step) {
    const piece = buf.subarray(i, i + step);
    const used = p.execute(piece);
    if (used < piece.length) {
      out.leftover = buf.length - (i + used);
      break;
    }
  }
  if (opts.close) p.finish();
  out.keepAlive = p.keepAlive;
  return out;
}

const ok = 'HTTP/1.1 200 OK\r\n';

describe('framing', () => {
  const cases: { name: string; input: string; head?: boolean; close?: boolean; body: string; keepAlive: boolean; ended: boolean; leftover?: number }[] = [
    { name: 'content-length', input: `${ok}content-length: 5\r\n\r\nhello`, body: 'hello', keepAlive: true, ended: true },
    { name: 'content-length 0', input: `${ok}content-length: 0\r\n\r\n`, body: '', keepAlive: true, ended: true },
    { name: 'bytes after the response are left over', input: `${ok}content-length: 2\r\n\r\nhiHTTP/1.1`, body: 'hi', keepAlive: true, ended: true, leftover: 8 },
    { name: 'chunked', input: `${ok}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n`, body: 'hello!', keepAlive: true, ended: true },
    { name: 'HEAD has no body', input: `${ok}content-length: 5\r\n\r\n`, head: true, body: '', keepAlive: true, ended: true },
    { name: '204 has no body', input: 'HTTP/1.1 204 No Content\r\n\r\n', body: '', keepAlive: true, ended: true },
    { name: '304 has no body', input: 'HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n', body: '', keepAlive: true, ended: true },
    { name: 'no length: read until close', input: `${ok}\r\nall of it`, close: true, body: 'all of it', keepAlive: false, ended: true },
    { name: 'connection: close', input: `${ok}Connection: Close\r\ncontent-length: 1\r\n\r\nx`, body: 'x', keepAlive: false, ended: true },
    { name: 'HTTP/1.0 without keep-alive', input: 'HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nx', body: 'x', keepAlive: false, ended: true },
    { name: 'HTTP/1.0 with keep-alive', input: 'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 1\r\n\r\nx', body: 'x', keepAlive: true, ended: true },
    { name: '100 Continue is skipped', input: `HTTP/1.1 100 Continue\r\n\r\n${ok}content-length: 2\r\n\r\nok`, body: 'ok', keepAlive: true, ended: true },
    { name: 'incomplete body', input: `${ok}content-length: 5\r\n\r\nhel`, body: 'hel', keepAlive: true, ended: false },
  ];
  for (const c of cases) {
    for (const split of [0, 1, 3]) {
      test(`${c.name} (split ${split})`, () => {
        const r = parse(c.input, { head: c.head, split, close: c.close });
        assert.equal(r.status >= 200, true);
        assert.equal(r.body, c.body);
        assert.equal(r.ended, c.ended);
        if (c.ended) assert.equal(r.keepAlive, c.keepAlive);
        assert.equal(r.leftover, c.leftover ?? 0);
      });
    }
  }
});

describe('headers and trailers', () => {
  test('names lower-cased, values trimmed, duplicates joined, set-cookie kept apart', () => {
    const r = parse(`${ok}Content-Type:  text/plain \r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nEmpty:\r\ncontent-length: 0\r\n\r\n`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers, { 'content-type': 'text/plain', 'x-a': '1, 2', 'set-cookie': ['a=1', 'b=2'], empty: '', 'content-length': '0' });
  });

  test('an empty repeated line adds no list element (no value with a trailing space)', () => {
    const r = parse('HTTP/1.1 200 OK\r\netag:\r\netag: "x"\r\nx-b: 1\r\nx-b:\r\nx-b: 2\r\ncontent-length: 0\r\n\r\n');
    assert.equal(r.headers.etag, '"x"');
    assert.equal(r.headers['x-b'], '1, 2');
  });
  test('header names that are Object.prototype members are headers like any other', () => {
    const r = parse('HTTP/1.1 200 OK\r\nconstructor: a\r\n__proto__: b\r\ntoString: c\r\ncontent-length: 0\r\n\r\n');
    assert.deepEqual(Object.entries(r.headers), [['constructor', 'a'], ['__proto__', 'b'], ['tostring', 'c'], ['content-length', '0']]);
  });
  test('status without a reason phrase', () => {
    assert.equal(parse('HTTP/1.1 503\r\ncontent-length: 0\r\n\r\n').status, 503);
  });

  for (const split of [0, 1, 2, 7]) {
    test(`chunked trailers (split ${split})`, () => {
      const r = parse(`${ok}transfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\ngrpc-status: 0\r\nGrpc-Message: ok\r\n\r\n`, { split });
      assert.equal(r.body, 'hi');
      assert.equal(r.ended, true);
      assert.deepEqual(r.trailers, { 'grpc-status': '0', 'grpc-message': 'ok' });
    });
  }

  test('no trailers gives null', () => {
    assert.equal(parse(`${ok}transfer-encoding: chunked\r\n\r\n0\r\n\r\n`).trailers, null);
  });
});

describe('malformed responses are errors', () => {
  const bad: [string, string][] = [
    ['garbage', 'this is not http\r\n\r\n'],
    ['HTTP/2 status line', 'HTTP/2.0 200 OK\r\n\r\n'],
    ['short status', 'HTTP/1.1 20\r\n\r\n'],
    ['status not a number', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['header without colon', `${ok}nonsense\r\n\r\n`],
    ['space in header name', `${ok}bad name: x\r\n\r\n`],
    ['control character in value', `${ok}x: a\x01b\r\n\r\n`],
    ['obs-fold', `${ok}x: a\r\n  b\r\n\r\n`],
    ['content-length and transfer-encoding', `${ok}content-length: 1\r\ntransfer-encoding: chunked\r\n\r\n`],
    ['bad content-length', `${ok}content-length: 1x\r\n\r\n`],
    ['conflicting content-lengths', `${ok}content-length: 1\r\ncontent-length: 2\r\n\r\n`],
    ['bad chunk size', `${ok}transfer-encoding: chunked\r\n\r\nzz\r\n`],
    ['chunk without CRLF', `${ok}transfer-encoding: chunked\r\n\r\n1\r\nab\r\n`],
    ['101 on a plain request', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
  ];
  for (const [name, input] of bad) {
    test(name, () => assert.throws(() => parse(input), ResponseParseError));
  }

  test('identical repeated content-lengths are accepted', () => {
    assert.equal(parse(`${ok}content-length: 1\r\ncontent-length: 1\r\n\r\nx`).body, 'x');
  });

  test('a head larger than the limit', () => {
    const big = `${ok}x: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n`;
    assert.throws(() => parse(big, { split: 4096 }), /too large/);
    assert.throws(() => parse(`${big}\r\n`), /too large/);
  });

  test('the connection closing mid-body', () => {
    assert.throws(() => parse(`${ok}content-length: 5\r\n\r\nhel`, { close: true }), /mid-response/);
  });
});

test('detach drops the rest of a response', () => {
  const p = new Http1ResponseParser();
  let bodies = 0;
  p.start({ onResponseHead: () => undefined, onResponseBody: () => bodies++, onResponseEnd: () => undefined }, false);
  p.execute(Buffer.from(`${ok}content-length: 4\r\n\r\nab`));
  p.detach();
  assert.equal(p.busy, false);
  assert.equal(p.keepAlive, false);
  assert.equal(bodies, 1);
});
