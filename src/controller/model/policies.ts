// Validators for Ferry's CRDs, ferry.io/v1alpha1 TrafficPolicy and AccessPolicy: every unknown field is rejected by name.

import { ConfigError } from '../../errors';
import { Reader } from '../../config/reader';
import { RETRY_ON } from '../../config/retry-policy';
import { inObject, objectId, optDurationField, positiveDurationField, readMeta } from './object-context';
import type {
  AccessPolicyObject,
  ConnectionPoolSpec,
  HashOn,
  HealthCheckSpec,
  LbType,
  OutlierSpec,
  RateLimitSpec,
  RetrySpec,
  TrafficPolicyObject,
} from './types';
import { DEFAULT_OUTLIER, DEFAULT_RETRIES } from './defaults';

export const FERRY_API_VERSION = 'ferry.io/v1alpha1';
const LB_TYPES: readonly LbType[] = ['RoundRobin', 'LeastRequest', 'Random', 'RingHash', 'Maglev'];
const U32 = 0xffffffff;

/** The top level of a CRD object: only apiVersion, kind, metadata, spec and status. */
function topLevel(obj: Record<string, unknown>): Reader {
  const r = new Reader(obj, '');
  r.ignore('apiVersion', 'kind', 'metadata', 'status');
  const spec = r.obj('spec');
  r.done();
  if (!spec) throw new ConfigError('spec', 'is required');
  return spec;
}

function targetRef(spec: Reader, kinds: readonly string[]): { kind: string; name: string } {
  const t = spec.obj('targetRef');
  if (!t) throw new ConfigError(spec.at('targetRef'), 'is required');
  const group = t.str('group', '');
  if (group !== '' && group !== 'core') throw new ConfigError(t.at('group'), `${group} is not supported (only the core group)`);
  const kind = t.str('kind', kinds[0]);
  if (!kinds.includes(kind)) throw new ConfigError(t.at('kind'), `${kind} is not a valid target kind (${kinds.join(' or ')})`);
  const name = t.requiredStr('name');
  t.done();
  return { kind, name };
}

function hashOn(r: Reader): HashOn {
  const out: HashOn = {
    header: r.optStr('header'),
    cookie: r.optStr('cookie'),
    queryParameter: r.optStr('queryParameter'),
    sourceIP: r.bool('sourceIP', false),
  };
  r.done();
  const n = [out.header, out.cookie, out.queryParameter].filter((x) => x !== null).length + (out.sourceIP ? 1 : 0);
  if (n !== 1) throw new ConfigError(r.path, 'exactly one of header, cookie, queryParameter, sourceIP is required');
  return out;
}

function connectionPool(r: Reader): ConnectionPoolSpec {
  const out: ConnectionPoolSpec = {
    maxConnections: r.optInt('maxConnections', 1, U32),
    maxPendingRequests: r.optInt('maxPendingRequests', 1, U32),
    maxRequests: r.optInt('maxRequests', 1, U32),
    maxRetries: r.optInt('maxRetries', 0, U32),
    connectTimeoutMs: r.has('connectTimeout') ? positiveDurationField(r, 'connectTimeout', 0) : null,
  };
  r.done();
  return out;
}

function outlier(r: Reader): OutlierSpec {
  const out: OutlierSpec = {
    enabled: r.bool('enabled', true),
    consecutive5xx: r.int('consecutive5xx', DEFAULT_OUTLIER.consecutive5xx, 0, U32),
    consecutiveGatewayErrors: r.int('consecutiveGatewayErrors', DEFAULT_OUTLIER.consecutiveGatewayErrors, 0, U32),
    intervalMs: positiveDurationField(r, 'interval', DEFAULT_OUTLIER.intervalMs),
    baseEjectionTimeMs: positiveDurationField(r, 'baseEjectionTime', DEFAULT_OUTLIER.baseEjectionTimeMs),
    maxEjectionPercent: r.int('maxEjectionPercent', DEFAULT_OUTLIER.maxEjectionPercent, 0, 100),
  };
  r.done();
  return out;
}

/** `healthCheck`: a check, or `{enabled: false}` to turn off the mesh default ('disabled'). */
function healthCheck(r: Reader): HealthCheckSpec | 'disabled' {
  if (r.has('enabled')) {
    const enabled = r.bool('enabled', true);
    if (!enabled) {
      r.done();
      return 'disabled';
    }
  }
  const kinds = (['http', 'tcp', 'grpc'] as const).filter((k) => r.has(k));
  if (kinds.length !== 1) throw new ConfigError(r.path, 'exactly one of http, tcp, grpc is required');
  const kind = kinds[0];
  const c = r.obj(kind)!;
  let path = '';
  if (kind === 'http') {
    path = c.str('path', '/');
    if (!path.startsWith('/')) throw new ConfigError(c.at('path'), 'must start with /');
  } else if (kind === 'grpc') {
    path = c.str('service');
  }
  c.done();
  const out: HealthCheckSpec = {
    kind,
    path,
    intervalMs: positiveDurationField(r, 'interval', 10_000),
    timeoutMs: positiveDurationField(r, 'timeout', 1000),
    unhealthyThreshold: r.int('unhealthyThreshold', 3, 1, U32),
    healthyThreshold: r.int('healthyThreshold', 1, 1, U32),
    meshDefault: false,
  };
  r.done();
  return out;
}

function retries(r: Reader): RetrySpec {
  const own = r.has('retryOn');
  const retryOn = own ? r.strList('retryOn') : [...DEFAULT_RETRIES.retryOn];
  retryOn.forEach((t, i) => {
    if (!(RETRY_ON as readonly string[]).includes(t)) throw new ConfigError(`${r.at('retryOn')}[${i}]`, `${t} is not a valid retry condition`);
  });
  const attempts = r.int('attempts', DEFAULT_RETRIES.attempts, 0, 10);
  const perTryTimeoutMs = optDurationField(r, 'perTryTimeout') ?? 0;
  let budget: RetrySpec['budget'] = null;
  const b = r.obj('budget');
  if (b) {
    budget = { percent: b.num('percent', 20), minRetryConcurrency: b.int('minRetryConcurrency', 3, 0, U32) };
    if (budget.percent < 0 || budget.percent > 100) throw new ConfigError(b.at('percent'), 'must be within 0-100');
    b.done();
  }
  r.done();
  // Without its own retryOn the policy keeps the default conditions, the idempotent-only reset too;
  // a retryOn it sets applies to every method and is all it retries.
  const idempotentRetryOn = own ? [] : [...DEFAULT_RETRIES.idempotentRetryOn];
  return { retryOn, idempotentRetryOn, attempts, perTryTimeoutMs, budget };
}

export function parseTrafficPolicy(obj: Record<string, unknown>): TrafficPolicyObject {
  const meta = readMeta(obj, 'TrafficPolicy', true);
  return inObject(objectId('TrafficPolicy', meta.namespace, meta.name), () => {
    const spec = topLevel(obj);
    const target = targetRef(spec, ['Service']).name;
    let loadBalancer: TrafficPolicyObject['spec']['loadBalancer'] = null;
    const lb = spec.obj('loadBalancer');
    if (lb) {
      const type = lb.enumOf('type', LB_TYPES, 'RoundRobin', 'load balancer type');
      const h = lb.obj('hashOn');
      const hash = h ? hashOn(h) : null;
      lb.done();
      if (hash && type !== 'RingHash' && type !== 'Maglev') throw new ConfigError(lb.at('hashOn'), `only applies to RingHash and Maglev, not ${type}`);
      if (!hash && (type === 'RingHash' || type === 'Maglev')) throw new ConfigError(lb.at('hashOn'), `is required for ${type}`);
      loadBalancer = { type, hashOn: hash };
    }
    const cp = spec.obj('connectionPool');
    const od = spec.obj('outlierDetection');
    const hc = spec.obj('healthCheck');
    const rt = spec.obj('retries');
    const out: TrafficPolicyObject = {
      kind: 'TrafficPolicy',
      name: meta.name,
      namespace: meta.namespace,
      target,
      spec: {
        loadBalancer,
        connectionPool: cp ? connectionPool(cp) : null,
        outlierDetection: od ? outlier(od) : null,
        healthCheck: hc ? healthCheck(hc) : null,
        retries: rt ? retries(rt) : null,
        timeoutMs: optDurationField(spec, 'timeout'),
      },
    };
    spec.done();
    return out;
  });
}

function rateLimit(r: Reader): RateLimitSpec {
  if (!r.has('requests')) throw new ConfigError(r.at('requests'), 'is required');
  const tokensPerFill = r.int('requests', 0, 1, U32);
  const fillIntervalMs = positiveDurationField(r, 'interval', 1000);
  if (fillIntervalMs < 50) throw new ConfigError(r.at('interval'), 'must be at least 50ms');
  const maxTokens = r.int('burst', tokensPerFill, 1, U32);
  r.done();
  if (maxTokens < tokensPerFill) throw new ConfigError(r.at('burst'), `must be at least requests (${tokensPerFill})`);
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

export function parseAccessPolicy(obj: Record<string, unknown>): AccessPolicyObject {
  const meta = readMeta(obj, 'AccessPolicy', true);
  return inObject(objectId('AccessPolicy', meta.namespace, meta.name), () => {
    const spec = topLevel(obj);
    const target = targetRef(spec, ['Service', 'Namespace']) as AccessPolicyObject['target'];
    if (target.kind === 'Namespace' && target.name !== meta.namespace) {
      throw new ConfigError(`${spec.at('targetRef')}.name`, `a policy in namespace ${meta.namespace} cannot target namespace ${target.name}`);
    }
    let mtlsMode: AccessPolicyObject['spec']['mtlsMode'] = null;
    const m = spec.obj('mtls');
    if (m) {
      mtlsMode = m.enumOf('mode', ['STRICT', 'PERMISSIVE'] as const, 'STRICT', 'mTLS mode');
      m.done();
    }
    let allowedIdentities: string[] = [];
    let allowedNamespaces: string[] = [];
    const a = spec.obj('allow');
    if (a) {
      allowedIdentities = a.strList('identities');
      allowedIdentities.forEach((s, i) => {
        if (!/^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/[^/]+$/.test(s)) {
          throw new ConfigError(`${a.at('identities')}[${i}]`, `${s} is not a SPIFFE ID (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)`);
        }
      });
      allowedNamespaces = a.strList('namespaces');
      a.done();
    }
    const rl = spec.obj('rateLimit');
    const out: AccessPolicyObject = {
      kind: 'AccessPolicy',
      name: meta.name,
      namespace: meta.namespace,
      target,
      spec: { mtlsMode, allowedIdentities, allowedNamespaces, rateLimit: rl ? rateLimit(rl) : null },
    };
    spec.done();
    return out;
  });
}
