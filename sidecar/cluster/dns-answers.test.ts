// Tests for dns_lookup_family: which resolved addresses a DNS cluster keeps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectDnsAnswers, type DnsAnswer } from './dns-answers';

const BOTH: DnsAnswer[] = [
  { address: '10.0.0.1', family: 4 },
  { address: 'fd00::1', family: 6 },
  { address: '10.0.0.2', family: 4 },
];
const V4: DnsAnswer[] = [{ address: '10.0.0.1', family: 4 }];
const V6: DnsAnswer[] = [{ address: 'fd00::1', family: 6 }];

test('each dns_lookup_family keeps what Envoy keeps', () => {
  const cases: [DnsAnswer[], Parameters<typeof selectDnsAnswers>[1], string[]][] = [
    [BOTH, 'AUTO', ['fd00::1']],
    [V4, 'AUTO', ['10.0.0.1']],
    [BOTH, 'V4_PREFERRED', ['10.0.0.1', '10.0.0.2']],
    [V6, 'V4_PREFERRED', ['fd00::1']],
    [BOTH, 'ALL', ['10.0.0.1', 'fd00::1', '10.0.0.2']],
    [BOTH, 'V4_ONLY', ['10.0.0.1', '10.0.0.2']],
    [BOTH, 'V6_ONLY', ['fd00::1']],
  ];
  for (const [answers, family, want] of cases) assert.deepEqual(selectDnsAnswers(answers, family, false), want, family);
});

test('LOGICAL_DNS keeps only the first address of the family chosen', () => {
  assert.deepEqual(selectDnsAnswers(BOTH, 'V4_PREFERRED', true), ['10.0.0.1']);
  assert.deepEqual(selectDnsAnswers(BOTH, 'AUTO', true), ['fd00::1']);
});
