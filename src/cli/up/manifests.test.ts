// Reading manifests for ferry up: the shop example loads, and bad manifests fail naming file, line and field.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { FerryError } from '../../errors';
import { readManifests } from './manifests';

const SHOP = resolve(__dirname, '..', '..', '..', '..', 'examples', 'shop');

test('examples/shop: the namespaces, the pods of every Deployment and the Pod, and the mesh objects', () => {
  const m = readManifests([SHOP]);
  assert.deepEqual(Object.fromEntries(m.namespaces), { shop: { 'ferry.io/inject': 'enabled' }, legacy: {} });
  assert.deepEqual(m.pods.map((p) => p.pod.metadata.name), ['frontend-0', 'catalog-v1-0', 'catalog-v1-flaky-0', 'catalog-v2-0', 'cart-0', 'store-0', 'ledger-0', 'loadgen']);
  assert.deepEqual(m.meshObjects.map((o) => o.kind).sort(), ['AccessPolicy', 'HTTPRoute', 'Namespace', 'Namespace', 'Service', 'Service', 'Service', 'Service', 'Service', 'Service', 'Service', 'TrafficPolicy', 'TrafficPolicy']);
  assert.ok(m.pods.every((p) => p.sourceDir === SHOP));
});

const POD = `apiVersion: v1
kind: Pod
metadata: {name: one, namespace: shop}
spec:
  containers:
  - name: app
    command: [node, app.js]
`;

const cases: [string, string, RegExp][] = [
  ['an unsupported container field', `${POD}    volumeMounts: []\n`, /bad\.yaml:8: document 1: Pod shop\/one: spec\.containers\[0\]\.volumeMounts: is not supported by ferry up \[FERRY_ERR_UNSUPPORTED\]$/],
  ['a kind ferry up does not run', 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n', /bad\.yaml:2: document 1: StatefulSet default\/db: kind: StatefulSet is not supported by ferry up .*\[FERRY_ERR_UNSUPPORTED\]$/],
  ['a bad Service (the controller\'s own validator)', 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\nspec:\n  ports: [{port: 70000}]\n', /bad\.yaml:5: document 1: .*Service shop\/s: spec\.ports\[0\]\.port/],
  ['YAML syntax', 'kind: [\n', /bad\.yaml:\d+:\d+: document 1:/],
  ['the same object twice', `${POD}---\n${POD}`, /document 2: Pod shop\/one: is defined twice/],
];

for (const [name, text, want] of cases) {
  test(`a bad manifest fails naming the file, line and field: ${name}`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-up-manifest-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bad.yaml'), text);
    assert.throws(() => readManifests([dir]), (err: unknown) => {
      assert.ok(err instanceof FerryError, String(err));
      assert.match(`${err.message} [${err.code}]`, want);
      return true;
    });
  });
}
