// Tests for the tool version parsers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvoyVersion, parseFortioVersion, parseHaproxyVersion } from './versions';

const cases: Array<[string, (s: string) => string | null, string, string | null]> = [
  ['envoy', parseEnvoyVersion, 'envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL\n', '1.40.0'],
  ['envoy dev', parseEnvoyVersion, 'envoy  version: abc123/1.41.0-dev/Modified/DEBUG/BoringSSL', '1.41.0-dev'],
  ['envoy garbage', parseEnvoyVersion, 'command not found', null],
  ['haproxy', parseHaproxyVersion, 'HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\nStatus: ...', '2.6.12-1+deb12u4'],
  ['haproxy old spelling', parseHaproxyVersion, 'HA-Proxy version 1.8.19 2019/02/11', '1.8.19'],
  ['haproxy garbage', parseHaproxyVersion, '', null],
  ['fortio', parseFortioVersion, '1.68.2\n', '1.68.2'],
  ['fortio with v', parseFortioVersion, 'v1.60.3 2023-10-01 abcdef go1.21', '1.60.3'],
  ['fortio garbage', parseFortioVersion, 'usage: fortio', null],
];
for (const [name, parse, input, expected] of cases) {
  test(`version: ${name}`, () => assert.equal(parse(input), expected));
}
