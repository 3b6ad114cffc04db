// A local mesh with identities, as real processes on loopback (bind mode): `ferry certs`, the controller
// with its CA, bootstrap tokens, and two pod-mode `ferry proxy` sidecars (client and server service
// accounts). Shows: mTLS with the client's SPIFFE ID at the server, certificates rotating under load
// with no failed request, STRICT refusing plaintext, an AccessPolicy's allow rules giving 403 and
// back, PERMISSIVE serving plaintext, and the certificate expiry metric.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { TestContext } from 'node:test';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { FERRY, freePort, freeVip, httpGet, loadLoop, namedServer, registry, sleep, tempDir, waitFor, writeAtomic } from './mesh-processes';

const NS = 'shop';
const TD = 'cluster.local';
const CLIENT_ID = `spiffe://${TD}/ns/${NS}/sa/client`;
const SERVER_ID = `spiffe://${TD}/ns/${NS}/sa/web`;
const TTL_SECONDS = 6;

interface Proc {
  log(): string;
  stop(): Promise<void>;
}

/** `ferry ARGS…` in the background; stopped (SIGTERM, then SIGKILL) when the test ends. */
function ferry(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const proc = spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    process.kill(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
    }, 1000);
    await exited;
    clearTimeout(timer);
  };
  t.after(stop);
  return { log: () => out, stop };
}

/** `ferry ARGS…` to completion; its stdout. */
function ferrySync(args: string[]): string {
  const r = spawnSync(process.execPath, [FERRY, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function line(p: Proc, re: RegExp, what: string): Promise<RegExpMatchArray> {
  return waitFor(what, () => re.exec(p.log()), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}\n--- output ---\n${p.log().slice(-4000)}`);
  });
}

/** Sum of a metric over the series whose labels include `labels` (0 when there is none). */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return sumWhere(parsePrometheusText(text), name, labels);
}

async function metrics(adminPort: number): Promise<string> {
  const r = await httpGet('127.0.0.1', adminPort, '/stats/prometheus');
  assert.equal(r.status, 200);
  return r.body;
}

/** The serial of the certificate a TLS server at host:port presents (no client certificate is offered), checking its SPIFFE ID. */
function serialAt(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, ca, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
    s.once('secureConnect', () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      if (cert.subjectaltname !== `URI:${SERVER_ID}`) reject(new Error(`server certificate SAN ${cert.subjectaltname}`));
      else resolve(cert.serialNumber);
    });
    s.once('error', reject);
  });
}

function accessPolicy(spec: string): string {
  return `apiVersion: ferry.io/v1alpha1
kind: AccessPolicy
metadata: {name: web, namespace: ${NS}}
spec:
  targetRef: {kind: Service, name: web}
${spec}`;
}

test('mTLS local mesh: identities from the controller CA, rotation under load, STRICT, allow rules', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-e2e-mtls-');
  // The PKI and the token key, as an operator would make them.
  ferrySync(['certs', 'root', '--out', join(dir, 'root')]);
  ferrySync(['certs', 'intermediate', '--root', join(dir, 'root'), '--out', join(dir, 'ca')]);
  const rootFile = join(dir, 'ca', 'root-cert.pem');
  const rootPem = readFileSync(rootFile, 'utf8');
  const tokenKey = join(dir, 'token.key');
  writeFileSync(tokenKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const tokenFor = (sa: string): string => {
    const f = join(dir, `${sa}.token`);
    writeFileSync(f, ferrySync(['token', '--namespace', NS, '--service-account', sa, '--token-key', tokenKey]), { mode: 0o600 });
    return f;
  };

  // The registry: Service web → pod web-0 (service account web) at its own loopback address, STRICT.
  const app = await namedServer(t, 'web-0');
  const vip = await freeVip();
  const podIp = `127.0.${3 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 254)}`;
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  writeFileSync(join(reg, 'service.yaml'), registry.service('web', NS, vip.ip, vip.port));
  // The workload port is the app's port: the sidecar binds it at the pod address, the app holds it at 127.0.0.1.
  await freePort(podIp).catch(() => assert.fail(`cannot bind ${podIp}`));
  writeFileSync(
    join(reg, 'endpoints.yaml'),
    `${registry.endpointSlice('web', NS, 'http', app.port, [podIp])}  targetRef: {kind: Pod, name: web-0, namespace: ${NS}}\n`,
  );
  writeFileSync(
    join(reg, 'pod.yaml'),
    `apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: ${NS}}\nspec: {serviceAccountName: web}\nstatus: {podIP: "${podIp}"}\n`,
  );
  // Each policy version goes to a new file (and the old one is removed): Node 20's recursive fs.watch
  // stops reporting a file once it has been replaced by a rename.
  let policyVersion = 0;
  const setPolicy = (spec: string): void => {
    const prev = join(reg, `policy-${policyVersion}.yaml`);
    writeAtomic(join(reg, `policy-${++policyVersion}.yaml`), accessPolicy(spec));
    if (policyVersion > 1) unlinkSync(prev);
  };
  setPolicy('  mtls: {mode: STRICT}\n');

  const controller = ferry(t, [
    'controller',
    '--registry', `file:${reg}`,
    '--ca-dir', join(dir, 'ca'),
    '--token-key', tokenKey,
    '--workload-ttl-seconds', String(TTL_SECONDS),
    '--mtls-mode', 'STRICT',
    '--outbound-mode', 'bind',
    '--xds-address', '127.0.0.1:0',
    '--admin-address', '127.0.0.1:0',
    '--log-level', 'warn',
  ]);
  const [, xds, controllerAdmin] = await line(controller, /xDS on (\d+), admin on (\d+)/, 'the controller to start');

  const sidecar = async (pod: string, sa: string, ip: string, labels: string): Promise<{ proc: Proc; admin: number }> => {
    const proc = ferry(t, ['proxy', '--admin-port', '0', '--health-port', '0', '--health-host', '127.0.0.1', '--stats-address', 'off', '--drain-time-s', '1', '--log-level', 'warn'], {
      FERRY_POD_NAME: pod,
      FERRY_POD_NAMESPACE: NS,
      FERRY_SERVICE_ACCOUNT: sa,
      FERRY_POD_IP: ip,
      FERRY_CONTROLLER_ADDRESS: `127.0.0.1:${xds}`,
      FERRY_CA_ROOT_FILE: rootFile,
      FERRY_TOKEN_FILE: tokenFor(sa),
      FERRY_POD_LABELS: labels,
    });
    const m = await line(proc, /LIVE as \S+ \(admin [^:]+:(\d+)/, `sidecar ${pod} to go LIVE`);
    return { proc, admin: Number(m[1]) };
  };
  // One sidecar per machine owns the service VIPs (the client's); the server's serves only its pod address.
  const server = await sidecar('web-0', 'web', podIp, 'app=web,ferry.io/bind-outbound=false');
  const client = await sidecar('client-0', 'client', '127.0.0.1', 'app=client');
  const diag = (): string =>
    `\n--- controller ---\n${controller.log().slice(-3000)}\n--- client ---\n${client.proc.log().slice(-2000)}\n--- server ---\n${server.proc.log().slice(-2000)}`;

  try {
    // 1. The client app's request crosses both sidecars over mTLS; the server sees the client's identity.
    await waitFor('client → VIP → client sidecar → mTLS → server sidecar → app', async () => (await httpGet(vip.ip, vip.port)).body === 'web-0');
    const seen = await metrics(server.admin);
    assert.ok(
      metricValue(seen, 'ferry_requests_total', { source_principal: CLIENT_ID, connection_security_policy: 'mutual_tls', response_code: '200' }) >= 1,
      `server sidecar metrics:\n${seen.split('\n').filter((l) => l.startsWith('ferry_requests_total')).join('\n')}`,
    );

    // 2. Both sidecars export their certificate's expiry, a few seconds ahead.
    for (const s of [client, server]) {
      const exp = metricValue(await metrics(s.admin), 'ferry_identity_cert_expiration_timestamp_seconds');
      assert.ok(exp > Date.now() / 1000 && exp < Date.now() / 1000 + TTL_SECONDS + 5, `expiry ${exp}`);
    }

    // 3. STRICT: plaintext straight to the server sidecar's inbound port never reaches the app.
    const hits = app.hits();
    const plain = await httpGet(podIp, app.port, '/', false, 2000).catch((err: Error) => err);
    assert.ok(plain instanceof Error || plain.status !== 200, `plaintext got ${JSON.stringify(plain)}`);
    assert.equal(app.hits(), hits, 'the app saw no plaintext request');

    // 4. Rotation under load: both certificates are replaced (short TTL) and no request fails.
    const serial0 = await serialAt(podIp, app.port, rootPem);
    const clientExp0 = metricValue(await metrics(client.admin), 'ferry_identity_cert_expiration_timestamp_seconds');
    const load = loadLoop(vip.ip, vip.port, 4, 10);
    t.after(() => load.stop());
    await waitFor('the server sidecar presents a new certificate', async () => (await serialAt(podIp, app.port, rootPem)) !== serial0, TTL_SECONDS * 3000, 200);
    await waitFor(
      'the client sidecar renews its certificate',
      async () => metricValue(await metrics(client.admin), 'ferry_identity_cert_expiration_timestamp_seconds') > clientExp0,
      TTL_SECONDS * 3000,
      200,
    );
    await sleep(1000);
    await load.stop();
    assert.deepEqual(load.failures, [], `failed requests across rotation${diag()}`);
    assert.ok(load.count('web-0') > 50, `${load.count('web-0')} requests served across rotation`);
    const rotated = await metrics(server.admin);
    assert.ok(metricValue(rotated, 'ferry_requests_total', { source_principal: CLIENT_ID, connection_security_policy: 'mutual_tls', response_code: '200' }) > 50);

    // 5. An AccessPolicy that does not allow the client: 403, counted; allowing it again: 200.
    setPolicy(`  mtls: {mode: STRICT}\n  allow:\n    identities: ["spiffe://${TD}/ns/${NS}/sa/someone-else"]\n`);
    const denied = await waitFor('the policy denies the client', async () => {
      const r = await httpGet(vip.ip, vip.port);
      return r.status === 403 ? r : null;
    });
    assert.equal(denied.body, 'RBAC: access denied');
    assert.ok(metricValue(await metrics(server.admin), 'ferry_authz_denied_total') >= 1);
    assert.ok(metricValue(await metrics(server.admin), 'ferry_requests_total', { response_code: '403', source_principal: CLIENT_ID }) >= 1);
    setPolicy(`  mtls: {mode: STRICT}\n  allow:\n    identities: ["${CLIENT_ID}"]\n    namespaces: [ops]\n`);
    await waitFor('the policy allows the client again', async () => (await httpGet(vip.ip, vip.port)).status === 200);

    // 6. PERMISSIVE (the policy says so, no allow rules): the same plaintext request now reaches the app.
    setPolicy('  mtls: {mode: PERMISSIVE}\n');
    await waitFor('plaintext is served in PERMISSIVE mode', async () => (await httpGet(podIp, app.port, '/', false, 2000)).body === 'web-0');
    assert.equal((await httpGet(vip.ip, vip.port)).body, 'web-0', 'mTLS still works next to plaintext');
    const last = await metrics(server.admin);
    assert.ok(metricValue(last, 'ferry_requests_total', { connection_security_policy: 'none', response_code: '200' }) >= 1);
  } catch (err) {
    const reg = await httpGet('127.0.0.1', Number(controllerAdmin), '/debug/registry').catch(() => null);
    const sync = await httpGet('127.0.0.1', Number(controllerAdmin), '/debug/syncz').catch(() => null);
    (err as Error).message += `${diag()}\n--- registry ---\n${reg?.body}\n--- syncz ---\n${sync?.body}`;
    throw err;
  }
});
