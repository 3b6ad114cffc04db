// Tests for access-log formats: Envoy's default line, operators, header fallbacks, JSON typing, errors naming the path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors';
import { compileJsonFormat, compileTextFormat, DEFAULT_TEXT_FORMAT, type AccessLogRecord } from './access-log-format';

const headers = (h: Record<string, string>) => (n: string): string | undefined => h[n];

const request: AccessLogRecord = {
  startTimeMs: Date.UTC(2026, 11, 3, 6, 30, 5, 123),
  durationMs: 12.4,
  responseHeadersMs: 9.6,
  protocol: 'HTTP/1.1',
  responseCode: 503,
  responseFlags: 'UF,URX',
  responseCodeDetails: 'upstream_reset_before_response_started',
  bytesReceived: 1024,
  bytesSent: 91,
  requestHeader: headers({ ':method': 'POST', ':path': '/cart/add', ':authority': 'cart.shop', 'user-agent': 'curl/8', 'x-request-id': 'r-1', 'x-forwarded-for': '10.0.0.9' }),
  responseHeader: headers({ 'x-envoy-upstream-service-time': '7', 'content-type': 'text/plain' }),
  upstreamHost: '10.213.1.5:8080',
  upstreamCluster: 'outbound|80||cart.shop.svc.cluster.local',
  downstreamRemoteAddress: '10.213.1.2:40112',
  downstreamLocalAddress: '[fd00::1]:15001',
  routeName: 'cart',
};

test("Envoy's default text format gives Envoy's line, absent values as '-'", () => {
  const f = compileTextFormat(DEFAULT_TEXT_FORMAT, 'access_log[0]');
  assert.equal(
    f.format(request),
    '[2026-12-03T06:30:05.123Z] "POST /cart/add HTTP/1.1" 503 UF,URX 1024 91 12 7 "10.0.0.9" "curl/8" "r-1" "cart.shop" "10.213.1.5:8080"\n',
  );
  const tcp: AccessLogRecord = { startTimeMs: 0, durationMs: 5000, responseFlags: '', bytesReceived: 10, bytesSent: 20, upstreamHost: '127.0.0.1:6379' };
  assert.equal(f.format(tcp), '[1970-01-01T00:00:00.000Z] "- - -" 0 - 10 20 5000 - "-" "-" "-" "-" "127.0.0.1:6379"\n');
});

test('operators: header fallback with ?, truncation, addresses with and without port, %% and START_TIME formats', () => {
  const cases: [string, string][] = [
    ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/cart/add'],
    ['%REQ(USER-AGENT):4%', 'curl'],
    ['%RESP(CONTENT-TYPE)%', 'text/plain'],
    ['%TRAILER(GRPC-STATUS)%', '-'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%', '10.213.1.2 40112'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%', 'fd00::1 15001'],
    ['100%% %RESPONSE_CODE_DETAILS%', '100% upstream_reset_before_response_started'],
    ['%START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)%', '2026/12/03 06:30:05.123 1796279405'],
    ['%START_TIME(%6f)%', '123000'],
    ['%ROUTE_NAME% %UPSTREAM_CLUSTER:8%', 'cart outbound'],
    ['%RESPONSE_DURATION%ms', '10ms'],
  ];
  for (const [format, want] of cases) assert.equal(compileTextFormat(format, 'p').format(request), want, format);
});

test('JSON format: one object per line, numbers typed, absent values null (or omitted), nested objects, mixed strings', () => {
  const f = compileJsonFormat({
    start: '%START_TIME%', code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', sni: '%REQUESTED_SERVER_NAME%',
    line: '%REQ(:METHOD)% %REQ(:PATH)%', upstream: { host: '%UPSTREAM_HOST%', cluster: '%UPSTREAM_CLUSTER%' }, kind: 'http', v: 2,
  }, 'p');
  const line = f.format(request);
  assert.ok(line.endsWith('}\n'));
  assert.deepEqual(JSON.parse(line), {
    start: '2026-12-03T06:30:05.123Z', code: 503, flags: 'UF,URX', sni: null, line: 'POST /cart/add',
    upstream: { host: '10.213.1.5:8080', cluster: 'outbound|80||cart.shop.svc.cluster.local' }, kind: 'http', v: 2,
  });
  const omit = compileJsonFormat({ code: '%RESPONSE_CODE%', sni: '%REQUESTED_SERVER_NAME%' }, 'p', true);
  assert.deepEqual(JSON.parse(omit.format(request)), { code: 503 });
});

test('a bad format is refused naming the field and what was wrong', () => {
  const bad: [string, RegExp][] = [
    ['%NOT_AN_OPERATOR%', /access_log\[0\]\.log_format: command operator %NOT_AN_OPERATOR% is not supported/],
    ['%REQ%', /needs a header name/],
    ['%REQ(a?b?c)%', /one header name or two/],
    ['%START_TIME(%Q)%', /START_TIME specifier %Q is not supported/],
    ['[%START_TIME', /unterminated command operator/],
    ['%lower%', /is not a command operator/],
    ['%DURATION(x)%', /%DURATION\(x\)% is not supported/],
  ];
  for (const [format, want] of bad) {
    assert.throws(() => compileTextFormat(format, 'access_log[0].log_format'), (e: unknown) => e instanceof ConfigError && want.test(e.message), format);
  }
  assert.throws(() => compileJsonFormat({ a: ['x'] }, 'j'), /j\.a: expected a format string/);
  assert.throws(() => compileJsonFormat({ a: { b: '%NOPE%' } }, 'j'), /j\.a\.b: command operator %NOPE%/);
});
