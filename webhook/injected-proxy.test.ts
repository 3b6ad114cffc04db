// The injected proxy's env and args, as the kubelet would resolve them, parsed by the sidecar's own `podProxyOptions`.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { type Operation, applyPatch } from 'fast-json-patch';
import { createRootCa } from '../certs/root-ca';
import { buildSpiffeId } from '../certs/spiffe';
import { CONTROLLER_SERVICE_ACCOUNT } from '../src/controller/ca/serving-identity';
import { podProxyOptions } from '../sidecar/agent/pod-proxy';
import { inject } from './inject';
import type { Container, InjectOptions, Pod } from './types';

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } };
type Mount = { name: string; mountPath: string };

/** What the kubelet puts in fieldRef env vars for this pod. */
const FIELDS: Record<string, string> = {
  'metadata.name': 'web-1',
  'metadata.namespace': 'shop',
  'spec.serviceAccountName': 'web',
  'spec.nodeName': 'node-a',
  'status.podIP': '10.1.2.3',
  'status.podIPs': '10.1.2.3',
};

function injectedPod(options: InjectOptions): Pod {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
  const result = inject(pod, options);
  assert.equal(result.skipped, undefined);
  return applyPatch(pod, result.patch as Operation[], true, true).newDocument;
}

/**
 * The proxy container's environment as the kubelet resolves it, and its args after `proxy`. Files
 * from volumes (the downward API root) are written under `dir` and their env paths rewritten there.
 */
function resolveProxy(pod: Pod, dir: string): { env: Record<string, string>; argv: string[] } {
  const proxy = [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers!].find((c: Container) => c.name === 'ferry-proxy')!;
  const env: Record<string, string> = {};
  for (const e of proxy.env as EnvVar[]) {
    const v = e.value ?? FIELDS[e.valueFrom!.fieldRef.fieldPath];
    assert.notEqual(v, undefined, `env ${e.name}: unknown fieldRef`);
    env[e.name] = v;
  }
  const rootFile = env.FERRY_CA_ROOT_FILE;
  if (rootFile !== undefined) {
    // Follow the file back to its volume, as the kubelet does: mount → downwardAPI item → annotation.
    const mount = (proxy.volumeMounts as Mount[]).find((m) => rootFile.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `FERRY_CA_ROOT_FILE ${rootFile} is inside a mounted volume`);
    const volume = pod.spec!.volumes!.find((v) => v.name === mount.name) as unknown as { downwardAPI: { items: { path: string; fieldRef: { fieldPath: string } }[] } };
    const item = volume.downwardAPI.items.find((i) => i.path === path.posix.relative(mount.mountPath, rootFile));
    assert.ok(item, `a downwardAPI item writes ${rootFile}`);
    const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(item.fieldRef.fieldPath)![1];
    const content = pod.metadata!.annotations![annotation];
    assert.ok(content, `annotation ${annotation} is on the pod`);
    const local = path.join(dir, 'root-cert.pem');
    writeFileSync(local, content);
    env.FERRY_CA_ROOT_FILE = local;
  }
  const args = proxy.args as string[];
  assert.equal(args[0], 'proxy');
  return { env, argv: args.slice(1) };
}

const BASE: InjectOptions = {
  image: 'example.com/ferry:1',
  controllerAddress: 'ferry-controller.ferry-system.svc:15012',
  trustDomain: 'cluster.local',
  kubernetesMinor: 30,
};

test('the injected proxy reads the mesh root, its token and the controller identity', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-injected-proxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = await createRootCa({});
  const cases: { name: string; options: Partial<InjectOptions>; namespace: string; trustDomain: string }[] = [
    { name: 'default system namespace', options: {}, namespace: 'ferry-system', trustDomain: 'cluster.local' },
    { name: 'custom system namespace and trust domain', options: { systemNamespace: 'mesh', trustDomain: 'corp.example', controllerAddress: 'ferry-controller.mesh.svc:15012' }, namespace: 'mesh', trustDomain: 'corp.example' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const pod = injectedPod({ ...BASE, ...c.options, caRootPem: root.certPem });
      const { env, argv } = resolveProxy(pod, dir);
      const opts = podProxyOptions(env, argv);
      assert.ok(opts.identity, 'the proxy asks the CA for a certificate');
      assert.equal(opts.identity.rootCertPem, root.certPem);
      // The same name the controller serves 15012 with (serving-identity.ts).
      assert.equal(opts.identity.controllerSpiffeId, buildSpiffeId(c.trustDomain, c.namespace, CONTROLLER_SERVICE_ACCOUNT));
      // The token file is the projected token the injector mounts (audience ferry-ca).
      const proxy = pod.spec!.initContainers!.find((x) => x.name === 'ferry-proxy')!;
      const tokenMount = (proxy.volumeMounts as Mount[]).find((m) => m.name === 'ferry-token')!;
      const tokenVolume = pod.spec!.volumes!.find((v) => v.name === 'ferry-token') as unknown as { projected: { sources: { serviceAccountToken: { path: string; audience: string } }[] } };
      const source = tokenVolume.projected.sources[0].serviceAccountToken;
      assert.equal(source.audience, 'ferry-ca');
      assert.equal(opts.identity.tokenFile, `${tokenMount.mountPath}/${source.path}`);
      assert.equal(opts.pod.trustDomain, c.trustDomain);
      assert.equal(`${opts.pod.controller.host}:${opts.pod.controller.port}`, (c.options.controllerAddress ?? BASE.controllerAddress));
    });
  }
});

test('without a mesh root the injected proxy runs without identity', () => {
  const { env, argv } = resolveProxy(injectedPod(BASE), tmpdir());
  assert.equal(env.FERRY_CA_ROOT_FILE, undefined);
  assert.equal(podProxyOptions(env, argv).identity, null);
});
