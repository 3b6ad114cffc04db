// Fuzz target: the Kubernetes YAML registry, from a file to the mesh model and the xDS every sidecar is served.
//
// Input: one flags byte (mTLS, bind mode, which pod asks), then a registry file's text (seeded with
// the example meshes). Expected: FerryError (a YAML syntax error or a bad object field, naming file
// and line; a clusterIP conflict). Asserted: for an accepted registry the controller translates a snapshot
// for a sidecar and a gRPC client without failing; every resource encodes to protobuf and decodes to
// the same object; and the Ferry sidecar's own translators accept every resource it is served.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { FileRegistry } from '../../src/controller/registry/file-registry';
import type { MeshModel } from '../../src/controller/model/types';
import { node } from '../../src/controller/translate/mesh-models.fixture';
import { translateForNode } from '../../src/controller/translate/translate-for-node';
import { FerryError } from '../../src/errors';
import { Logger } from '../../src/observability/logger';
import { decodeResource, encodeResource } from '../../src/xds/protos';
import { resourceTranslators } from '../../sidecar/xds/resource-translators';
import { expectOnlyAsync, invariant } from './support/fuzz-support';

const SIDECAR_TRANSLATORS: Record<string, (obj: unknown, path: string) => unknown> = resourceTranslators;

const quiet = new Logger('registry', 'error', () => undefined);
let dir: string | null = null;

function scratchDir(): string {
  if (dir === null) {
    const d = mkdtempSync(join(tmpdir(), 'ferry-fuzz-registry-'));
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
    dir = d;
  }
  return dir;
}

function checkSnapshot(model: MeshModel, flags: number, kind: 'ferry' | 'grpc'): void {
  const pods = [...model.podsByIp.entries()];
  const pod = pods.length > 0 ? pods[(flags >> 2) % pods.length] : null;
  const metadata = pod ? { NAMESPACE: pod[1].namespace, POD_IP: pod[0] } : { NAMESPACE: 'default', POD_IP: '10.1.0.1' };
  const options = { mtls: (flags & 1) === 1, outbound: flags & 2 ? ('bind' as const) : ('capture' as const) };
  const snapshot = translateForNode(model, node(kind, metadata), options);
  for (const [type, resources] of Object.entries(snapshot)) {
    for (const [name, res] of resources ?? []) {
      const path = `${type}[${name}]`;
      const back = decodeResource(encodeResource(type, res, path));
      if (kind === 'grpc') continue;
      const translate = SIDECAR_TRANSLATORS[type];
      if (translate === undefined) continue;
      translate(res, path);
      // The sidecar reads what came off the wire: that must pass too, and decode to a stable form.
      translate(back, path);
      invariant(isDeepStrictEqual(decodeResource(encodeResource(type, back, path)), back), `${path} changes on a second encode → decode`);
    }
  }
}

export async function fuzz(data: Buffer): Promise<void> {
  if (data.length === 0) return;
  const flags = data[0];
  const file = join(scratchDir(), 'registry.yaml');
  writeFileSync(file, data.subarray(1));
  const registry = new FileRegistry({ path: file, watch: false, logger: quiet });
  let model: MeshModel | null = null;
  const started = await expectOnlyAsync(() => registry.start((m) => (model = m)), FerryError);
  await registry.stop();
  if (started.error !== null) return;
  invariant(model !== null, 'start() resolved without a model');
  checkSnapshot(model, flags, 'ferry');
  checkSnapshot(model, flags, 'grpc');
}
