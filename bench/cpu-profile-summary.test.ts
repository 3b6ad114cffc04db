// Tests for the .cpuprofile summariser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSummary, shortFile, summarizeCpuProfile, type CpuProfile } from './cpu-profile-summary';

const frame = (functionName: string, url = '', lineNumber = 0): { functionName: string; url: string; lineNumber: number } => ({
  functionName,
  url,
  lineNumber,
});

// root → main → (onRequest → headers), (idle), (garbage collector)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
    { id: 2, callFrame: frame('main', 'file:///repo/dist/src/cli/main.js', 9), children: [3] },
    { id: 3, callFrame: frame('onRequest', 'file:///repo/dist/sidecar/http/connection-manager.js', 99), children: [4] },
    { id: 4, callFrame: frame('', 'node:_http_server', 4) },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(garbage collector)') },
  ],
  samples: [3, 4, 4, 5, 5, 5, 5, 6, 2, 3],
  timeDeltas: [100, 200, 200, 1000, 1000, 1000, 1000, 100, 100, 100],
};

test('self time per function, idle excluded from busy time', () => {
  const s = summarizeCpuProfile(profile);
  assert.equal(s.sampledMs, 4.8);
  assert.equal(s.busyMs, 0.8);
  assert.equal(s.gcMs, 0.1);
  const byName = new Map(s.functions.map((f) => [f.what, f]));
  assert.equal(byName.get('(anonymous) (node:_http_server:5)')?.selfMs, 0.4);
  assert.equal(byName.get('(anonymous) (node:_http_server:5)')?.selfPct, 50);
  const onRequest = byName.get('onRequest (sidecar/http/connection-manager.js:100)');
  assert.equal(onRequest?.selfMs, 0.2);
  // Inclusive: its own 0.2 ms plus the 0.4 ms of its callee.
  assert.equal(onRequest?.totalMs, 0.6);
  assert.equal(byName.get('main (src/cli/main.js:10)')?.totalMs, 0.7);
  assert.equal(s.functions[0]?.what, '(anonymous) (node:_http_server:5)');
});

test('self time per file', () => {
  const s = summarizeCpuProfile(profile);
  assert.deepEqual(
    s.files.map((f) => [f.file, f.selfMs]),
    [
      ['node:_http_server', 0.4],
      ['sidecar/http/connection-manager.js', 0.2],
      ['(native)', 0.1],
      ['src/cli/main.js', 0.1],
    ],
  );
});

test('limit and rendering', () => {
  const s = summarizeCpuProfile(profile, 1);
  assert.equal(s.functions.length, 1);
  assert.match(renderSummary(s), /^sampled 4\.8 ms, busy 0\.8 ms, GC 0\.1 ms\n/);
  assert.match(renderSummary(s), /  50\.0     50\.0  \(anonymous\) \(node:_http_server:5\)/);
});

test('file names', () => {
  assert.equal(shortFile('file:///a/b/dist/sidecar/x.js'), 'sidecar/x.js');
  assert.equal(shortFile('file:///a/node_modules/prom-client/lib/counter.js'), 'prom-client/lib/counter.js');
  assert.equal(shortFile('node:internal/streams/readable'), 'node:internal/streams/readable');
  assert.equal(shortFile(''), '(native)');
});
