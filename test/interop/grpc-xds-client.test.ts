// Acceptance 3: an @grpc/grpc-js-xds client with target xds:///web.shop.svc.cluster.local:PORT and a
// bootstrap pointing at `ferry controller`'s plaintext port: unary RPCs reach the registered gRPC
// servers, follow an EndpointSlice change, and honour an HTTPRoute's 80/20 weighted split.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { freeVip, getJson, registry, startController, tempDir, waitFor, writeAtomic } from '../e2e-local/mesh-processes';
import { ECHO } from './grpc-xds-child';

interface Batch {
  counts: Record<string, number>;
  errors: string[];
}
interface SynczProxy {
  id: string;
  kind: string;
  types: Record<string, { status: string }>;
}

async function grpcServer(t: { after(fn: () => unknown): void }, name: string): Promise<number> {
  const server = new grpc.Server();
  server.addService(ECHO, { Who: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) });
  const port = await new Promise<number>((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? j(err) : r(p))));
  t.after(() => server.forceShutdown());
  return port;
}

const SPLIT = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web-split, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: web}]
  rules:
  - backendRefs:
    - {name: web, port: PORT, weight: 80}
    - {name: web-v2, port: PORT, weight: 20}
`;

test('grpc-js-xds client: RPCs reach the registered servers, follow an endpoint change, honour an 80/20 split', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'ferry-interop-grpc-xds-');
  const reg = join(dir, 'registry');
  mkdirSync(reg);
  const a = await grpcServer(t, 'A');
  const b = await grpcServer(t, 'B');
  const c = await grpcServer(t, 'C');
  const web = await freeVip();
  const v2 = await freeVip();
  const port = web.port;
  writeFileSync(
    join(reg, 'services.yaml'),
    `${registry.service('web', 'shop', web.ip, port, 'grpc', 'grpc')}---\n${registry.service('web-v2', 'shop', v2.ip, port, 'grpc', 'grpc')}`,
  );
  const slice = join(reg, 'endpoints-web.yaml');
  writeFileSync(slice, registry.endpointSlice('web', 'shop', 'grpc', a, ['127.0.0.1']));
  writeFileSync(join(reg, 'endpoints-web-v2.yaml'), registry.endpointSlice('web-v2', 'shop', 'grpc', c, ['127.0.0.1']));

  const controller = await startController(t, reg, { plaintextXds: 0 });
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${controller.ports.plaintextXds}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'grpc-client-0', locality: {} },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) };
  delete env.GRPC_XDS_BOOTSTRAP;
  const child = spawn(process.execPath, [join(__dirname, 'grpc-xds-child.js'), `xds:///web.shop.svc.cluster.local:${port}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (x: Buffer) => (stderr += x.toString()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const batch = async (n: number): Promise<Batch> => {
    child.stdin.write(`${JSON.stringify({ n })}\n`);
    const next = await lines.next();
    if (next.done) throw new Error(`the client exited: ${stderr}`);
    return JSON.parse(next.value) as Batch;
  };

  try {
    // The first calls wait for the resolver; after that every call reaches A.
    const first = await batch(20);
    assert.deepEqual(first, { counts: { A: 20 }, errors: [] });
    const sync = await waitFor('the gRPC client SYNCED', async () => {
      const s = await getJson<SynczProxy[]>(controller.ports.admin, '/debug/syncz');
      const g = s.find((x) => x.id === 'grpc-client-0');
      return g && ['LDS', 'CDS', 'EDS'].every((ty) => g.types[ty]?.status === 'SYNCED') ? g : null;
    });
    assert.equal(sync.kind, 'grpc');

    // An endpoint change: A → B, with no failed call on the way.
    writeAtomic(slice, registry.endpointSlice('web', 'shop', 'grpc', b, ['127.0.0.1']));
    const errors: string[] = [];
    await waitFor('calls to reach B', async () => {
      const r = await batch(10);
      errors.push(...r.errors);
      return r.counts.B === 10;
    }, 10_000, 0);
    assert.deepEqual(errors, []);

    // A weighted split from an HTTPRoute: 80 % web (B), 20 % web-v2 (C).
    writeAtomic(join(reg, 'route.yaml'), SPLIT.replace(/PORT/g, String(port)));
    await waitFor('the split to reach C', async () => ((await batch(20)).counts.C ?? 0) > 0, 10_000, 0);
    const split = await batch(200);
    assert.deepEqual(split.errors, []);
    const toB = split.counts.B ?? 0;
    const toC = split.counts.C ?? 0;
    assert.equal(toB + toC, 200, JSON.stringify(split.counts));
    // Binomial(200, 0.8): mean 160, sd 5.7; 136–184 is beyond four sd either way.
    assert.ok(toB >= 136 && toB <= 184, `B ${toB}, C ${toC}`);
    t.diagnostic(`200 RPCs over the split: B ${toB}, C ${toC}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- controller ---\n${controller.log().slice(-3000)}\n--- client ---\n${stderr.slice(-3000)}`);
  } finally {
    child.stdin.end();
  }
});
