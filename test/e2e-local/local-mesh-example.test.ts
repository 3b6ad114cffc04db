// examples/mesh-local stays true: its registry loads in bind mode, each sidecar bootstrap loads, and
// every pod gets the listeners its README promises, all accepted by the sidecar's config translators.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBootstrapFile, translateCluster, translateClusterLoadAssignment, translateListener, translateRouteConfiguration } from '../../src/config/bootstrap';
import { parseNode } from '../../src/controller/ads/node-info';
import { BIND_SERVICE_CIDR } from '../../src/controller/command';
import type { MeshModel } from '../../src/controller/model/types';
import { FileRegistry } from '../../src/controller/registry/file-registry';
import { translateForNode } from '../../src/controller/translate/translate-for-node';
import { Logger } from '../../src/observability/logger';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';

const EXAMPLE = resolve(__dirname, '..', '..', '..', 'examples', 'mesh-local');
const ACCEPT = { [LISTENER_TYPE]: translateListener, [ROUTE_TYPE]: translateRouteConfiguration, [CLUSTER_TYPE]: translateCluster, [ENDPOINT_TYPE]: translateClusterLoadAssignment };

async function loadModel(): Promise<{ model: MeshModel; debug: Record<string, unknown> }> {
  const reg = new FileRegistry({ path: join(EXAMPLE, 'registry'), serviceCidr: BIND_SERVICE_CIDR, watch: false, logger: new Logger('test', 'off') });
  let model: MeshModel | null = null;
  await reg.start((m) => (model = m));
  await reg.stop();
  return { model: model!, debug: reg.debug() };
}

type Json = Record<string, any>;

test('examples/mesh-local: each pod\'s sidecar gets what the README describes', async () => {
  const { model, debug } = await loadModel();
  const allocated = (debug.allocations as { service: string; clusterIP: string }[]).find((x) => x.service === 'shop/web-v2');
  assert.match(allocated?.clusterIP ?? '', /^127\.10\./, 'web-v2 gets a loopback VIP');

  const want: Record<string, { listeners: string[]; app?: number }> = {
    'client-0': { listeners: ['127.10.0.12_80', `${allocated!.clusterIP}_80`].sort() },
    'web-0': { listeners: ['inbound_127.0.3.1_8080'], app: 19080 },
    'web-v2-0': { listeners: ['inbound_127.0.3.2_8080'], app: 19081 },
  };
  const files = readdirSync(join(EXAMPLE, 'sidecars')).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(files, Object.keys(want).map((n) => `${n}.yaml`).sort());
  for (const f of files) {
    const pod = f.replace(/\.yaml$/, '');
    const bootstrap = loadBootstrapFile(join(EXAMPLE, 'sidecars', f));
    assert.ok(bootstrap.dynamicResources, `${f} has dynamic_resources`);
    const node = parseNode({ ...bootstrap.node, user_agent_name: 'ferry' });
    const snap = translateForNode(model, node, { outbound: 'bind' });
    assert.deepEqual([...snap[LISTENER_TYPE]!.keys()].sort(), want[pod].listeners, pod);
    if (want[pod].app) {
      const c = snap[CLUSTER_TYPE]!.get('inbound|8080||') as Json;
      assert.equal(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, want[pod].app, `${pod}'s app port`);
    }
    for (const [type, fn] of Object.entries(ACCEPT)) {
      for (const [name, res] of snap[type as keyof typeof snap]!) assert.doesNotThrow(() => fn(res, `${pod} ${name}`), `${pod} ${name}`);
    }
  }
  // The canary split, as the client sidecar's route sees it.
  const client = translateForNode(model, parseNode({ id: 'c', metadata: { NAMESPACE: 'shop', POD_IP: '127.0.2.1' } }), { outbound: 'bind' });
  const route = (client[ROUTE_TYPE]!.get('127.10.0.12_80') as Json).virtual_hosts[0].routes[0].route;
  assert.deepEqual(route.weighted_clusters.clusters.map((c: Json) => c.weight), [90, 10]);
});
