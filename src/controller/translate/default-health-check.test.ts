// The mesh default health check (decision 0028): on HTTP ports without a policy check, off on request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_TYPE } from '../../xds/type-urls';
import { modelFrom, node } from './mesh-models.fixture';
import { translateForNode } from './translate-for-node';

type Json = Record<string, any>;
const svc = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's', namespace: 'n' },
  spec: { clusterIP: '10.96.5.5', ports: [{ name: 'http', port: 80 }, { name: 'tcp-db', port: 5432 }] },
};
const policy = (healthCheck: unknown) => ({
  apiVersion: 'ferry.io/v1alpha1',
  kind: 'TrafficPolicy',
  metadata: { name: 'p', namespace: 'n' },
  spec: { targetRef: { kind: 'Service', name: 's' }, healthCheck },
});
const HTTP = 'outbound|80||s.n.svc.cluster.local';
const TCP = 'outbound|5432||s.n.svc.cluster.local';

function cluster(raw: unknown[], name: string): Json {
  const snap = translateForNode(modelFrom(raw), node('ferry', { NAMESPACE: 'n' }));
  const c = snap[CLUSTER_TYPE]?.get(name);
  assert.ok(c, `${name} is served`);
  return c as Json;
}

test('an HTTP port without a policy gets GET / every 5 s, 200-499 healthy, checked while idle', () => {
  assert.deepEqual(cluster([svc], HTTP).health_checks, [{
    timeout: '1s',
    interval: '5s',
    interval_jitter_percent: 20,
    unhealthy_threshold: 2,
    healthy_threshold: 1,
    no_traffic_interval: '5s',
    no_traffic_healthy_interval: '10s',
    // The service's own name: the cluster name's '|' is no valid :authority.
    http_health_check: { path: '/', host: 's.n.svc.cluster.local', expected_statuses: [{ start: 200, end: 500 }] },
  }]);
  assert.equal(cluster([svc], HTTP).ignore_health_on_host_removal, true);
});

test('a TCP port gets no default check', () => {
  assert.equal(cluster([svc], TCP).health_checks, undefined);
});

test('a policy without a health check keeps the default; one with a check overrides it', () => {
  const noCheck = { ...policy(undefined), spec: { targetRef: { kind: 'Service', name: 's' }, timeout: '3s' } };
  assert.equal(cluster([svc, noCheck], HTTP).health_checks[0].no_traffic_interval, '5s');
  const own = cluster([svc, policy({ http: { path: '/healthz' }, interval: '2s' })], HTTP).health_checks;
  assert.equal(own.length, 1);
  assert.equal(own[0].http_health_check.path, '/healthz');
  assert.equal(own[0].interval, '2s');
  assert.equal(own[0].no_traffic_interval, undefined);
});

test('healthCheck: {enabled: false} turns the default off', () => {
  const c = cluster([svc, policy({ enabled: false })], HTTP);
  assert.equal(c.health_checks, undefined);
  assert.equal(c.ignore_health_on_host_removal, undefined);
});
