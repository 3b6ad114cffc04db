// Tests for picking the telling line of a dead process's output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitReason } from './exit-reason';

const nodeCrash = `node:internal/modules/cjs/loader:1210
  throw err;
  ^

Error: Cannot find module './health-checker'
Require stack:
- /repo/dist/sidecar/cluster/upstream-cluster.js
    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)
}

Node.js v20.20.2
`;

const cases: Array<[string, string, string]> = [
  ['node stack trace', nodeCrash, "Error: Cannot find module './health-checker'"],
  ['haproxy alert after notices', '[NOTICE] version is 2.6\n[NOTICE] path is /usr/sbin/haproxy\n[ALERT] Cannot raise FD limit to 200014\n', '[ALERT] Cannot raise FD limit to 200014'],
  ['ferry cli message after a JSON log line', '{"level":"info","msg":"listener ready"}\nferry: listen EADDRINUSE: address already in use 127.0.0.1:15000\n', 'ferry: listen EADDRINUSE: address already in use 127.0.0.1:15000'],
  ['nothing telling: last line', 'starting\nstill starting\n', 'still starting'],
  ['empty', '', ''],
];
for (const [name, output, want] of cases) {
  test(`exit reason: ${name}`, () => assert.equal(exitReason(output), want));
}

test('long lines are cut', () => {
  assert.equal(exitReason(`Error: ${'x'.repeat(500)}`, 20).length, 20);
});
