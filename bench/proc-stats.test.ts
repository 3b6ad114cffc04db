// Tests for the /proc parsers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuTicks, parseRssMb } from './proc-stats';

const stat = (comm: string): string =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 3 0 987654 123456789 2345 18446744073709551615\n`;

test('utime + stime from fields 14 and 15', () => {
  assert.equal(parseCpuTicks(stat('envoy')), 175);
});

test('a command name with spaces and parentheses does not shift the fields', () => {
  assert.equal(parseCpuTicks(stat('node (ferry) x')), 175);
});

test('garbage is rejected', () => {
  assert.throws(() => parseCpuTicks('nonsense'), /no "\)"/);
  assert.throws(() => parseCpuTicks('1 (x) S 1 2'), /not numbers/);
});

test('VmRSS in MiB', () => {
  const status = 'Name:\tenvoy\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 100 kB\n';
  assert.equal(parseRssMb(status), 50);
  assert.throws(() => parseRssMb('Name:\tx\n'), /no VmRSS/);
});
