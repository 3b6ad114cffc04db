// Tests for the mesh flags of `ferry webhook` and `ferry inject`: defaults, the root file, and errors naming the flag.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { webhookCommand } from '../src/cli/mesh-commands';
import { UsageError } from '../src/flags/flags';
import { meshOptionsFromFlags } from './mesh-flags';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----';

test('defaults: ferry-system, cluster.local, the controller Service there, no root', () => {
  assert.deepEqual(meshOptionsFromFlags({}), {
    controllerAddress: 'ferry-controller.ferry-system.svc:15012',
    trustDomain: 'cluster.local',
    systemNamespace: 'ferry-system',
  });
});

test('--system-namespace moves the default controller address; --controller-address still wins', () => {
  assert.equal(meshOptionsFromFlags({ systemNamespace: 'mesh' }).controllerAddress, 'ferry-controller.mesh.svc:15012');
  assert.equal(meshOptionsFromFlags({ systemNamespace: 'mesh', controllerAddress: 'c:1' }).controllerAddress, 'c:1');
});

test('--ca-root-file is read once and normalised to one trailing newline', () => {
  const seen: string[] = [];
  const o = meshOptionsFromFlags({ caRootFile: '/x/root.pem' }, (f) => (seen.push(f), `\n${PEM}\n\n`));
  assert.deepEqual(seen, ['/x/root.pem']);
  assert.equal(o.caRootPem, `${PEM}\n`);
});

const REJECTED: [string, Parameters<typeof meshOptionsFromFlags>[0], ((f: string) => string) | undefined, RegExp][] = [
  ['unreadable root file', { caRootFile: '/nope/root.pem' }, (f) => { throw new Error(`ENOENT: no such file, open '${f}'`); }, /^flag --ca-root-file: cannot read \/nope\/root\.pem: ENOENT/],
  ['root file that is not PEM', { caRootFile: 'r.pem' }, () => 'hello', /^flag --ca-root-file: expected a PEM certificate .*\(r\.pem\)$/],
  ['root file over 64 KiB', { caRootFile: 'big.pem' }, () => PEM + 'A'.repeat(70_000), /^flag --ca-root-file: \d+ bytes is over the 65536-byte limit/],
  ['namespace with capitals', { systemNamespace: 'Mesh' }, undefined, /^flag --system-namespace: "Mesh" is not a namespace name/],
  ['empty namespace', { systemNamespace: '' }, undefined, /^flag --system-namespace: "" /],
  ['trust domain that cannot be in a SPIFFE ID', { trustDomain: 'a/b' }, undefined, /^flag --trust-domain: "a\/b"/],
];
for (const [name, values, read, message] of REJECTED) {
  test(`${name} is a usage error naming the flag`, () => {
    assert.throws(() => meshOptionsFromFlags(values, read), (e: unknown) => e instanceof UsageError && message.test(e.message));
  });
}

test('ferry webhook: a missing --ca-root-file fails before serving, naming the flag', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-webhook-flags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'root-cert.pem');
  await assert.rejects(
    webhookCommand(['--cert', 'c', '--key', 'k', '--listen', '127.0.0.1:0', '--ca-root-file', missing]),
    (e: unknown) => e instanceof UsageError && e.message.startsWith(`flag --ca-root-file: cannot read ${missing}`),
  );
  writeFileSync(path.join(dir, 'bad.pem'), 'not a certificate');
  await assert.rejects(
    webhookCommand(['--cert', 'c', '--key', 'k', '--ca-root-file', path.join(dir, 'bad.pem'), '--system-namespace', 'mesh']),
    /flag --ca-root-file: expected a PEM certificate/,
  );
});
