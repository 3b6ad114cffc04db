// ferry check's verdict per sidecar: a table of certificate states at a fixed time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from '../../observability/prom-text';
import { judgeIdentity, sidecarIdentity, type SidecarIdentity } from './identity-check';

const NOW = 1_800_000_000_000;
const base: SidecarIdentity = { notAfter: NOW + 50_000, renewalDue: NOW + 20_000, failures: 0, serial: 'ab', root: 'AA:BB', trustedRoots: ['AA:BB'] };

test('judgeIdentity: error without or past its certificate, warning while renewals fail or are overdue, else ok', () => {
  const cases: [string, Partial<SidecarIdentity>, string, RegExp][] = [
    ['fresh', {}, 'ok', /^certificate expires in 50 s, renewal in 20 s$/],
    ['no certificate', { notAfter: null }, 'error', /^no workload certificate$/],
    ['expired', { notAfter: NOW - 3000, failures: 4 }, 'error', /^certificate expired 3 s ago \(4 renewal attempts failed\)$/],
    ['failing', { failures: 2, renewalDue: NOW + 1000 }, 'warn', /^rotation failing: 2 renewal attempts failed; certificate expires in 50 s$/],
    ['one failure', { failures: 1 }, 'warn', /^rotation failing: 1 renewal attempt failed/],
    ['late within the grace', { renewalDue: NOW - 9_000 }, 'ok', /renewal in 0 s/],
    ['overdue (a CA that hangs)', { renewalDue: NOW - 15_000 }, 'warn', /^renewal overdue by 15 s; certificate expires in 50 s$/],
    ['hours left', { notAfter: NOW + 20 * 3600_000, renewalDue: NOW + 8 * 3600_000 }, 'ok', /^certificate expires in 20\.0 h, renewal in 8\.0 h$/],
  ];
  for (const [name, over, level, message] of cases) {
    const v = judgeIdentity({ ...base, ...over }, NOW, 10_000);
    assert.equal(v.level, level, name);
    assert.match(v.message, message, name);
  }
});

test('sidecarIdentity reads the identity metrics of a scrape; a sidecar without them has no certificate', () => {
  const text = [
    'ferry_identity_cert_expiration_timestamp_seconds 1800000050',
    'ferry_identity_cert_renewal_timestamp_seconds 1800000020',
    'ferry_identity_renewal_failures 3',
    'ferry_identity_cert_info{serial="0a1b",root="AA:BB"} 1',
    'ferry_identity_trusted_root_info{root="AA:BB"} 1',
    'ferry_identity_trusted_root_info{root="CC:DD"} 1',
  ].join('\n');
  assert.deepEqual(sidecarIdentity(parsePrometheusText(text)), {
    notAfter: 1_800_000_050_000,
    renewalDue: 1_800_000_020_000,
    failures: 3,
    serial: '0a1b',
    root: 'AA:BB',
    trustedRoots: ['AA:BB', 'CC:DD'],
  });
  assert.deepEqual(sidecarIdentity(parsePrometheusText('ferry_identity_cert_expiration_timestamp_seconds 0\n')), {
    notAfter: null,
    renewalDue: null,
    failures: 0,
    serial: null,
    root: null,
    trustedRoots: [],
  });
});
