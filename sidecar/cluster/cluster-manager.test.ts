// Tests for the cluster manager: EDS assignments reach clusters by eds_cluster_config.service_name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateCluster, translateClusterLoadAssignment } from '../../src/config/bootstrap';
import { ProxyMetrics } from '../../src/observability/metrics';
import { Logger } from '../../src/observability/logger';
import { ClusterManager } from './cluster-manager';

const eds = (name: string, serviceName?: string) =>
  translateCluster(
    { name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { ...(serviceName ? { service_name: serviceName } : {}), eds_config: { ads: {} } } },
    'clusters[0]',
  );

test('an EDS assignment goes to every cluster naming its service, or named like it without a service_name', async (t) => {
  const m = new ClusterManager({ metrics: new ProxyMetrics({ defaultMetrics: false }), logger: new Logger('test', 'error'), now: () => performance.now(), random: Math.random });
  t.after(() => m.close());
  await m.addOrUpdate([eds('http', 'shared'), eds('tcp', 'shared'), eds('other')]);
  assert.deepEqual(m.edsNames().sort(), ['other', 'shared', 'shared']);
  const la = (port: number, name: string) =>
    translateClusterLoadAssignment({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } }] }] }, 'cla');
  m.assign('shared', la(80, 'shared'));
  m.assign('other', la(81, 'other'));
  const keys = (name: string) => m.get(name)!.allHosts.map((h) => h.key);
  assert.deepEqual([keys('http'), keys('tcp'), keys('other')], [['10.0.0.1:80'], ['10.0.0.1:80'], ['10.0.0.1:81']]);
});

test('a removed cluster stops exporting its endpoint gauges; a replaced one keeps them, and one added again exports afresh', async (t) => {
  const metrics = new ProxyMetrics({ defaultMetrics: false });
  const m = new ClusterManager({ metrics, logger: new Logger('test', 'error'), now: () => performance.now(), random: Math.random });
  t.after(() => m.close());
  const la = translateClusterLoadAssignment({ cluster_name: 'gone', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] }, 'cla');
  const healthy = async (cluster: string): Promise<number | undefined> =>
    (await metrics.endpoints.get()).values.find((v) => v.labels.destination_cluster === cluster && v.labels.health === 'healthy')?.value;
  await m.setDynamic([{ name: 'gone', config: eds('gone'), raw: 'a' }, { name: 'kept', config: eds('kept'), raw: 'k' }]);
  m.assign('gone', la);
  m.assign('kept', { ...la });
  assert.equal(await healthy('gone'), 1);
  await m.setDynamic([{ name: 'gone', config: eds('gone'), raw: 'b' }, { name: 'kept', config: eds('kept'), raw: 'k' }]);
  assert.equal(await healthy('gone'), 1, 'replaced under the same name: still exported, with the kept assignment');
  await m.setDynamic([{ name: 'kept', config: eds('kept'), raw: 'k' }]);
  assert.equal(await healthy('gone'), undefined, 'removed: no series left');
  assert.equal(await healthy('kept'), 1);
  await m.setDynamic([{ name: 'gone', config: eds('gone'), raw: 'c' }, { name: 'kept', config: eds('kept'), raw: 'k' }]);
  assert.equal(await healthy('gone'), 1, 'added again: exported with the last assignment');
});
