// Tests for applying the capture rules: backend choice with a fake runner, then real iptables in a namespace.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { type Runner, detectBackend, runInit } from './apply';
import { parseCaptureOptions } from '../../src/mesh/capture-options';
import { buildRules } from './iptables-rules';
import { createNetns, hasTool, inNetns, netnsSkipReason } from './netns.fixture';
import { ferryLines } from './restore-payload';

/** A fake runner: `tools` maps a save command to its output (missing = not installed). */
function fakeRunner(tools: Record<string, string>, calls: string[] = []): Runner {
  return async (cmd, args, input) => {
    calls.push(`${cmd} ${args.join(' ')}${input ? ` <<${input.split('\n').length} lines` : ''}`);
    if (cmd.endsWith('-restore')) return { code: 0, stdout: '', stderr: '' };
    if (!(cmd in tools)) return { code: -1, stdout: '', stderr: `spawn ${cmd} ENOENT` };
    return { code: 0, stdout: tools[cmd], stderr: '' };
  };
}

const EMPTY = '*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const WITH_RULES = '*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j KUBE-X\nCOMMIT\n';

const BACKENDS: [string, Record<string, string>, string][] = [
  ['both empty → nft', { 'iptables-nft-save': EMPTY, 'iptables-legacy-save': EMPTY }, 'nft'],
  ['only legacy holds rules → legacy', { 'iptables-nft-save': EMPTY, 'iptables-legacy-save': WITH_RULES }, 'legacy'],
  ['both hold rules → nft', { 'iptables-nft-save': WITH_RULES, 'iptables-legacy-save': WITH_RULES }, 'nft'],
  ['nft unavailable → legacy', { 'iptables-legacy-save': EMPTY }, 'legacy'],
  ['only the default tools → default', { 'iptables-save': EMPTY }, 'default'],
];
for (const [name, tools, want] of BACKENDS) {
  test(`detectBackend: ${name}`, async () => {
    assert.equal((await detectBackend('auto', fakeRunner(tools))).name, want);
  });
}

test('detectBackend: no iptables at all is an error naming what was tried', async () => {
  await assert.rejects(detectBackend('auto', fakeRunner({})), /no working iptables found \(tried iptables-nft-save/);
  await assert.rejects(detectBackend('nft', fakeRunner({ 'iptables-legacy-save': EMPTY })), /iptables nft backend unavailable/);
});

test('runInit: applies IPv4 and IPv6 with --noflush; IPv6 skipped when the kernel has none', async () => {
  const calls: string[] = [];
  const tools = { 'iptables-nft-save': EMPTY, 'ip6tables-nft-save': EMPTY, 'iptables-legacy-save': EMPTY };
  const capture = parseCaptureOptions({});
  const r = await runInit({ capture, runner: fakeRunner(tools, calls), ipv6Available: true });
  assert.equal(r.backend, 'nft');
  assert.equal(r.applied.ipv4, buildRules(capture).ipv4);
  assert.ok(calls.some((c) => c.startsWith('iptables-nft-restore --noflush <<')));
  assert.ok(calls.some((c) => c.startsWith('ip6tables-nft-restore --noflush <<')));
  calls.length = 0;
  const r6 = await runInit({ capture, runner: fakeRunner(tools, calls), ipv6Available: false });
  assert.equal(r6.applied.ipv6, null);
  assert.ok(!calls.some((c) => c.startsWith('ip6tables')));
});

test('runInit: dry run needs no iptables', async () => {
  const r = await runInit({ capture: parseCaptureOptions({}), dryRun: true, runner: fakeRunner({}) });
  assert.equal(r.backend, null);
  assert.match(r.applied.ipv4 ?? '', /^\*nat\n/);
});

/** Groups `-A` lines by chain, keeping order inside each chain (save prints chains in its own order). */
function byChain(lines: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines.filter((x) => x.startsWith('-A '))) (out[l.split(' ')[1]] ??= []).push(l);
  return out;
}

const COMMAND = path.resolve(__dirname, 'command.js');
const RUN = `require(${JSON.stringify(COMMAND)}).initCommand(process.argv.slice(1)).then((c) => process.exit(c))`;

for (const backend of ['nft', 'legacy'] as const) {
  test(`ferry init in a network namespace (${backend}): installs, is idempotent, cleans up`, (t) => {
    const skip = netnsSkipReason([`iptables-${backend}-restore`, `iptables-${backend}-save`]);
    if (skip) return t.skip(skip);
    if (!hasTool(`iptables-${backend}-save`)) return t.skip(`iptables-${backend} not installed`);
    const ns = createNetns(t);
    const flags = ['--iptables-mode', backend, '--exclude-inbound-ports', '8081', '--exclude-outbound-cidrs', '10.0.0.0/8,fd00::/8'];
    const expected = buildRules(
      parseCaptureOptions({ 'ferry.io/exclude-inbound-ports': '8081', 'ferry.io/exclude-outbound-cidrs': '10.0.0.0/8,fd00::/8' }),
    );
    const save = (family: 4 | 6) => inNetns(ns, `${family === 4 ? 'iptables' : 'ip6tables'}-${backend}-save`, ['-t', 'nat']);

    inNetns(ns, process.execPath, ['-e', RUN, '--', ...flags]);
    const first = save(4);
    assert.deepEqual(byChain(ferryLines(first)), byChain(expected.ipv4.split('\n')));
    assert.deepEqual(
      ferryLines(first).filter((l) => l.startsWith(':')),
      [':FERRY_INBOUND', ':FERRY_IN_REDIRECT', ':FERRY_OUTPUT', ':FERRY_REDIRECT'],
    );
    const first6 = save(6);
    assert.deepEqual(byChain(ferryLines(first6)), byChain(expected.ipv6.split('\n')));

    inNetns(ns, process.execPath, ['-e', RUN, '--', ...flags]);
    assert.deepEqual(ferryLines(save(4)), ferryLines(first), 'second run leaves the same rules');
    assert.deepEqual(ferryLines(save(6)), ferryLines(first6), 'second run leaves the same IPv6 rules');

    inNetns(ns, process.execPath, ['-e', RUN, '--', '--iptables-mode', backend, '--cleanup']);
    assert.deepEqual(ferryLines(save(4)), []);
    assert.deepEqual(ferryLines(save(6)), []);
    inNetns(ns, process.execPath, ['-e', RUN, '--', '--iptables-mode', backend, '--cleanup']); // nothing left: still fine
  });
}
