// Tests for the Helm chart: helm lint, helm template over value combinations, Kubernetes schemas, and the real ferry flag parsers.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { createRootCa } from '../../certs/root-ca';
import { parseHostPort } from '../../src/flags/flags';
import { CONTROLLER_SERVICE_NAME, LABEL_COMPONENT, LABEL_INJECT, PORT_CONTROLLER_GRPC, PORT_WEBHOOK } from '../../src/mesh/constants';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CHART = path.join(ROOT, 'charts', 'ferry');
const FERRY = path.join(ROOT, 'bin', 'ferry');
const NS = 'ferry-system';

type Obj = Record<string, any>;

/** helm on PATH, else where `go install` puts it ($(go env GOPATH)/bin), else null. */
function findHelm(): string | null {
  const candidates = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'helm'));
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (gopath) candidates.push(path.join(gopath.split(path.delimiter)[0], 'bin', 'helm'));
  } catch {
    // no Go toolchain: only the default GOPATH is left to look at
  }
  candidates.push(path.join(homedir(), 'go', 'bin', 'helm'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // keep looking
    }
  }
  return null;
}

const HELM = findHelm();
const SKIP = HELM ? false : 'helm is not installed (run `bash scripts/setup-tools.sh chart`)';
if (SKIP && process.env.CI) throw new Error(`chart tests: ${SKIP}; CI must install it`);
if (SKIP) console.log(`chart tests skipped: ${SKIP}`);

function helm(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM!, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: tmpdir(), KUBECONFIG: '/dev/null' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` with --set/--set-file/… args; returns the rendered objects (CRDs included). */
function render(args: string[] = [], chart = CHART, namespace = NS): Obj[] {
  const r = helm(['template', 'ferry', chart, '--namespace', namespace, '--include-crds', ...args]);
  assert.equal(r.code, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function renderFails(args: string[]): string {
  const r = helm(['template', 'ferry', CHART, '--namespace', NS, ...args]);
  assert.notEqual(r.code, 0, `helm template ${args.join(' ')} should have failed`);
  return r.stderr;
}

/** kind → kubernetes-models module (ESM-only, hence dynamic import). */
const MODELS: Record<string, string> = {
  ServiceAccount: 'kubernetes-models/v1/ServiceAccount',
  Service: 'kubernetes-models/v1/Service',
  ConfigMap: 'kubernetes-models/v1/ConfigMap',
  Deployment: 'kubernetes-models/apps/v1/Deployment',
  ClusterRole: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
  ClusterRoleBinding: 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding',
  MutatingWebhookConfiguration: 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration',
  CustomResourceDefinition: 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition',
};

/** Validates against the Kubernetes schema; cert-manager kinds (no schema package) are checked by hand. */
async function validate(obj: Obj): Promise<void> {
  if (obj.apiVersion === 'cert-manager.io/v1') {
    assert.ok(['Issuer', 'Certificate'].includes(obj.kind), `unexpected cert-manager kind ${obj.kind}`);
    assert.equal(obj.metadata.namespace, NS);
    if (obj.kind === 'Certificate') {
      assert.equal(typeof obj.spec.secretName, 'string');
      assert.ok(obj.spec.issuerRef?.name, 'Certificate.spec.issuerRef.name');
    }
    return;
  }
  const module = MODELS[obj.kind];
  assert.ok(module, `no schema for rendered kind ${obj.kind}; add it to MODELS`);
  const mod = (await import(module)) as Record<string, new (d: unknown) => { validate(): void }>;
  try {
    new mod[obj.kind](obj).validate();
  } catch (err) {
    assert.fail(`${obj.kind}/${obj.metadata?.name}: ${(err as Error).message}`);
  }
}

async function validateAll(objs: Obj[]): Promise<void> {
  for (const o of objs) await validate(o);
}

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `${kind}/${name} not rendered`);
  return o;
};
const container = (deploy: Obj): Obj => deploy.spec.template.spec.containers[0];

/** Value of a `--flag value` pair in container args. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs `ferry <args> --help`: the real parser reads every flag (unknown ones and bad numbers fail) before --help answers. */
function ferryAccepts(args: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync(process.execPath, [FERRY, ...args, '--help'], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

/** The webhook's --ca-root-file is root-cert.pem of the ConfigMap ferry-ca-root, mounted read-only and required. */
function assertCaRootMounted(deploy: Obj): void {
  const c = container(deploy);
  const file = flag(c.args, '--ca-root-file');
  assert.ok(file, 'the webhook gets --ca-root-file');
  const m = c.volumeMounts.find((v: Obj) => path.dirname(file) === v.mountPath);
  assert.ok(m, `--ca-root-file ${file} is in a mounted volume`);
  assert.equal(m.readOnly, true);
  const vol = deploy.spec.template.spec.volumes.find((v: Obj) => v.name === m.name);
  assert.equal(vol.configMap?.name, 'ferry-ca-root');
  assert.notEqual(vol.configMap.optional, true, 'no root, no webhook: never inject sidecars that cannot reach the controller');
  assert.deepEqual(vol.configMap.items, [{ key: 'root-cert.pem', path: path.basename(file) }]);
}

/** A Kubernetes label selector (matchLabels + matchExpressions) against a label set. */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok =
      e.operator === 'In' ? has && e.values.includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !e.values.includes(labels[e.key])
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : assert.fail(`unknown selector operator ${e.operator}`);
    if (!ok) return false;
  }
  return true;
}

test('helm lint passes (also --strict)', { skip: SKIP }, () => {
  for (const extra of [[], ['--strict']]) {
    const r = helm(['lint', CHART, '--namespace', NS, ...extra]);
    assert.equal(r.code, 0, `helm lint ${extra.join(' ')}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

test('default values: the expected objects, each valid against the Kubernetes schemas', { skip: SKIP }, async () => {
  const objs = render();
  assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    'ClusterRole/ferry-controller',
    'ClusterRoleBinding/ferry-controller',
    'CustomResourceDefinition/accesspolicies.ferry.io',
    'CustomResourceDefinition/trafficpolicies.ferry.io',
    'Deployment/ferry-controller',
    'Deployment/ferry-webhook',
    'MutatingWebhookConfiguration/ferry-sidecar-injector',
    'Service/ferry-controller',
    'Service/ferry-webhook',
    'ServiceAccount/ferry-controller',
    'ServiceAccount/ferry-webhook',
  ]);
  await validateAll(objs);
  for (const o of objs) {
    const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'CustomResourceDefinition'].includes(o.kind);
    assert.equal(o.metadata.namespace, clusterScoped ? undefined : NS, `${o.kind}/${o.metadata.name} namespace`);
  }
  // The mesh's own pods carry ferry.io/component, which the injector and the webhook's objectSelector skip.
  for (const name of ['ferry-controller', 'ferry-webhook']) {
    const d = find(objs, 'Deployment', name);
    assert.ok(d.spec.template.metadata.labels[LABEL_COMPONENT], `${name} pods are labelled ${LABEL_COMPONENT}`);
    assert.equal(container(d).image, 'ferry:0.1.0');
    assert.ok(selects(d.spec.selector, d.spec.template.metadata.labels), `${name}: selector matches its pods`);
  }
});

test('RBAC: the controller reads what its informers list and may create TokenReviews, nothing more', { skip: SKIP }, () => {
  const objs = render();
  const rules: Obj[] = find(objs, 'ClusterRole', 'ferry-controller').rules;
  const grants = new Set(rules.flatMap((r) => r.apiGroups.flatMap((g: string) => r.resources.flatMap((res: string) => r.verbs.map((v: string) => `${g}/${res}:${v}`)))));
  const want = [
    ...['/services', '/pods', '/namespaces', 'discovery.k8s.io/endpointslices', 'gateway.networking.k8s.io/httproutes', 'ferry.io/trafficpolicies', 'ferry.io/accesspolicies'].flatMap((r) =>
      ['get', 'list', 'watch'].map((v) => `${r}:${v}`),
    ),
    'authentication.k8s.io/tokenreviews:create',
  ];
  assert.deepEqual([...grants].sort(), want.sort());
  const binding = find(objs, 'ClusterRoleBinding', 'ferry-controller');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'ferry-controller', namespace: NS }]);
  assert.equal(find(objs, 'Deployment', 'ferry-controller').spec.template.spec.serviceAccountName, 'ferry-controller');
  assert.equal(find(objs, 'ServiceAccount', 'ferry-webhook').automountServiceAccountToken, false);
});

test('controller: args are flags `ferry controller` accepts, wired to the mounted CA, ports and probes', { skip: SKIP }, () => {
  const objs = render();
  const deploy = find(objs, 'Deployment', 'ferry-controller');
  const c = container(deploy);
  const args: string[] = c.args;
  assert.equal(args[0], 'controller');
  const accepted = ferryAccepts(args);
  assert.ok(accepted.ok, `ferry ${args.join(' ')} --help: ${accepted.stderr}`);
  assert.ok(!ferryAccepts([...args, '--no-such-flag']).ok, 'the parser check can fail');

  assert.equal(flag(args, '--registry'), 'kubernetes');
  assert.ok(!args.includes('--insecure-xds'), 'the CA needs TLS on 15012');
  assert.equal(flag(args, '--system-namespace'), NS);
  assert.equal(flag(args, '--trust-domain'), 'cluster.local');
  assert.equal(flag(args, '--mtls-mode'), 'PERMISSIVE');
  const caDir = flag(args, '--ca-dir');
  const mount = c.volumeMounts.find((m: Obj) => m.mountPath === caDir);
  assert.ok(mount, '--ca-dir is a mounted volume');
  const volume = deploy.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
  assert.equal(volume.secret.secretName, 'ferry-ca');
  assert.deepEqual(volume.secret.items.map((i: Obj) => i.key).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);

  const xds = parseHostPort('xds-address', flag(args, '--xds-address')!);
  const admin = parseHostPort('admin-address', flag(args, '--admin-address')!);
  assert.deepEqual(xds, { host: '0.0.0.0', port: PORT_CONTROLLER_GRPC });
  assert.equal(admin.host, '0.0.0.0', 'the kubelet and the Service reach the admin port');
  assert.equal(flag(args, '--plaintext-xds-address'), undefined, '15010 is off by default');
  const portByName = new Map<string, number>(c.ports.map((p: Obj) => [p.name, p.containerPort]));
  assert.equal(portByName.get(c.readinessProbe.httpGet.port), admin.port);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(portByName.get(c.livenessProbe.httpGet.port), admin.port);

  const svc = find(objs, 'Service', CONTROLLER_SERVICE_NAME);
  assert.deepEqual(svc.spec.ports.map((p: Obj) => [p.port, portByName.get(p.targetPort)]), [[15012, 15012], [15014, 15014]]);
  assert.ok(selects({ matchLabels: svc.spec.selector }, deploy.spec.template.metadata.labels));
});

test('webhook: args are flags `ferry webhook` accepts; the configuration calls it at /inject', { skip: SKIP }, () => {
  const objs = render(['--kube-version', '1.30.2']);
  const deploy = find(objs, 'Deployment', 'ferry-webhook');
  const c = container(deploy);
  const args: string[] = c.args;
  assert.equal(args[0], 'webhook');
  const accepted = ferryAccepts(args);
  assert.ok(accepted.ok, `ferry ${args.join(' ')} --help: ${accepted.stderr}`);
  assert.equal(flag(args, '--listen'), `:${PORT_WEBHOOK}`);
  assert.equal(flag(args, '--kubernetes-minor'), '30', 'taken from the cluster version');
  assert.equal(flag(args, '--image'), 'ferry:0.1.0');
  assert.equal(flag(args, '--controller-address'), `${CONTROLLER_SERVICE_NAME}.${NS}.svc:${PORT_CONTROLLER_GRPC}`);
  for (const f of ['--cert', '--key']) {
    const file = flag(args, f)!;
    const m = c.volumeMounts.find((v: Obj) => path.dirname(file) === v.mountPath);
    assert.ok(m, `${f} ${file} is in a mounted volume`);
    const vol = deploy.spec.template.spec.volumes.find((v: Obj) => v.name === m.name);
    assert.equal(vol.secret.secretName, 'ferry-webhook-tls');
    assert.ok(vol.secret.items.some((i: Obj) => i.path === path.basename(file)));
  }
  assert.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
  assert.equal(deploy.spec.template.spec.automountServiceAccountToken, false);
  // The mesh root reaches injected pods through the webhook, and sidecars expect the controller here.
  assert.equal(flag(args, '--system-namespace'), NS);
  assertCaRootMounted(deploy);

  const mwc = find(objs, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector');
  assert.equal(mwc.webhooks.length, 1);
  const w = mwc.webhooks[0];
  assert.deepEqual(w.clientConfig.service, { name: 'ferry-webhook', namespace: NS, path: '/inject', port: 443 });
  assert.equal(w.clientConfig.caBundle, undefined, 'no caBundle without a value or a readable Secret');
  assert.equal(w.sideEffects, 'None');
  assert.deepEqual(w.admissionReviewVersions, ['v1']);
  assert.equal(w.reinvocationPolicy, 'IfNeeded');
  assert.equal(w.failurePolicy, 'Fail');
  assert.deepEqual(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  const svc = find(objs, 'Service', 'ferry-webhook');
  const target = svc.spec.ports.find((p: Obj) => p.port === 443).targetPort;
  assert.equal(c.ports.find((p: Obj) => p.name === target).containerPort, PORT_WEBHOOK);
});

test('webhook selectors: namespaces labelled ferry.io/inject=enabled, never the mesh\'s own; opted-out and mesh pods skipped', { skip: SKIP }, () => {
  const w = find(render(), 'MutatingWebhookConfiguration', 'ferry-sidecar-injector').webhooks[0];
  const ns = (name: string, labels: Record<string, string> = {}) => ({ 'kubernetes.io/metadata.name': name, ...labels });
  const cases: [string, Record<string, string>, boolean][] = [
    ['labelled namespace', ns('shop', { [LABEL_INJECT]: 'enabled' }), true],
    ['unlabelled namespace', ns('shop'), false],
    ['namespace opted out', ns('shop', { [LABEL_INJECT]: 'disabled' }), false],
    ['the release namespace, even labelled', ns(NS, { [LABEL_INJECT]: 'enabled' }), false],
  ];
  for (const [what, labels, want] of cases) assert.equal(selects(w.namespaceSelector, labels), want, what);
  const pods: [string, Record<string, string>, boolean][] = [
    ['plain pod', { app: 'web' }, true],
    ['pod opted in', { [LABEL_INJECT]: 'enabled' }, true],
    ['pod opted out', { [LABEL_INJECT]: 'disabled' }, false],
    ['mesh component', { [LABEL_COMPONENT]: 'controller' }, false],
  ];
  for (const [what, labels, want] of pods) assert.equal(selects(w.objectSelector, labels), want, what);
});

test('value combinations render valid objects and flags both commands accept', { skip: SKIP }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-chart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = await createRootCa({});
  const rootFile = path.join(dir, 'root-cert.pem');
  writeFileSync(rootFile, root.certPem);

  const combos: { name: string; args: string[]; check: (objs: Obj[]) => void }[] = [
    {
      name: 'plaintext xDS, STRICT mTLS, cert TTL, extra args, two replicas',
      args: ['--set', 'meshConfig.mtls.mode=STRICT', '--set', 'controller.plaintextXds.enabled=true', '--set', 'controller.workloadCertTtlSeconds=3600', '--set', 'controller.extraArgs={--debounce-ms,250}', '--set', 'controller.replicas=2', '--set', 'controller.logLevel=debug'],
      check: (objs) => {
        const d = find(objs, 'Deployment', 'ferry-controller');
        const args: string[] = container(d).args;
        assert.deepEqual(parseHostPort('plaintext-xds-address', flag(args, '--plaintext-xds-address')!), { host: '0.0.0.0', port: 15010 });
        assert.equal(flag(args, '--workload-ttl-seconds'), '3600');
        assert.equal(flag(args, '--mtls-mode'), 'STRICT');
        assert.equal(flag(args, '--debounce-ms'), '250');
        assert.equal(d.spec.replicas, 2);
        assert.ok(find(objs, 'Service', 'ferry-controller').spec.ports.some((p: Obj) => p.port === 15010));
      },
    },
    {
      name: 'caBundle (PEM) and root certificate given, failurePolicy Ignore, own image and trust domain',
      args: ['--set-file', `webhook.tls.caBundle=${rootFile}`, '--set-file', `ca.rootCert=${rootFile}`, '--set', 'webhook.failurePolicy=Ignore', '--set', 'image.repository=registry.example/ferry', '--set', 'image.tag=dev', '--set', 'trustDomain=mesh.example', '--set', 'webhook.kubernetesMinor=28'],
      check: (objs) => {
        const w = find(objs, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector').webhooks[0];
        assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), root.certPem);
        assert.equal(w.failurePolicy, 'Ignore');
        const configMap = find(objs, 'ConfigMap', 'ferry-ca-root');
        assert.equal(configMap.data['root-cert.pem'].trim(), root.certPem.trim());
        const webhook = find(objs, 'Deployment', 'ferry-webhook');
        assertCaRootMounted(webhook);
        const key = webhook.spec.template.spec.volumes.find((v: Obj) => v.name === 'ca-root').configMap.items[0].key;
        assert.ok(Object.hasOwn(configMap.data, key), 'the mounted key is in the rendered ConfigMap');
        assert.equal(
          webhook.spec.template.metadata.annotations['checksum/ca-root'],
          createHash('sha256').update(root.certPem.trim()).digest('hex'),
          'a new root rolls the webhook out',
        );
        const args: string[] = webhook.spec.template.spec.containers[0].args;
        assert.equal(flag(args, '--image'), 'registry.example/ferry:dev');
        assert.equal(flag(args, '--trust-domain'), 'mesh.example');
        assert.equal(flag(args, '--kubernetes-minor'), '28');
        assert.equal(flag(container(find(objs, 'Deployment', 'ferry-controller')).args, '--trust-domain'), 'mesh.example');
      },
    },
    {
      name: 'cert-manager with a self-signed issuer',
      args: ['--set', 'webhook.certManager.enabled=true'],
      check: (objs) => {
        const cert = find(objs, 'Certificate', 'ferry-webhook');
        assert.equal(cert.spec.secretName, 'ferry-webhook-tls');
        assert.ok(cert.spec.dnsNames.includes(`ferry-webhook.${NS}.svc`));
        assert.equal(find(objs, 'Issuer', cert.spec.issuerRef.name).spec.selfSigned !== undefined, true);
        const mwc = find(objs, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector');
        assert.equal(mwc.metadata.annotations['cert-manager.io/inject-ca-from'], `${NS}/ferry-webhook`);
      },
    },
    {
      name: 'cert-manager with a given ClusterIssuer, extra namespace selector',
      args: ['--set', 'webhook.certManager.enabled=true', '--set', 'webhook.certManager.issuerRef.name=corp-ca', '--set', 'webhook.certManager.issuerRef.kind=ClusterIssuer', '--set', 'webhook.namespaceSelector.matchLabels.team=a'],
      check: (objs) => {
        assert.deepEqual(find(objs, 'Certificate', 'ferry-webhook').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer' });
        assert.ok(!objs.some((o) => o.kind === 'Issuer'));
        const w = find(objs, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector').webhooks[0];
        assert.ok(selects(w.namespaceSelector, { [LABEL_INJECT]: 'enabled', team: 'a', 'kubernetes.io/metadata.name': 'x' }));
        assert.ok(!selects(w.namespaceSelector, { [LABEL_INJECT]: 'enabled', 'kubernetes.io/metadata.name': 'x' }));
      },
    },
    {
      name: 'Grafana dashboards on: one ConfigMap with every dashboards/*.json, labelled for the Grafana sidecar, in Grafana\'s namespace',
      args: ['--set', 'dashboards.enabled=true', '--set', 'dashboards.namespace=monitoring', '--set', 'dashboards.annotations.grafana_folder=Ferry'],
      check: (objs) => {
        const cm = find(objs, 'ConfigMap', 'ferry-dashboards');
        assert.equal(cm.metadata.namespace, 'monitoring');
        assert.equal(cm.metadata.labels.grafana_dashboard, '1');
        assert.equal(cm.metadata.annotations.grafana_folder, 'Ferry');
        const dir = path.join(CHART, 'dashboards');
        const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
        assert.deepEqual(Object.keys(cm.data).sort(), files);
        for (const f of files) assert.equal(cm.data[f], readFileSync(path.join(dir, f), 'utf8'), `${f} ships unchanged (no templating of Grafana's {{legend}} braces)`);
      },
    },
  ];
  for (const combo of combos) {
    await t.test(combo.name, async () => {
      const objs = render(combo.args);
      await validateAll(objs);
      for (const name of ['ferry-controller', 'ferry-webhook']) {
        const args: string[] = container(find(objs, 'Deployment', name)).args;
        const r = ferryAccepts(args);
        assert.ok(r.ok, `ferry ${args.join(' ')} --help: ${r.stderr}`);
      }
      combo.check(objs);
    });
  }
});

test('values the controller cannot apply are refused with the value\'s name', { skip: SKIP }, () => {
  const cases: [string[], RegExp][] = [
    [['--set', 'meshConfig.mtls.mode=strict'], /meshConfig\.mtls\.mode: "strict" must be PERMISSIVE or STRICT/],
    [['--set', 'meshConfig.outbound=blackhole'], /meshConfig\.outbound: "blackhole"/],
    [['--set', 'meshConfig.proxy.resources.requests.cpu=200m'], /meshConfig\.proxy\.resources/],
    [['--set', 'webhook.failurePolicy=Sometimes'], /webhook\.failurePolicy: "Sometimes" must be Fail or Ignore/],
    [['--set', 'ca.existingSecret='], /ca\.existingSecret: required/],
    [['--set', 'ca.rootCert=not-a-certificate'], /ca\.rootCert: expected a PEM certificate/],
    [['--set', 'webhook.kubernetesMinor=x'], /webhook\.kubernetesMinor: "x" is not a number/],
  ];
  for (const [args, want] of cases) assert.match(renderFails(args), want, args.join(' '));
});

test('NOTES.txt renders, with the warnings an install without caBundle or root certificate needs', { skip: SKIP }, (t) => {
  // helm template does not render NOTES.txt; render its text through a template in a copy of the chart.
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-notes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const chart = path.join(dir, 'ferry');
  cpSync(CHART, chart, { recursive: true });
  const notes = readFileSync(path.join(chart, 'templates', 'NOTES.txt'), 'utf8');
  unlinkSync(path.join(chart, 'templates', 'NOTES.txt'));
  writeFileSync(
    path.join(chart, 'templates', 'notes-check.yaml'),
    `{{- define "ferry.notesCheck" -}}\n${notes}\n{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-check\ndata:\n  notes: {{ include "ferry.notesCheck" . | toJson }}\n`,
  );
  const text = (ns: string) => find(render([], chart, ns), 'ConfigMap', 'notes-check').data.notes as string;
  const inSystem = text(NS);
  assert.match(inSystem, /ferry-controller\.ferry-system\.svc:15012/);
  assert.match(inSystem, /kubectl label namespace <ns> ferry\.io\/inject=enabled/);
  assert.match(inSystem, /no caBundle/);
  assert.match(inSystem, /ferry-ca-root was not created.*\n.*\n.*does not start without it/);
  assert.match(inSystem, /spiffe:\/\/cluster\.local\/ns\/ferry-system\/sa\/ferry-controller/);
  const other = text('mesh');
  assert.match(other, /spiffe:\/\/cluster\.local\/ns\/mesh\/sa\/ferry-controller/);
  assert.doesNotMatch(other, /ferry-system/, 'nothing points at ferry-system from another namespace');
});

test('another release namespace: the webhook names it to sidecars and the controller serves as it', { skip: SKIP }, async () => {
  const objs = render(['--set', 'webhook.podAnnotations.team=mesh'], CHART, 'mesh');
  await validateAll(objs);
  for (const o of objs.filter((x) => x.metadata.namespace !== undefined)) assert.equal(o.metadata.namespace, 'mesh', `${o.kind}/${o.metadata.name}`);
  const webhook = find(objs, 'Deployment', 'ferry-webhook');
  const args: string[] = container(webhook).args;
  assert.ok(ferryAccepts(args).ok, `ferry ${args.join(' ')} --help`);
  assert.equal(flag(args, '--system-namespace'), 'mesh');
  assert.equal(flag(args, '--controller-address'), `${CONTROLLER_SERVICE_NAME}.mesh.svc:${PORT_CONTROLLER_GRPC}`);
  assert.equal(flag(container(find(objs, 'Deployment', 'ferry-controller')).args, '--system-namespace'), 'mesh', 'the controller serves 15012 as .../ns/mesh/sa/ferry-controller');
  assertCaRootMounted(webhook);
  assert.equal(webhook.spec.template.metadata.annotations.team, 'mesh', 'podAnnotations sit beside the checksum');
  assert.ok(webhook.spec.template.metadata.annotations['checksum/ca-root']);
});
