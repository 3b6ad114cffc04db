// Addresses and prefixes: parsing, containment on the data path, canonical text for capture rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cidr, parseCidrText, parseIp } from './cidr';

const CIDRS: [string, string | null][] = [
  ['10.1.2.3', '10.1.2.3/32'],
  ['10.1.2.3/8', '10.0.0.0/8'],
  ['192.168.1.129/25', '192.168.1.128/25'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['2001:DB8:0:0:0:0:0:1/128', '2001:db8::1/128'],
  ['2001:db8:0:1:0:0:0:0/64', '2001:db8:0:1::/64'],
  ['fe80::1/10', 'fe80::/10'],
  ['::/0', '::/0'],
  ['::ffff:10.0.0.1/128', '::ffff:10.0.0.1/128'],
  ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0/128'],
  ['1:2:3:4:5:6:7:8:9', null],
  ['010.0.0.1', null],
  ['10.0.0.1/', null],
  ['host.example', null],
];
for (const [input, want] of CIDRS) {
  test(`parseCidrTextText(${input})`, () => assert.equal(parseCidrText(input)?.text ?? null, want));
}

test('containment: IPv4-mapped peers match IPv4 ranges, not IPv6 ones', () => {
  const ten = Cidr.parse('10.0.0.0', 8)!;
  assert.equal(ten.contains(parseIp('10.1.2.3')!), true);
  assert.equal(ten.contains(parseIp('::ffff:10.1.2.3')!), true);
  assert.equal(ten.contains(parseIp('11.0.0.1')!), false);
  const v6 = Cidr.parse('2001:db8::', 32)!;
  assert.equal(v6.contains(parseIp('[2001:db8::1]')!), true);
  assert.equal(v6.contains(parseIp('fe80::1%eth0')!), false);
  assert.equal(v6.contains(parseIp('::ffff:10.1.2.3')!), false);
  assert.equal(Cidr.parse('::ffff:10.0.0.0', 104)!.contains(parseIp('10.2.3.4')!), true);
  assert.equal(Cidr.parse('10.0.0.0', 33), null);
  assert.equal(parseIp('010.0.0.1'), null);
});
