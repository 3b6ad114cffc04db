// Tests for `ferry init` argument handling (dry run only: no iptables needed).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { initCommand, parseAnnotationsFile } from './command';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await initCommand(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}

test('--dry-run prints both families with the excluded port', async () => {
  const r = await run(['--dry-run', '--exclude-inbound-ports', '8081']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^# IPv4\n\*nat\n/);
  assert.match(r.stdout, /# IPv6\n\*nat\n/);
  assert.equal(r.stdout.match(/--dport 8081 -j RETURN/g)?.length, 2);
});

test('--ipv6 off leaves IPv6 out of the dry run', async () => {
  const r = await run(['--dry-run', '--ipv6', 'off']);
  assert.equal(r.code, 0);
  assert.ok(!r.stdout.includes('# IPv6'));
});

test('a bad value exits 2 and names the annotation', async () => {
  const r = await run(['--dry-run', '--exclude-outbound-cidrs', '10.0.0.0/40']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ferry\.io\/exclude-outbound-cidrs: "10\.0\.0\.0\/40" is not a CIDR/);
});

test('unknown flags and bad enums exit 2', async () => {
  assert.equal((await run(['--bogus'])).code, 2);
  const r = await run(['--dry-run', '--iptables-mode', 'ebpf']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--iptables-mode: "ebpf" must be one of auto, nft, legacy/);
});

test('precedence: flag over env over annotations file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'annotations');
  writeFileSync(file, 'ferry.io/exclude-inbound-ports="7001"\nferry.io/exclude-outbound-ports="7002"\nother="x\\"y"\n');
  const r = await run(['--dry-run', '--ipv6', 'off', '--annotations-file', file, '--exclude-outbound-ports', '7003'], {
    FERRY_EXCLUDE_INBOUND_PORTS: '7004',
  });
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes('--dport 7004 -j RETURN'), 'env beats file');
  assert.ok(!r.stdout.includes('--dport 7001 '));
  assert.ok(r.stdout.includes('--dport 7003 -j RETURN'), 'flag beats file');
  assert.ok(!r.stdout.includes('--dport 7002 '));
});

test('parseAnnotationsFile unquotes Go-quoted values', () => {
  assert.deepEqual(parseAnnotationsFile('a="1,2"\nb="say \\"hi\\"\\n"\nbroken\n'), { a: '1,2', b: 'say "hi"\n' });
});
