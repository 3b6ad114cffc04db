// Integration test for the webhook: real HTTPS with a self-signed certificate made by openssl.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { type Operation, applyPatch } from 'fast-json-patch';
import { Logger } from '../src/observability/logger';
import { parseListen, startWebhook } from './server';
import type { InjectOptions } from './types';

const OPTIONS: InjectOptions = {
  image: 'example.com/ferry:0.1.0',
  controllerAddress: 'ferry-controller.ferry-system.svc:15012',
  trustDomain: 'cluster.local',
  kubernetesMinor: 30,
};

function makeCert(dir: string): { cert: string; key: string } | null {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=ferry-webhook', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: 'pipe' });
  if (r.error || r.status !== 0) return null;
  return { cert, key };
}

function call(port: number, ca: Buffer, method: string, urlPath: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: urlPath, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function reviewOf(request: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

const POD = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [{ name: 'app', image: 'a' }] } };
const podRequest = (extra: Record<string, unknown> = {}) => ({
  uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'shop', operation: 'CREATE', object: POD, ...extra,
});

test('parseListen', () => {
  assert.deepEqual(parseListen(':15017'), { host: undefined, port: 15017 });
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
  assert.throws(() => parseListen('15017'), /--listen: "15017" must be/);
});

test('webhook over HTTPS: injects pods, ignores the rest, rejects bad bodies, never falls over', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-webhook-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pem = makeCert(dir);
  if (!pem) return t.skip('openssl not available');
  const server = await startWebhook({ listen: '127.0.0.1:0', ...pem, injectOptions: OPTIONS, logger: new Logger('webhook', 'off') });
  t.after(() => server.close());
  const ca = readFileSync(pem.cert);
  const post = (body: string) => call(server.port, ca, 'POST', '/inject?timeout=10s', body);

  assert.deepEqual(await call(server.port, ca, 'GET', '/healthz'), { status: 200, text: 'ok\n' });

  // A pod CREATE gets a base64 JSON Patch that applies cleanly.
  const injected = await post(reviewOf(podRequest()));
  assert.equal(injected.status, 200);
  const out = JSON.parse(injected.text);
  assert.equal(out.apiVersion, 'admission.k8s.io/v1');
  assert.equal(out.kind, 'AdmissionReview');
  assert.equal(out.response.uid, 'u-1');
  assert.equal(out.response.allowed, true);
  assert.equal(out.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8')) as Operation[];
  const patched = applyPatch(structuredClone(POD), patch, true, false).newDocument as typeof POD & { spec: { initContainers: { name: string }[] } };
  assert.deepEqual(patched.spec.initContainers.map((c) => c.name), ['ferry-init', 'ferry-proxy']);

  // Not a pod, or not a CREATE: allowed, nothing to patch.
  for (const extra of [{ operation: 'DELETE', object: null, oldObject: POD }, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }, { subResource: 'status' }]) {
    const r = await post(reviewOf(podRequest(extra)));
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text).response, { uid: 'u-1', allowed: true });
  }

  // Opted-out pod: allowed without a patch.
  const optedOut = await post(reviewOf(podRequest({ object: { ...POD, metadata: { annotations: { 'ferry.io/inject': 'disabled' } } } })));
  assert.deepEqual(JSON.parse(optedOut.text).response, { uid: 'u-1', allowed: true });

  // A bad annotation denies the pod with a message that names it.
  const bad = await post(reviewOf(podRequest({ object: { ...POD, metadata: { annotations: { 'ferry.io/exclude-inbound-ports': 'x' } } } })));
  const denied = JSON.parse(bad.text).response;
  assert.equal(denied.allowed, false);
  assert.match(denied.status.message, /ferry\.io\/exclude-inbound-ports: "x" is not a port/);

  // Bodies that are not AdmissionReviews: 400 with a message saying what was wrong.
  const BAD_BODIES: [string, RegExp][] = [
    ['{not json', /^body is not JSON/],
    ['[]', /^body: expected an AdmissionReview object/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), /expected apiVersion admission\.k8s\.io\/v1 and kind AdmissionReview, got "admission\.k8s\.io\/v1beta1"/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /^request: missing/],
    [reviewOf({ operation: 'CREATE' }), /^request\.uid: missing/],
    [reviewOf(podRequest({ object: 'pod' })), /^request\.object: missing/],
  ];
  for (const [body, message] of BAD_BODIES) {
    const r = await post(body);
    assert.equal(r.status, 400, body);
    assert.match(r.text, message);
  }
  assert.equal((await call(server.port, ca, 'GET', '/inject')).status, 405);
  assert.equal((await call(server.port, ca, 'GET', '/nope')).status, 404);
  assert.equal((await post('x'.repeat(5 * 1024 * 1024)).catch(() => ({ status: 413 }))).status, 413);

  const metrics = await call(server.port, ca, 'GET', '/metrics');
  assert.match(metrics.text, /ferry_webhook_requests_total\{result="injected"\} 1\n/);
  assert.match(metrics.text, /ferry_webhook_requests_total\{result="ignored"\} 3\n/);
  assert.match(metrics.text, /ferry_webhook_requests_total\{result="bad_request"\} 7\n/);
  assert.match(metrics.text, /ferry_webhook_request_duration_seconds_count 12\n/);

  server.reloadCertificates();
  assert.equal((await call(server.port, ca, 'GET', '/healthz')).status, 200, 'still serving after everything above');
});
