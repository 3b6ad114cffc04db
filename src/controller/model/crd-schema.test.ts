// The CRDs shipped in charts/ferry/crds agree with the validators: same fields, same enums.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { RETRY_ON } from '../../config/retry-policy';
import { parseObject } from './object-store';

const ROOT = join(__dirname, '..', '..', '..', '..');
type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[]; required?: string[] };

function schema(file: string): Schema {
  const crd = parse(readFileSync(join(ROOT, 'charts', 'ferry', 'crds', file), 'utf8'));
  return crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
}

/** Every key of `value` is declared in `s` (what the API server would otherwise prune). */
function conforms(value: unknown, s: Schema, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => conforms(v, s.items ?? {}, `${path}[${i}]`));
    return;
  }
  if (s.enum) assert.ok(s.enum.includes(value), `${path}: ${String(value)} not in the schema enum`);
  if (typeof value !== 'object' || value === null) return;
  for (const [k, v] of Object.entries(value)) {
    const p = s.properties?.[k];
    assert.ok(p, `${path}.${k} is not in the schema`);
    conforms(v, p, `${path}.${k}`);
  }
}

const TRAFFIC = schema('trafficpolicies.ferry.io.yaml');
const ACCESS = schema('accesspolicies.ferry.io.yaml');

test('the sample policies conform to the CRD schemas and pass the validators', () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'examples', 'mesh', 'policies.yaml'), 'utf8'));
  const list = Array.isArray(docs) ? docs : [];
  assert.equal(list.length, 2);
  for (const d of list) {
    const obj = d.toJS();
    conforms(obj.spec, obj.kind === 'TrafficPolicy' ? TRAFFIC : ACCESS, 'spec');
    assert.ok(parseObject(obj));
  }
});

test('the schema enums are the validator enums', () => {
  assert.deepEqual(TRAFFIC.properties!.retries.properties!.retryOn.items!.enum, [...RETRY_ON]);
  assert.deepEqual(TRAFFIC.properties!.loadBalancer.properties!.type.enum, ['RoundRobin', 'LeastRequest', 'Random', 'RingHash', 'Maglev']);
  assert.deepEqual(ACCESS.properties!.mtls.properties!.mode.enum, ['STRICT', 'PERMISSIVE']);
});

test('every schema field is read by the validator (a field the validator lacks would be rejected)', () => {
  const full = {
    targetRef: { group: '', kind: 'Service', name: 'web' },
    loadBalancer: { type: 'RingHash', hashOn: { header: 'x' } },
    connectionPool: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 1, connectTimeout: '1s' },
    outlierDetection: { enabled: true, consecutive5xx: 1, consecutiveGatewayErrors: 1, interval: '1s', baseEjectionTime: '1s', maxEjectionPercent: 10 },
    healthCheck: { http: { path: '/' }, interval: '1s', timeout: '1s', unhealthyThreshold: 1, healthyThreshold: 1 },
    retries: { retryOn: ['5xx'], attempts: 1, perTryTimeout: '1s', budget: { percent: 10, minRetryConcurrency: 1 } },
    timeout: '1s',
  };
  conforms(full, TRAFFIC, 'spec');
  assert.deepEqual(Object.keys(full).sort(), Object.keys(TRAFFIC.properties!).sort());
  assert.ok(parseObject({ apiVersion: 'ferry.io/v1alpha1', kind: 'TrafficPolicy', metadata: { name: 'a' }, spec: full }));
  const access = {
    targetRef: { group: '', kind: 'Service', name: 'web' },
    mtls: { mode: 'STRICT' },
    allow: { identities: ['spiffe://cluster.local/ns/a/sa/b'], namespaces: ['a'] },
    rateLimit: { requests: 1, interval: '1s', burst: 2 },
  };
  conforms(access, ACCESS, 'spec');
  assert.deepEqual(Object.keys(access).sort(), Object.keys(ACCESS.properties!).sort());
  assert.ok(parseObject({ apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name: 'a' }, spec: access }));
});
