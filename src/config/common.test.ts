// Tests for shared Envoy value types: durations, percents, addresses, matchers, header options.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrRange,
  dataSource,
  fractionalPercent,
  headerMatcher,
  headerValueOption,
  socketAddress,
  stringMatcher,
  toDurationMs,
} from './common';
import { Reader } from './reader';
import { assertConfigError } from './config.fixture';

describe('durations', () => {
  const ok: [unknown, number][] = [
    ['0.25s', 250],
    ['5s', 5000],
    ['0s', 0],
    ['1.000000001s', 1000.000001],
    [{ seconds: 3, nanos: 5_000_000 }, 3005],
    [{ seconds: '7' }, 7000],
    [{}, 0],
  ];
  for (const [v, ms] of ok) test(`${JSON.stringify(v)} → ${ms} ms`, () => assert.equal(toDurationMs(v, 'x'), ms));
  const bad: unknown[] = ['100ms', '5', 5, '-1s', '1.5', { seconds: -1 }, { seconds: 1, millis: 2 }, '1.0000000001s'];
  for (const v of bad) test(`rejects ${JSON.stringify(v)}`, () => assertConfigError(() => toDurationMs(v, 'c.connect_timeout'), 'c.connect_timeout'));
});

describe('fractional percent', () => {
  const cases: [unknown, number][] = [
    [{ numerator: 50 }, 0.5],
    [{ numerator: 25, denominator: 'HUNDRED' }, 0.25],
    [{ numerator: 5000, denominator: 'TEN_THOUSAND' }, 0.5],
    [{ numerator: 1, denominator: 'MILLION' }, 1e-6],
    [{ numerator: 200 }, 1],
  ];
  for (const [v, f] of cases) test(JSON.stringify(v), () => assert.equal(fractionalPercent(v, 'p'), f));
  test('bad denominator', () => assertConfigError(() => fractionalPercent({ numerator: 1, denominator: 'THOUSAND' }, 'p'), 'p.denominator', 'THOUSAND'));
});

describe('socket address and CIDR', () => {
  test('reads host and port', () => {
    assert.deepEqual(socketAddress({ socket_address: { address: '::1', port_value: 80 } }, 'a'), { host: '::1', port: 80 });
  });
  test('hostnames allowed unless an IP is required', () => {
    assert.equal(socketAddress({ socket_address: { address: 'db', port_value: 1 } }, 'a').host, 'db');
    assertConfigError(() => socketAddress({ socket_address: { address: 'db', port_value: 1 } }, 'a', { requireIp: true }), 'a.socket_address.address');
  });
  test('port out of range', () => assertConfigError(() => socketAddress({ socket_address: { address: '1.2.3.4', port_value: 70000 } }, 'a'), 'a.socket_address.port_value'));
  test('UDP rejected', () => assertConfigError(() => socketAddress({ socket_address: { address: '1.2.3.4', protocol: 'UDP' } }, 'a'), 'a.socket_address.protocol'));
  test('pipe rejected', () => assertConfigError(() => socketAddress({ pipe: { path: '/x' } }, 'a'), 'a.pipe'));
  test('CIDR prefix length bounded by family', () => {
    assert.deepEqual(cidrRange({ address_prefix: '10.0.0.0', prefix_len: 8 }, 'c'), { address: '10.0.0.0', prefixLen: 8 });
    assertConfigError(() => cidrRange({ address_prefix: '10.0.0.0', prefix_len: 33 }, 'c'), 'c.prefix_len');
    assert.equal(cidrRange({ address_prefix: 'fd00::', prefix_len: 64 }, 'c').prefixLen, 64);
  });
});

describe('matchers', () => {
  test('string matcher kinds', () => {
    assert.equal(stringMatcher({ exact: 'a' }, 's').kind, 'exact');
    assert.equal(stringMatcher({ suffix: 'a', ignore_case: true }, 's').ignoreCase, true);
    const re = stringMatcher({ safe_regex: { google_re2: {}, regex: 'a+b' } }, 's');
    assert.ok(re.regex!.test('aab'));
    assert.ok(!re.regex!.test('xaab'), 'anchored: full match only');
  });
  test('string matcher needs exactly one kind', () => {
    assertConfigError(() => stringMatcher({}, 's'), 's:');
    assertConfigError(() => stringMatcher({ exact: 'a', prefix: 'b' }, 's'), 's:');
  });
  test('bad regex names the path', () => assertConfigError(() => stringMatcher({ safe_regex: { regex: 'a(' } }, 's'), 's.safe_regex.regex', 'invalid regex'));
  test('header matcher forms', () => {
    assert.equal(headerMatcher({ name: 'X-A' }, 'h').kind, 'present');
    assert.equal(headerMatcher({ name: 'X-A' }, 'h').name, 'x-a');
    assert.equal(headerMatcher({ name: 'a', present_match: false }, 'h').presentMatch, false);
    assert.equal(headerMatcher({ name: 'a', exact_match: 'v', invert_match: true }, 'h').invertMatch, true);
    const r = headerMatcher({ name: 'a', range_match: { start: '-5', end: 10 } }, 'h');
    assert.deepEqual([r.kind, r.rangeStart, r.rangeEnd], ['range', -5, 10]);
    assert.equal(headerMatcher({ name: 'a', string_match: { contains: 'x' }, treat_missing_header_as_empty: true }, 'h').treatMissingAsEmpty, true);
  });
  test('header matcher rejects two specifiers and empty ranges', () => {
    assertConfigError(() => headerMatcher({ name: 'a', exact_match: 'x', prefix_match: 'y' }, 'h'), 'h:');
    assertConfigError(() => headerMatcher({ name: 'a', range_match: { start: 5, end: 5 } }, 'h'), 'h.range_match');
  });
});

describe('header value options', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ header: { key: 'X-A', value: 'v' } }, 'append'],
    [{ header: { key: 'x-a', value: 'v' }, append: false }, 'overwrite'],
    [{ header: { key: 'x-a', value: 'v' }, append_action: 'ADD_IF_ABSENT' }, 'add_if_absent'],
    [{ header: { key: 'x-a', value: 'v' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }, 'overwrite'],
  ];
  for (const [v, action] of cases) {
    test(`${JSON.stringify(v)} → ${action}`, () => {
      const h = headerValueOption(v, 'h');
      assert.equal(h.action, action);
      assert.equal(h.name, 'x-a');
    });
  }
  test('pseudo-headers and host may not be modified', () => {
    assertConfigError(() => headerValueOption({ header: { key: ':path', value: 'v' } }, 'h'), 'h.header.key', 'may not be modified');
    assertConfigError(() => headerValueOption({ header: { key: 'Host', value: 'v' } }, 'h'), 'h.header.key');
  });
  test('append and append_action together', () =>
    assertConfigError(() => headerValueOption({ header: { key: 'a', value: 'v' }, append: true, append_action: 'ADD_IF_ABSENT' }, 'h'), 'h:'));
});

describe('data source and reader', () => {
  test('inline forms', () => {
    assert.equal(dataSource({ inline_string: 'hi' }, 'd').toString(), 'hi');
    assert.equal(dataSource({ inline_bytes: Buffer.from('yo').toString('base64') }, 'd').toString(), 'yo');
  });
  test('missing file names the path', () => assertConfigError(() => dataSource({ filename: '/nonexistent/x.pem' }, 'd'), 'd.filename', 'cannot read'));
  test('environment_variable unsupported', () => assertConfigError(() => dataSource({ environment_variable: 'X' }, 'd'), 'd.environment_variable'));
  test('unknown keys rejected, oneof markers and nulls tolerated', () => {
    const r = new Reader({ a: 1, b: null, specifier: 'a' }, 'p');
    r.get('a');
    assert.doesNotThrow(() => r.done());
    const r2 = new Reader({ a: 1, c: 2 }, 'p');
    r2.get('a');
    assertConfigError(() => r2.done(), 'p.c: unknown field');
  });
  test('both spellings of one field are an error', () =>
    assertConfigError(() => new Reader({ lb_policy: 'A', lbPolicy: 'B' }, 'c').get('lb_policy'), 'c.lb_policy', 'twice'));
});
