// Real Envoy accepts a sidecar snapshot: assembled into a static bootstrap and run with `envoy --mode validate`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { MeshModel } from '../model/types';
import type { Snapshot } from '../types';
import { exampleModel, localMeshModel, meshedModel, modelFrom, node } from './mesh-models.fixture';
import { issueWorkload, makeTestPki } from '../../../certs/test-pki.fixture';
import { translateForNode, type TranslateOptions } from './translate-for-node';

type Json = Record<string, any>;

/** EDS clusters become STATIC with their assignment inlined; RDS references become inline route configs. */
export function staticBootstrap(snap: Snapshot): Json {
  const routes = snap[ROUTE_TYPE]!;
  const cla = snap[ENDPOINT_TYPE]!;
  const inlineRds = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(inlineRds);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Json;
    const out: Json = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === 'rds') {
        const rc = routes.get(x.route_config_name);
        assert.ok(rc, `route ${x.route_config_name} is served`);
        out.route_config = rc;
      } else out[k] = inlineRds(x);
    }
    return out;
  };
  const clusters = [...snap[CLUSTER_TYPE]!.values()].map((c) => {
    if (c.type !== 'EDS') return c;
    const { eds_cluster_config: eds, ...rest } = c;
    const service = ((eds as Json).service_name as string | undefined) ?? (c.name as string);
    const la = cla.get(service);
    assert.ok(la, `assignment for ${String(c.name)} is served`);
    return { ...rest, type: 'STATIC', load_assignment: { ...la, cluster_name: c.name } };
  });
  return {
    node: { id: 'validate', cluster: 'validate' },
    static_resources: { listeners: [...snap[LISTENER_TYPE]!.values()].map(inlineRds), clusters },
  };
}

const envoy = spawnSync('envoy', ['--version'], { encoding: 'utf8' });
const haveEnvoy = envoy.status === 0;
const skip = !haveEnvoy && !process.env.CI ? 'envoy is not installed' : false;

const CASES: [string, () => MeshModel, Record<string, unknown>, TranslateOptions][] = [
  ['reviews pod, passthrough', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, { passthrough: true }],
  ['ratings pod, blackhole', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.31' }, { passthrough: false }],
  ['bind mode, local mesh web pod', localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }, { outbound: 'bind' }],
  ['reviews pod, access log to stdout as JSON', exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, { accessLog: { path: 'stdout', format: 'json' } }],
  ['bind mode, access log to a file as text', localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }, { outbound: 'bind', accessLog: { path: '/tmp/ferry-access.log', format: 'text' } }],
];

for (const [name, model, metadata, options] of CASES) {
  test(`envoy --mode validate accepts the sidecar snapshot: ${name}`, { skip, timeout: 60_000 }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-validate-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(staticBootstrap(translateForNode(model(), node('envoy', metadata), options)), null, 1));
    const r = spawnSync('envoy', ['--mode', 'validate', '-c', file, '--log-level', 'error', '--base-id', String(process.pid % 1000 + 100)], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(r.status, 0, `envoy rejected the snapshot:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /OK/);
  });
}

/** Envoy's verdict on a snapshot (status 0 and OK when it accepts it). */
function validate(dir: string, boot: Json): ReturnType<typeof spawnSync> {
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(boot, null, 1));
  return spawnSync('envoy', ['--mode', 'validate', '-c', file, '--log-level', 'error', '--base-id', String((process.pid % 1000) + 100)], { encoding: 'utf8', timeout: 50_000 });
}

test('envoy --mode validate accepts the default retries\' idempotent copies (a :method regex, reset), next to rules on one method', { skip, timeout: 60_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-validate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ns = 'i';
  const model = modelFrom([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { clusterIP: '10.96.7.1', ports: [{ name: 'http', port: 80 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: ns }, spec: { clusterIP: '10.96.7.2', ports: [{ name: 'http', port: 80 }] } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api', namespace: ns },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'api' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/v1' }, method: 'PUT', headers: [{ name: 'x-a', value: 'b' }] }], backendRefs: [{ name: 'web', port: 80 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/v1' }, queryParams: [{ name: 'q', value: '1' }] }], backendRefs: [{ name: 'api', port: 80 }] },
        ],
      },
    },
  ]);
  const snap = translateForNode(model, node('envoy', { NAMESPACE: ns, POD_IP: '10.1.7.1' }), {});
  const routes = [...snap[ROUTE_TYPE]!.values()].flatMap((rc) => (rc.virtual_hosts as Json[]).flatMap((vh) => vh.routes as Json[]));
  const copies = routes.filter((r) => (r.match.headers ?? []).some((h: Json) => h.name === ':method' && h.string_match.safe_regex));
  assert.ok(copies.length >= 2, `${copies.length} idempotent copies in the snapshot`);
  assert.ok(copies.every((r) => /(^|,)reset(,|$)/.test(r.route.retry_policy.retry_on)));
  const r = validate(dir, staticBootstrap(snap));
  assert.equal(r.status, 0, `envoy rejected the snapshot:\n${r.stdout}\n${r.stderr}`);
  assert.match(String(r.stdout) + String(r.stderr), /OK/);
});

// A Ferry sidecar's mTLS snapshot names the workload identity through SDS `default` / `ROOTCA`
// without an SDS source; given those as static secrets, Envoy accepts the same TLS shapes.
const MTLS_CASES: [string, Record<string, unknown>, TranslateOptions][] = [
  ['meshed web pod, capture, PERMISSIVE', { NAMESPACE: 'm', POD_IP: '127.0.3.1' }, { mtls: true }],
  ['meshed db pod, capture, STRICT', { NAMESPACE: 'm', POD_IP: '127.0.3.2' }, { mtls: true, mtlsMode: 'STRICT' }],
  ['meshed web pod, bind, PERMISSIVE', { NAMESPACE: 'm', POD_IP: '127.0.3.1' }, { mtls: true, outbound: 'bind' }],
];

for (const [name, metadata, options] of MTLS_CASES) {
  test(`envoy --mode validate accepts a Ferry sidecar's mTLS snapshot with the identity as static secrets: ${name}`, { skip, timeout: 60_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-envoy-validate-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pki = await makeTestPki();
    const id = await issueWorkload(pki.issuer, 'spiffe://cluster.local/ns/m/sa/web');
    const snap = translateForNode(meshedModel(), node('ferry', metadata), options);
    assert.ok([...snap[CLUSTER_TYPE]!.values()].some((c) => c.transport_socket !== undefined), 'the snapshot has mTLS clusters');
    const boot = staticBootstrap(snap);
    boot.static_resources.secrets = [
      { name: 'default', tls_certificate: { certificate_chain: { inline_string: id.chainPem }, private_key: { inline_string: id.keyPem } } },
      { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: id.trustBundlePem } } },
    ];
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(boot, null, 1));
    const r = spawnSync('envoy', ['--mode', 'validate', '-c', file, '--log-level', 'error', '--base-id', String((process.pid % 1000) + 100)], { encoding: 'utf8', timeout: 50_000 });
    assert.equal(r.status, 0, `envoy rejected the snapshot:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /OK/);
  });
}
