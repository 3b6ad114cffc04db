// Golden-file tests for the capture rules; UPDATE_GOLDEN=1 rewrites the files after a deliberate change.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors';
import { parseCaptureOptions, type RawCaptureOptions, type CaptureTuning } from '../../src/mesh/capture-options';
import { buildRules } from './iptables-rules';

// Sources sit next to the compiled test: dist/sidecar/init → sidecar/init/testdata.
const TESTDATA = path.resolve(__dirname, '..', '..', '..', 'sidecar', 'init', 'testdata');

const GOLDEN: { name: string; raw: RawCaptureOptions; tuning?: CaptureTuning }[] = [
  { name: 'default', raw: {} },
  {
    name: 'exclusions',
    raw: {
      'ferry.io/exclude-inbound-ports': '8081, 9000,8081',
      'ferry.io/exclude-outbound-ports': '5432,3306',
      'ferry.io/exclude-outbound-cidrs': '169.254.169.254/32,10.1.2.3/8,fd00:0:0::/8',
    },
  },
  {
    name: 'include-lists',
    raw: {
      'ferry.io/include-inbound-ports': '8080,15020,9090',
      'ferry.io/include-outbound-cidrs': '10.96.0.0/12,2001:db8::/48',
    },
  },
  {
    name: 'no-capture',
    raw: { 'ferry.io/include-inbound-ports': '', 'ferry.io/include-outbound-cidrs': '' },
    tuning: { proxyGid: null },
  },
  { name: 'custom-ids', raw: {}, tuning: { proxyUid: 2000, proxyGid: 3000, inboundPort: 16006, outboundPort: 16001 } },
];

for (const g of GOLDEN) {
  test(`golden: ${g.name}`, () => {
    const rules = buildRules(parseCaptureOptions(g.raw, g.tuning));
    const actual = `# IPv4\n${rules.ipv4}# IPv6\n${rules.ipv6}`;
    const file = path.join(TESTDATA, `${g.name}.golden`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
    assert.equal(actual, readFileSync(file, 'utf8'), `${file} differs; rerun with UPDATE_GOLDEN=1 if intended`);
  });
}

test('outbound: include list only redirects the listed CIDRs of each family', () => {
  const r = buildRules(parseCaptureOptions({ 'ferry.io/include-outbound-cidrs': '10.96.0.0/12' }));
  assert.ok(r.ipv4.includes('-A FERRY_OUTPUT -d 10.96.0.0/12 -j FERRY_REDIRECT'));
  assert.ok(!r.ipv4.includes('-A FERRY_OUTPUT -j FERRY_REDIRECT'));
  assert.ok(!/-j FERRY_REDIRECT/.test(r.ipv6.replace(/^:.*$/gm, '')), 'no IPv6 CIDR listed → no IPv6 outbound capture');
});

test('inbound: no hairpin into FERRY_INBOUND when inbound capture is off', () => {
  const r = buildRules(parseCaptureOptions({ 'ferry.io/include-inbound-ports': '' }));
  assert.ok(!r.ipv4.includes('-j FERRY_IN_REDIRECT\n-A FERRY_IN'));
  assert.ok(!r.ipv4.includes('--uid-owner 1337 -j FERRY_INBOUND'));
  assert.ok(r.ipv4.includes('-A FERRY_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006'));
});

test('outbound: the passthrough source rule comes before every capture rule', () => {
  const rules = buildRules(parseCaptureOptions({}));
  for (const text of [rules.ipv4, rules.ipv6]) {
    const out = text.split('\n').filter((l) => l.startsWith('-A FERRY_OUTPUT'));
    assert.match(out[0], /^-A FERRY_OUTPUT -s (127\.0\.0\.6\/32|::6\/128) -o lo -j RETURN$/);
    assert.equal(out.at(-1), '-A FERRY_OUTPUT -j FERRY_REDIRECT');
  }
});

const BAD: [RawCaptureOptions, string][] = [
  [{ 'ferry.io/exclude-inbound-ports': '8081,abc' }, 'ferry.io/exclude-inbound-ports: "abc" is not a port'],
  [{ 'ferry.io/exclude-outbound-ports': '70000' }, 'ferry.io/exclude-outbound-ports: "70000" is not a port'],
  [{ 'ferry.io/include-inbound-ports': '0' }, 'ferry.io/include-inbound-ports: "0" is not a port'],
  [{ 'ferry.io/exclude-outbound-cidrs': '10.0.0.0/33' }, 'ferry.io/exclude-outbound-cidrs: "10.0.0.0/33" is not a CIDR'],
  [{ 'ferry.io/exclude-outbound-cidrs': '10.0.0/8' }, 'ferry.io/exclude-outbound-cidrs: "10.0.0/8" is not a CIDR'],
  [{ 'ferry.io/include-outbound-cidrs': '10.0.0.0/8,*' }, 'ferry.io/include-outbound-cidrs: "*" must be the whole value'],
  [{ 'ferry.io/include-outbound-cidrs': 'fd00::1::/8' }, 'ferry.io/include-outbound-cidrs: "fd00::1::/8" is not a CIDR'],
];
for (const [raw, message] of BAD) {
  test(`rejects ${JSON.stringify(raw)}`, () => {
    assert.throws(
      () => parseCaptureOptions(raw),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith(message),
    );
  });
}

