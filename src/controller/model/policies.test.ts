// Tests for the object validators: one rejection per field, with the field's path in the message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../errors';
import { parseObject } from './object-store';
import type { AccessPolicyObject, HttpRouteObject, ServiceObject, TrafficPolicyObject } from './types';

const meta = { name: 'foo', namespace: 'default' };
const tp = (spec: Record<string, unknown>) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: meta, spec: { targetRef: { kind: 'Service', name: 'web' }, ...spec } });
const ap = (spec: Record<string, unknown>) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: meta, spec: { targetRef: { kind: 'Service', name: 'web' }, ...spec } });
const svc = (spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: meta, spec });
const route = (spec: Record<string, unknown>) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: meta,
  spec: { parentRefs: [{ kind: 'Service', name: 'web' }], ...spec },
});

function rejects(obj: unknown, message: string): void {
  assert.throws(() => parseObject(obj), (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

const REJECTIONS: [string, unknown, string][] = [
  ['misspelt retry field', tp({ retries: { attemps: 3 } }), 'TrafficPolicy default/foo: spec.retries.attemps: unknown field'],
  ['unknown spec field', tp({ timeouts: '1s' }), 'TrafficPolicy default/foo: spec.timeouts: unknown field'],
  ['unknown top-level field', { ...tp({}), extra: 1 }, 'TrafficPolicy default/foo: extra: unknown field'],
  ['bad retryOn token', tp({ retries: { retryOn: ['5xx', 'sometimes'] } }), 'TrafficPolicy default/foo: spec.retries.retryOn[1]: sometimes is not a valid retry condition'],
  ['bad duration', tp({ timeout: '5 seconds' }), 'TrafficPolicy default/foo: spec.timeout: "5 seconds" is not a valid duration (expected e.g. "10s", "500ms", "1m30s")'],
  ['attempts out of range', tp({ retries: { attempts: 11 } }), 'TrafficPolicy default/foo: spec.retries.attempts: 11 is out of range [0, 10]'],
  ['lb type', tp({ loadBalancer: { type: 'Fastest' } }), 'TrafficPolicy default/foo: spec.loadBalancer.type: Fastest is not a valid load balancer type'],
  ['ring hash without hashOn', tp({ loadBalancer: { type: 'RingHash' } }), 'TrafficPolicy default/foo: spec.loadBalancer.hashOn: is required for RingHash'],
  ['two hash keys', tp({ loadBalancer: { type: 'RingHash', hashOn: { header: 'a', cookie: 'b' } } }), 'TrafficPolicy default/foo: spec.loadBalancer.hashOn: exactly one of header, cookie, queryParameter, sourceIP is required'],
  ['max ejection percent', tp({ outlierDetection: { maxEjectionPercent: 150 } }), 'TrafficPolicy default/foo: spec.outlierDetection.maxEjectionPercent: 150 is out of range [0, 100]'],
  ['health check off with a check', tp({ healthCheck: { enabled: false, tcp: {} } }), 'TrafficPolicy default/foo: spec.healthCheck.tcp: unknown field'],
  ['health check kind', tp({ healthCheck: { interval: '1s' } }), 'TrafficPolicy default/foo: spec.healthCheck: exactly one of http, tcp, grpc is required'],
  ['target kind', tp({ targetRef: { kind: 'Deployment', name: 'x' } }), 'TrafficPolicy default/foo: spec.targetRef.kind: Deployment is not a valid target kind (Service)'],
  ['missing target', { ...tp({}), spec: {} }, 'TrafficPolicy default/foo: spec.targetRef: is required'],
  ['wrong apiVersion', { ...tp({}), apiVersion: 'ferry.io/v1' }, 'apiVersion: ferry.io/v1 is not supported for TrafficPolicy (expected ferry.io/v1alpha1)'],
  ['access: bad identity', ap({ allow: { identities: ['web'] } }), 'AccessPolicy default/foo: spec.allow.identities[0]: web is not a SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)'],
  ['access: mtls mode', ap({ mtls: { mode: 'DISABLE' } }), 'AccessPolicy default/foo: spec.mtls.mode: DISABLE is not a valid mTLS mode'],
  ['access: unknown field', ap({ rateLimit: { requests: 10, perSecond: true } }), 'AccessPolicy default/foo: spec.rateLimit.perSecond: unknown field'],
  ['access: other namespace', ap({ targetRef: { kind: 'Namespace', name: 'prod' } }), 'AccessPolicy default/foo: spec.targetRef.name: a policy in namespace default cannot target namespace prod'],
  ['access: fill interval', ap({ rateLimit: { requests: 10, interval: '10ms' } }), 'AccessPolicy default/foo: spec.rateLimit.interval: must be at least 50ms'],
  ['service: bad clusterIP', svc({ clusterIP: '10.0.0.300', ports: [{ port: 80 }] }), 'Service default/foo: spec.clusterIP: "10.0.0.300" is not an IP address'],
  ['service: port range', svc({ ports: [{ name: 'http', port: 70000 }] }), 'Service default/foo: spec.ports[0].port: 70000 is out of range [1, 65535]'],
  ['service: UDP', svc({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }), 'Service default/foo: spec.ports[0].protocol: UDP is not supported (only TCP)'],
  ['service: unnamed ports', svc({ ports: [{ port: 80 }, { name: 'b', port: 81 }] }), 'Service default/foo: spec.ports: every port must be named when there are several'],
  ['service: no name', { apiVersion: 'v1', kind: 'Service', metadata: {} }, 'Service (unnamed): metadata.name: is required'],
  ['route: gateway parent', route({ parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }] }), 'HTTPRoute default/foo: spec.parentRefs[0].kind: only Service parents (GAMMA) are supported; Gateways are not'],
  ['route: filters', route({ rules: [{ filters: [{ type: 'RequestRedirect' }] }] }), 'HTTPRoute default/foo: spec.rules[0].filters: is not supported by Ferry'],
  ['route: path type', route({ rules: [{ matches: [{ path: { type: 'Glob', value: '/x' } }] }] }), 'HTTPRoute default/foo: spec.rules[0].matches[0].path.type: Glob is not a valid path match type'],
  ['route: timeouts', route({ rules: [{ timeouts: { request: '1s', backendRequest: '2s' } }] }), 'HTTPRoute default/foo: spec.rules[0].timeouts.backendRequest: must not be longer than timeouts.request'],
  ['route: match typo', route({ rules: [{ matches: [{ header: [] }] }] }), 'HTTPRoute default/foo: spec.rules[0].matches[0].header: unknown field'],
  ['slice: no service label', { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, endpoints: [] }, 'EndpointSlice default/foo: metadata.labels.kubernetes.io/service-name: is required'],
];

for (const [name, obj, message] of REJECTIONS) {
  test(`rejects ${name}`, () => rejects(obj, message));
}

test('kinds the mesh does not read are ignored', () => {
  assert.equal(parseObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta }), null);
});

test('a full TrafficPolicy is read with durations in ms', () => {
  const p = parseObject(
    tp({
      loadBalancer: { type: 'RingHash', hashOn: { header: 'x-user' } },
      connectionPool: { maxConnections: 10, connectTimeout: '250ms' },
      outlierDetection: { consecutive5xx: 3, baseEjectionTime: '1m30s' },
      healthCheck: { grpc: { service: 'svc' }, interval: '2s' },
      retries: { retryOn: ['5xx'], attempts: 1, perTryTimeout: '500ms', budget: { percent: 25 } },
      timeout: '1h',
    }),
  ) as TrafficPolicyObject;
  assert.equal(p.target, 'web');
  assert.deepEqual(p.spec.loadBalancer, { type: 'RingHash', hashOn: { header: 'x-user', cookie: null, queryParameter: null, sourceIP: false } });
  assert.equal(p.spec.connectionPool?.connectTimeoutMs, 250);
  assert.equal(p.spec.connectionPool?.maxRequests, null);
  assert.equal(p.spec.outlierDetection?.baseEjectionTimeMs, 90_000);
  assert.equal(p.spec.outlierDetection?.maxEjectionPercent, 50);
  assert.deepEqual(p.spec.healthCheck, { kind: 'grpc', path: 'svc', intervalMs: 2000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 1, meshDefault: false });
  assert.deepEqual(p.spec.retries, { retryOn: ['5xx'], idempotentRetryOn: [], attempts: 1, perTryTimeoutMs: 500, budget: { percent: 25, minRetryConcurrency: 3 } });
  assert.equal(p.spec.timeoutMs, 3_600_000);
});

test('TrafficPolicy retries: its own retryOn is all it retries; without one, the default conditions with the idempotent-only reset', () => {
  const own = parseObject(tp({ retries: { retryOn: ['connect-failure'], attempts: 3 } })) as TrafficPolicyObject;
  assert.deepEqual(own.spec.retries?.retryOn, ['connect-failure']);
  assert.deepEqual(own.spec.retries?.idempotentRetryOn, []);
  const attemptsOnly = parseObject(tp({ retries: { attempts: 3 } })) as TrafficPolicyObject;
  assert.deepEqual(attemptsOnly.spec.retries?.retryOn, ['connect-failure', 'refused-stream']);
  assert.deepEqual(attemptsOnly.spec.retries?.idempotentRetryOn, ['reset']);
  assert.equal(attemptsOnly.spec.retries?.attempts, 3);
});

test('AccessPolicy rate limit: burst defaults to requests', () => {
  const p = parseObject(ap({ rateLimit: { requests: 10 } })) as AccessPolicyObject;
  assert.deepEqual(p.spec.rateLimit, { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 });
  assert.equal(p.spec.mtlsMode, null);
});

test('Service port protocols from appProtocol and name prefix', () => {
  const s = parseObject(
    svc({
      ports: [
        { name: 'http-web', port: 80 },
        { name: 'grpc', port: 81 },
        { name: 'x', port: 82, appProtocol: 'kubernetes.io/h2c' },
        { name: 'tcp-db', port: 83 },
        { name: 'metrics', port: 84 },
        { name: 'web', port: 85, appProtocol: 'http' },
        { name: 'tls', port: 86, targetPort: 'https' },
      ],
    }),
  ) as ServiceObject;
  assert.deepEqual(s.ports.map((p) => p.protocol), ['http', 'grpc', 'http2', 'tcp', 'unknown', 'http', 'tcp']);
  assert.equal(s.ports[6].targetPort, 'https');
  assert.equal(s.clusterIP, null);
});

test('HTTPRoute: a rule without matches matches every path; backends default namespace and weight', () => {
  const r = parseObject(route({ rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] })) as HttpRouteObject;
  assert.deepEqual(r.rules[0].matches, [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], method: null }]);
  assert.deepEqual(r.rules[0].backendRefs, [{ name: 'web', namespace: 'default', port: 80, weight: 1 }]);
  assert.deepEqual(r.parentRefs, [{ name: 'web', namespace: 'default', port: null }]);
});
