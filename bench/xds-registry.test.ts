// Tests for the generated xds-convergence registry: the real file-registry parser loads it, and edits stay distinct.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileRegistry } from '../src/controller/registry/file-registry';
import { Logger } from '../src/observability/logger';
import { changedIp, changedService, endpointSliceFile, endpointSliceYaml, podIp, servicesYaml, simulatedNodeId } from './xds-registry';

test('addresses: pod IPs are distinct per service and endpoint, change IPs never collide with them', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) for (const k of [0, 1] as const) seen.add(podIp(i, k));
  for (let g = 1; g <= 500; g++) seen.add(changedIp(g));
  assert.equal(seen.size, 2500);
  assert.equal(simulatedNodeId(1003, 1000), 'sidecar~10.1.0.4~svc-3-0-sim1003.bench~bench.svc.cluster.local');
  assert.notEqual(changedService(1, 1000), changedService(2, 1000));
});

test('the file registry loads the generated services and slices, and an edited slice changes the model', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-xds-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'services.yaml'), servicesYaml(20));
  for (let i = 0; i < 20; i++) writeFileSync(path.join(dir, endpointSliceFile(i)), endpointSliceYaml(i));
  const models: unknown[] = [];
  const reg = new FileRegistry({ path: dir, watch: false, logger: new Logger('test', 'off') });
  await reg.start((m) => models.push(m));
  t.after(() => reg.stop());
  const first = models.at(-1) as { version: string; services: { name: string }[] };
  assert.equal(first.services.length, 20);
  assert.match(endpointSliceYaml(7, 3), new RegExp(changedIp(3).replace(/\./g, '\\.')));
  writeFileSync(path.join(dir, endpointSliceFile(7)), endpointSliceYaml(7, 3));
  assert.equal(await reg.reload(), true);
  assert.notEqual((models.at(-1) as { version: string }).version, first.version);
});
