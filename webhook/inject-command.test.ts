// Tests for `ferry inject` over the fixture workloads; results are validated against the Kubernetes schemas.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { injectCommand } from './inject-command';

const FIXTURE = path.resolve(__dirname, '..', '..', 'webhook', 'testdata', 'workloads.yaml');

async function run(argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await injectCommand(argv, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    readStdin: async () => stdin,
    env: {},
  });
  return { code, stdout, stderr };
}

type Obj = Record<string, any>;

function template(obj: Obj): Obj | undefined {
  if (obj.kind === 'Pod') return obj;
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template;
  return obj.spec?.template;
}

const names = (list: Obj[] | undefined) => (list ?? []).map((c) => c.name);

/** kind → schema model module (kubernetes-models is ESM-only). */
const MODELS: Record<string, string> = {
  Pod: 'kubernetes-models/v1/Pod',
  Service: 'kubernetes-models/v1/Service',
  Deployment: 'kubernetes-models/apps/v1/Deployment',
  StatefulSet: 'kubernetes-models/apps/v1/StatefulSet',
  DaemonSet: 'kubernetes-models/apps/v1/DaemonSet',
  Job: 'kubernetes-models/batch/v1/Job',
  CronJob: 'kubernetes-models/batch/v1/CronJob',
};

async function validate(obj: Obj): Promise<void> {
  if (obj.kind === 'List') {
    for (const item of obj.items) await validate(item);
    return;
  }
  const mod = (await import(MODELS[obj.kind])) as Record<string, new (d: unknown) => { validate(): void }>;
  new mod[obj.kind](obj).validate();
}

test('ferry inject -f FILE: every workload kind gets the sidecar; the rest passes through', async () => {
  const r = await run(['-f', FIXTURE, '--image', 'example.com/ferry:1']);
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout) as unknown as { toJS(): Obj }[];
  const objs = docs.map((d) => d.toJS());
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`), [
    'Pod/solo', 'Deployment/web', 'StatefulSet/db', 'DaemonSet/agent', 'DaemonSet/node-exporter',
    'Job/once', 'CronJob/nightly', 'Service/web', 'List/',
  ]);
  for (const obj of objs) {
    await validate(obj);
    const t = obj.kind === 'List' ? obj.items[0] : template(obj);
    if (!t) continue;
    const inits = names(t.spec.initContainers);
    if (obj.metadata?.name === 'node-exporter') {
      assert.deepEqual(inits, [], 'hostNetwork is never injected');
      continue;
    }
    assert.deepEqual(inits.slice(0, 2), ['ferry-init', 'ferry-proxy'], `${obj.kind}/${obj.metadata?.name}`);
    assert.equal(t.spec.initContainers[1].image, 'example.com/ferry:1');
    assert.ok(t.metadata.annotations['ferry.io/status']);
  }
  const [pod, deploy, sts, ds] = objs;
  assert.deepEqual(pod.spec.containers[0].readinessProbe.httpGet, { path: '/app-health/app/readiness', port: 15020, scheme: 'HTTP' });
  assert.deepEqual(names(deploy.spec.template.spec.initContainers), ['ferry-init', 'ferry-proxy', 'migrate']);
  assert.equal(deploy.spec.replicas, 2, 'the rest of the workload is untouched');
  assert.deepEqual(sts.spec.template.spec.initContainers[0].args, ['init', '--exclude-inbound-ports', '5432']);
  assert.equal(ds.spec.template.spec.containers[0].startupProbe.httpGet.path, '/app-health/agent/startup');
  assert.match(r.stderr, /DaemonSet\/node-exporter: not injected: hostNetwork/);
});

test('ferry inject -f - reads stdin; --kubernetes-version 1.28 puts the proxy among containers', async () => {
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: app, image: a}]\n';
  const r = await run(['-f', '-', '--kubernetes-version', '1.28'], pod);
  assert.equal(r.code, 0, r.stderr);
  const out = parseAllDocuments(r.stdout) as unknown as { toJS(): Obj }[];
  const injected = out[0].toJS();
  assert.deepEqual(names(injected.spec.containers), ['ferry-proxy', 'app']);
  assert.deepEqual(names(injected.spec.initContainers), ['ferry-init']);
  // Injecting the output again changes nothing.
  const again = await run(['-f', '-', '--kubernetes-version', '1.28'], r.stdout);
  assert.equal(again.stdout, r.stdout);
});

test('ferry inject --ca-root-file --system-namespace: the root and the controller identity reach the proxy', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-inject-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root-cert.pem');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
  writeFileSync(root, pem);
  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec:\n  containers: [{name: app, image: a}]\n';
  const r = await run(['-f', '-', '--ca-root-file', root, '--system-namespace', 'mesh', '--trust-domain', 'corp.example'], pod);
  assert.equal(r.code, 0, r.stderr);
  const injected = (parseAllDocuments(r.stdout) as unknown as { toJS(): Obj }[])[0].toJS();
  await validate(injected);
  assert.equal(injected.metadata.annotations['ferry.io/ca-root'], pem);
  const proxy = injected.spec.initContainers.find((c: Obj) => c.name === 'ferry-proxy');
  assert.deepEqual(proxy.args, ['proxy', '--controller-identity', 'spiffe://corp.example/ns/mesh/sa/ferry-controller']);
  const env = new Map(proxy.env.map((e: Obj) => [e.name, e.value]));
  assert.equal(env.get('FERRY_CONTROLLER_ADDRESS'), 'ferry-controller.mesh.svc:15012');
  assert.equal(env.get('FERRY_CA_ROOT_FILE'), '/var/run/secrets/ferry/ca/root-cert.pem');
  assert.ok(injected.spec.volumes.some((v: Obj) => v.name === 'ferry-ca-root' && v.downwardAPI));
  // A pod in the custom system namespace is the mesh's own: left alone.
  const own = await run(['-f', '-', '--system-namespace', 'mesh'], pod.replace('namespace: shop', 'namespace: mesh'));
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stderr, /Pod\/a: not injected: one of the mesh's own pods/);
  const missing = await run(['-f', '-', '--ca-root-file', path.join(dir, 'nope.pem')], pod);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^ferry inject: flag --ca-root-file: cannot read .*nope\.pem/);
});

test('errors name the file and document', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-inject-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const badAnnotation = path.join(dir, 'bad.yaml');
  writeFileSync(badAnnotation, 'kind: ConfigMap\n---\nkind: Pod\nmetadata: {name: p, annotations: {ferry.io/exclude-outbound-ports: "99999"}}\nspec: {containers: [{name: a}]}\n');
  const r = await run(['-f', badAnnotation]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.yaml: document 2 \(Pod\/p\): ferry\.io\/exclude-outbound-ports: "99999" is not a port/);
  const nullContainer = path.join(dir, 'null.yaml');
  writeFileSync(nullContainer, 'kind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [~]}}}\n');
  const n = await run(['-f', nullContainer]);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /null\.yaml: document 1 \(Deployment\/d\): pod\.spec\.containers\[0\]: expected an object, got null/);
  const syntax = path.join(dir, 'syntax.yaml');
  writeFileSync(syntax, 'kind: Pod\nmetadata: [unclosed\n');
  const s = await run(['-f', syntax]);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /syntax\.yaml: document 1: /);
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['-f', path.join(dir, 'missing.yaml')])).code, 2);
  assert.match((await run(['-f', '-', '--kubernetes-version', 'x'])).stderr, /--kubernetes-version: "x"/);
});
