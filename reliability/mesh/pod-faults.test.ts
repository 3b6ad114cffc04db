// Tests for the drop rule the network faults insert and delete (the same argv both ways).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropRule } from './pod-faults';

test('dropRule: every packet, or a random share through the statistic match', () => {
  assert.deepEqual(dropRule(8080, null), ['PREROUTING', '-i', 'eth0', '-p', 'tcp', '--dport', '8080', '-m', 'comment', '--comment', 'ferry-chaos', '-j', 'DROP']);
  assert.deepEqual(dropRule(8080, 0.3).slice(7, 13), ['-m', 'statistic', '--mode', 'random', '--probability', '0.3']);
  assert.deepEqual(dropRule(null, null), ['PREROUTING', '-i', 'eth0', '-m', 'comment', '--comment', 'ferry-chaos', '-j', 'DROP'], 'no port: every packet');
});

test('dropRule: a probability outside (0, 1) is refused', () => {
  for (const p of [0, 1, -0.1, 1.5, Number.NaN]) assert.throws(() => dropRule(8080, p), RangeError);
});
