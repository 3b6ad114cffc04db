// Table-driven tests for the injector: each patch is applied and the result validated against the Kubernetes schema.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Operation, applyPatch } from 'fast-json-patch';
import { ConfigError } from '../src/errors';
import { inject } from './inject';
import type { Container, InjectOptions, Pod, Probe } from './types';

const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

const OPTIONS: InjectOptions = {
  image: 'example.com/ferry:0.1.0',
  controllerAddress: 'ferry-controller.ferry-system.svc:15012',
  trustDomain: 'cluster.local',
  kubernetesMinor: 30,
  version: '0.1.0',
};

function pod(spec: Partial<Pod['spec']> & { containers?: Container[] }, metadata: Pod['metadata'] = { name: 'web-1', namespace: 'shop' }): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
  };
}

async function validate(p: Pod): Promise<void> {
  const { Pod: PodModel } = await import('kubernetes-models/v1/Pod');
  new PodModel(p as never).validate();
  // What the schema cannot say: one handler per probe, unique names, ferry-init first.
  const all = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
  assert.equal(new Set(all.map((c) => c.name)).size, all.length, 'container names are unique');
  for (const c of all) {
    for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const probe = c[k] as Probe | undefined;
      if (probe) assert.equal(['httpGet', 'tcpSocket', 'grpc', 'exec'].filter((h) => h in probe).length, 1, `${c.name}.${k}`);
    }
  }
  const volumes = new Set((p.spec?.volumes ?? []).map((v) => v.name));
  for (const c of all) for (const m of (c.volumeMounts as { name: string }[] | undefined) ?? []) assert.ok(volumes.has(m.name), m.name);
}

function applied(p: Pod, options = OPTIONS): Pod {
  const result = inject(p, options);
  assert.equal(result.skipped, undefined, `unexpectedly skipped: ${result.skipped}`);
  return applyPatch(structuredClone(p), result.patch as Operation[], true, false).newDocument;
}

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } };
const proxyOf = (p: Pod): Container =>
  [...(p.spec!.initContainers ?? []), ...p.spec!.containers!].find((c) => c.name === 'ferry-proxy')!;
const envOf = (c: Container): Map<string, EnvVar> => new Map((c.env as EnvVar[]).map((e) => [e.name, e]));
const statusOf = (p: Pod) => JSON.parse(p.metadata!.annotations!['ferry.io/status']) as { volumes: string[] };

/** The root reaches the proxy: annotation → downward API volume → read-only mount → FERRY_CA_ROOT_FILE. */
function assertCaRoot(p: Pod, pem: string): void {
  assert.equal(p.metadata!.annotations!['ferry.io/ca-root'], pem);
  const volume = p.spec!.volumes!.find((v) => v.name === 'ferry-ca-root');
  assert.deepEqual(volume, {
    name: 'ferry-ca-root',
    downwardAPI: { defaultMode: 0o444, items: [{ path: 'root-cert.pem', fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['ferry.io/ca-root']" } }] },
  });
  const proxy = proxyOf(p);
  const mount = (proxy.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => m.name === 'ferry-ca-root');
  assert.deepEqual(mount, { name: 'ferry-ca-root', mountPath: '/var/run/secrets/ferry/ca', readOnly: true });
  assert.equal(envOf(proxy).get('FERRY_CA_ROOT_FILE')?.value, `${mount!.mountPath}/root-cert.pem`);
  assert.ok(statusOf(p).volumes.includes('ferry-ca-root'), 'the status annotation lists the added volume');
  for (const c of [...p.spec!.initContainers!, ...p.spec!.containers!].filter((x) => x.name !== 'ferry-proxy')) {
    assert.ok(!((c.volumeMounts as { name: string }[] | undefined) ?? []).some((m) => m.name === 'ferry-ca-root'), `${c.name} does not mount the root`);
  }
}

function assertNoCaRoot(p: Pod): void {
  assert.equal(p.metadata!.annotations!['ferry.io/ca-root'], undefined);
  assert.ok(!p.spec!.volumes!.some((v) => v.name === 'ferry-ca-root'));
  assert.equal(envOf(proxyOf(p)).get('FERRY_CA_ROOT_FILE'), undefined);
  assert.ok(!statusOf(p).volumes.includes('ferry-ca-root'));
}

const PROBED: Container = {
  name: 'app',
  image: 'app:1',
  ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }],
  livenessProbe: { httpGet: { path: '/live', port: 'http', httpHeaders: [{ name: 'X-A', value: 'b' }] }, periodSeconds: 7, failureThreshold: 4 },
  readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 3 },
  startupProbe: { grpc: { port: 9090, service: 'ready' }, timeoutSeconds: 2 },
};

const INJECTED: { name: string; pod: Pod; options?: Partial<InjectOptions>; check: (p: Pod) => void }[] = [
  {
    name: 'plain pod → native sidecar after ferry-init, nothing in containers',
    pod: pod({}),
    check: (p) => {
      assert.deepEqual(p.spec!.initContainers!.map((c) => c.name), ['ferry-init', 'ferry-proxy']);
      assert.deepEqual(p.spec!.containers!.map((c) => c.name), ['app']);
      const proxy = p.spec!.initContainers![1];
      assert.equal(proxy.restartPolicy, 'Always');
      assert.deepEqual((proxy.startupProbe as Probe).httpGet, { path: '/healthz/ready', port: 15020, scheme: 'HTTP' });
      assert.deepEqual(proxy.securityContext, {
        runAsUser: 1337, runAsGroup: 1337, runAsNonRoot: true, privileged: false,
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      });
      const init = p.spec!.initContainers![0];
      assert.deepEqual((init.securityContext as { capabilities: unknown }).capabilities, { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
      assert.deepEqual(init.args, ['init']);
      const token = p.spec!.volumes!.find((v) => v.name === 'ferry-token') as unknown as { projected: { sources: { serviceAccountToken: { audience: string } }[] } };
      assert.equal(token.projected.sources[0].serviceAccountToken.audience, 'ferry-ca');
      const env = proxy.env as { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
      assert.equal(env.find((e) => e.name === 'FERRY_POD_IP')?.valueFrom?.fieldRef.fieldPath, 'status.podIP');
      assert.equal(env.find((e) => e.name === 'FERRY_CONTROLLER_ADDRESS')?.value, OPTIONS.controllerAddress);
      assert.equal(env.find((e) => e.name === 'FERRY_TRUST_DOMAIN')?.value, 'cluster.local');
      assert.deepEqual(proxy.args, ['proxy', '--controller-identity', 'spiffe://cluster.local/ns/ferry-system/sa/ferry-controller']);
      // FERRY_TOKEN_FILE is the projected token's file inside its mount.
      const tokenMount = (proxy.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'ferry-token')!;
      assert.equal(env.find((e) => e.name === 'FERRY_TOKEN_FILE')?.value, `${tokenMount.mountPath}/ferry-token`);
      assertNoCaRoot(p);
      const a = p.metadata!.annotations!;
      assert.equal(a['prometheus.io/port'], '15090');
      assert.equal(a['kubectl.kubernetes.io/default-container'], 'app');
      assert.deepEqual(JSON.parse(a['ferry.io/status']).initContainers, ['ferry-init', 'ferry-proxy']);
    },
  },
  {
    name: 'existing init containers run after ferry-init and the proxy',
    pod: pod({ initContainers: [{ name: 'migrate', image: 'm:1' }], volumes: [{ name: 'data', emptyDir: {} }] }, {
      name: 'w', annotations: { team: 'a' },
    }),
    check: (p) => {
      assert.deepEqual(p.spec!.initContainers!.map((c) => c.name), ['ferry-init', 'ferry-proxy', 'migrate']);
      assert.deepEqual(p.spec!.volumes!.map((v) => v.name), ['data', 'ferry-token', 'ferry-data', 'ferry-init-run']);
      assert.equal(p.metadata!.annotations!.team, 'a');
    },
  },
  {
    name: 'Kubernetes 1.28 → proxy first among containers with a postStart wait',
    pod: pod({ initContainers: [{ name: 'migrate', image: 'm:1' }] }),
    options: { kubernetesMinor: 28 },
    check: (p) => {
      assert.deepEqual(p.spec!.initContainers!.map((c) => c.name), ['ferry-init', 'migrate']);
      assert.deepEqual(p.spec!.containers!.map((c) => c.name), ['ferry-proxy', 'app']);
      const proxy = p.spec!.containers![0];
      assert.equal(proxy.restartPolicy, undefined);
      assert.equal(proxy.startupProbe, undefined);
      assert.ok((proxy.lifecycle as { postStart?: unknown }).postStart);
      assert.equal(p.metadata!.annotations!['kubectl.kubernetes.io/default-container'], 'app');
    },
  },
  {
    name: 'every probe kind is rewritten to the health port; originals travel in env',
    pod: pod({ containers: [PROBED, { name: 'side', image: 's', livenessProbe: { exec: { command: ['true'] } } }] }, { name: 'p', namespace: 'shop' }),
    options: { kubernetesMinor: 28 },
    check: (p) => {
      const app = p.spec!.containers!.find((c) => c.name === 'app')!;
      assert.deepEqual(app.livenessProbe, { periodSeconds: 7, failureThreshold: 4, httpGet: { path: '/app-health/app/liveness', port: 15020, scheme: 'HTTP' } });
      assert.deepEqual(app.readinessProbe, { initialDelaySeconds: 3, httpGet: { path: '/app-health/app/readiness', port: 15020, scheme: 'HTTP' } });
      assert.deepEqual(app.startupProbe, { timeoutSeconds: 2, httpGet: { path: '/app-health/app/startup', port: 15020, scheme: 'HTTP' } });
      const side = p.spec!.containers!.find((c) => c.name === 'side')!;
      assert.deepEqual(side.livenessProbe, { exec: { command: ['true'] } }, 'exec probes stay');
      const env = p.spec!.containers![0].env as { name: string; value?: string }[];
      assert.deepEqual(JSON.parse(env.find((e) => e.name === 'FERRY_APP_PROBES')!.value!), {
        'app/liveness': { httpGet: { port: 8080, path: '/live', scheme: 'HTTP', httpHeaders: [{ name: 'X-A', value: 'b' }] } },
        'app/readiness': { tcpSocket: { port: 8080 } },
        'app/startup': { grpc: { port: 9090, service: 'ready' }, timeoutSeconds: 2 },
      });
    },
  },
  {
    name: 'an unresolvable named port leaves the probe alone',
    pod: pod({ containers: [{ name: 'app', image: 'a', readinessProbe: { httpGet: { port: 'nope', path: '/' } } }] }),
    check: (p) => assert.deepEqual(p.spec!.containers![0].readinessProbe, { httpGet: { port: 'nope', path: '/' } }),
  },
  {
    name: 'generateName only, no metadata annotations',
    pod: pod({}, { generateName: 'web-' }),
    check: (p) => assert.ok(p.metadata!.annotations!['ferry.io/status']),
  },
  {
    name: 'no metadata at all',
    pod: { spec: { containers: [{ name: 'app', image: 'a' }] } },
    check: (p) => assert.ok(p.metadata!.annotations!['ferry.io/status']),
  },
  {
    name: 'capture annotations become ferry-init flags; resource annotations override defaults',
    pod: pod({}, {
      name: 'x',
      annotations: {
        'ferry.io/exclude-inbound-ports': '8081,9000',
        'ferry.io/exclude-outbound-cidrs': '169.254.169.254/32',
        'ferry.io/proxy-cpu': '200m',
        'ferry.io/proxy-memory-limit': '1Gi',
        'prometheus.io/scrape': 'false',
      },
    }),
    check: (p) => {
      assert.deepEqual(p.spec!.initContainers![0].args, [
        'init', '--exclude-inbound-ports', '8081,9000', '--exclude-outbound-cidrs', '169.254.169.254/32',
      ]);
      assert.deepEqual(p.spec!.initContainers![1].resources, { requests: { cpu: '200m', memory: '64Mi' }, limits: { memory: '1Gi' } });
      assert.equal(p.metadata!.annotations!['prometheus.io/scrape'], 'false', "the app's own scrape settings stay");
    },
  },
  {
    name: 'with the mesh root: annotation, downward API volume, read-only mount and FERRY_CA_ROOT_FILE in the proxy',
    pod: pod({ volumes: [{ name: 'data', emptyDir: {} }] }, { name: 'x', annotations: { team: 'a' } }),
    options: { caRootPem: ROOT_PEM },
    check: (p) => {
      assertCaRoot(p, ROOT_PEM);
      assert.deepEqual(p.spec!.volumes!.map((v) => v.name), ['data', 'ferry-token', 'ferry-data', 'ferry-init-run', 'ferry-ca-root']);
      assert.equal(p.metadata!.annotations!.team, 'a');
    },
  },
  {
    name: 'with the mesh root, no annotations or volumes yet, Kubernetes 1.28 (proxy among containers)',
    pod: pod({}, { generateName: 'web-' }),
    options: { caRootPem: ROOT_PEM, kubernetesMinor: 28 },
    check: (p) => {
      assertCaRoot(p, ROOT_PEM);
      assert.equal(p.spec!.containers![0].name, 'ferry-proxy');
    },
  },
  {
    name: 'a ferry.io/ca-root the pod brought is replaced by the mesh root',
    pod: pod({}, { name: 'x', annotations: { 'ferry.io/ca-root': '-----BEGIN CERTIFICATE-----\nnot ours\n-----END CERTIFICATE-----\n' } }),
    options: { caRootPem: ROOT_PEM },
    check: (p) => assertCaRoot(p, ROOT_PEM),
  },
  {
    name: 'custom system namespace and trust domain: the controller identity follows them',
    pod: pod({}, { name: 'x', namespace: 'ferry-system' }),
    options: { systemNamespace: 'mesh', trustDomain: 'corp.example', caRootPem: ROOT_PEM },
    check: (p) => {
      assert.deepEqual(proxyOf(p).args, ['proxy', '--controller-identity', 'spiffe://corp.example/ns/mesh/sa/ferry-controller']);
      assertCaRoot(p, ROOT_PEM);
    },
  },
  {
    name: 'namespace not enabled, but the pod opts in by label',
    pod: pod({}, { name: 'x', labels: { 'ferry.io/inject': 'enabled' } }),
    options: { namespaceInjection: false },
    check: (p) => assert.ok(p.metadata!.annotations!['ferry.io/status']),
  },
];

for (const c of INJECTED) {
  test(`inject: ${c.name}`, async () => {
    const result = applied(c.pod, { ...OPTIONS, ...c.options });
    c.check(result);
    await validate(result);
    // Idempotent: injecting the injected pod adds nothing.
    const again = inject(result, { ...OPTIONS, ...c.options });
    assert.deepEqual(again.patch, []);
    assert.match(again.skipped ?? '', /already injected/);
  });
}

const SKIPPED: [string, Pod, RegExp, Partial<InjectOptions>?][] = [
  ['hostNetwork', pod({ hostNetwork: true }), /hostNetwork/],
  ['opted out by annotation', pod({}, { name: 'x', annotations: { 'ferry.io/inject': 'disabled' } }), /opted out/],
  ['opted out by label', pod({}, { name: 'x', labels: { 'ferry.io/inject': 'disabled' } }), /opted out/],
  ['mesh component label', pod({}, { name: 'x', labels: { 'ferry.io/component': 'controller' } }), /mesh's own/],
  ['mesh namespace', pod({}, { name: 'x', namespace: 'ferry-system' }), /mesh's own/],
  ['custom mesh namespace', pod({}, { name: 'x', namespace: 'mesh' }), /mesh's own/, { systemNamespace: 'mesh', caRootPem: ROOT_PEM }],
  ['namespace not enabled', pod({}), /not enabled/, { namespaceInjection: false }],
  ['manually injected without status', pod({ containers: [{ name: 'app' }, { name: 'ferry-proxy' }] }), /already injected/],
];
for (const [name, p, reason, options] of SKIPPED) {
  test(`skip: ${name}`, () => {
    const r = inject(p, { ...OPTIONS, ...options });
    assert.deepEqual(r.patch, []);
    assert.match(r.skipped ?? '', reason);
  });
}

const REJECTED: [Record<string, string>, RegExp][] = [
  [{ 'ferry.io/exclude-inbound-ports': '80,http' }, /^ferry\.io\/exclude-inbound-ports: "http" is not a port/],
  [{ 'ferry.io/include-outbound-cidrs': '10.0.0.0/99' }, /^ferry\.io\/include-outbound-cidrs: /],
  [{ 'ferry.io/proxy-memory': 'lots' }, /^ferry\.io\/proxy-memory: "lots" is not a Kubernetes quantity/],
  [{ 'ferry.io/native-sidecar': 'yes' }, /^ferry\.io\/native-sidecar: /],
];
for (const [annotations, message] of REJECTED) {
  test(`bad annotation ${Object.keys(annotations)[0]} is a ConfigError naming it`, () => {
    assert.throws(() => inject(pod({}, { name: 'x', annotations }), OPTIONS), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });
}

const BAD_OPTIONS: [string, Partial<InjectOptions>, RegExp][] = [
  ['a root over 64 KiB', { caRootPem: `${ROOT_PEM}${'#'.repeat(64 * 1024)}` }, /^caRootPem: \d+ bytes is over the 65536-byte limit: .*ferry\.io\/ca-root.*256 KiB/],
  ['a root that is not PEM', { caRootPem: 'hello' }, /^caRootPem: expected a PEM certificate/],
  ['a system namespace that cannot be in a SPIFFE ID', { systemNamespace: 'a/b' }, /^trustDomain\/systemNamespace: "cluster\.local" \/ "a\/b"/],
];
for (const [name, options, message] of BAD_OPTIONS) {
  test(`options: ${name} is a ConfigError naming the option`, () => {
    assert.throws(() => inject(pod({}), { ...OPTIONS, ...options }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  });
}

test('a root of exactly 64 KiB is accepted', () => {
  const pem = ROOT_PEM + '#'.repeat(64 * 1024 - ROOT_PEM.length);
  assertCaRoot(applied(pod({}), { ...OPTIONS, caRootPem: pem }), pem);
});

test('annotations with "/" are escaped in patch paths', () => {
  const r = inject(pod({}, { name: 'x', annotations: {} }), OPTIONS);
  assert.ok(r.patch.some((op) => op.path === '/metadata/annotations/ferry.io~1status'));
});

test('the patch does not share objects between calls', () => {
  const a = inject(pod({}), OPTIONS).patch;
  const b = inject(pod({}), OPTIONS).patch;
  assert.notEqual(a.find((o) => o.path === '/spec/volumes')?.value, b.find((o) => o.path === '/spec/volumes')?.value);
});

test('the schema check itself rejects a broken pod', async () => {
  await assert.rejects(validate({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ image: 7 } as unknown as Container] } }));
});
