// Tests for the controller's access logs: every HCM and tcp_proxy of a sidecar logs, gRPC clients get none,
// the served listeners pass the sidecar's own config boundary, and shared listeners stay shared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateListener } from '../../config/bootstrap';
import type { HttpConnectionManagerConfig, TcpProxyConfig } from '../../config/types';
import { LISTENER_TYPE } from '../../xds/type-urls';
import { exampleModel, localMeshModel, node } from './mesh-models.fixture';
import { JSON_ACCESS_LOG_FIELDS } from './access-log';
import { translateForNode } from './translate-for-node';
import { TranslationCache } from './translation-cache';

type Json = Record<string, unknown>;

function networkFilters(listener: Json): Json[] {
  const chains = [...((listener.filter_chains as Json[] | undefined) ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain as Json] : [])];
  return chains.flatMap((c) => (c.filters as Json[]) ?? []);
}

test('with --access-log every HCM and tcp_proxy of a sidecar logs once, and the sidecar accepts it', () => {
  for (const [model, metadata, outbound] of [
    [exampleModel, { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }, 'capture'],
    [localMeshModel, { NAMESPACE: 'shop', POD_IP: '127.0.3.1', APP_PORTS: '8080:18080' }, 'bind'],
  ] as const) {
    const snap = translateForNode(model(), node('ferry', metadata), { outbound, accessLog: { path: 'stdout', format: 'json' } });
    let filters = 0;
    for (const [name, l] of snap[LISTENER_TYPE]!) {
      for (const f of networkFilters(l)) {
        const logs = (f.typed_config as Json).access_log as Json[];
        assert.equal(logs.length, 1, `${name}: one logger per filter`);
        filters++;
      }
      const parsed = translateListener(l, `listeners[${name}]`);
      for (const chain of [...parsed.filterChains, ...(parsed.defaultFilterChain ? [parsed.defaultFilterChain] : [])]) {
        const n: HttpConnectionManagerConfig | TcpProxyConfig = chain.network;
        assert.deepEqual(n.accessLogs.map((a) => [a.target.kind, a.format.kind]), [['stdout', 'json']]);
        assert.deepEqual(n.accessLogs[0]!.format.kind === 'json' && n.accessLogs[0]!.format.fields, JSON_ACCESS_LOG_FIELDS);
      }
    }
    assert.ok(filters > 0, `${outbound}: some HCM or tcp_proxy was served`);
  }
});

test('without --access-log nothing logs; gRPC clients never get a logger; logged listeners are shared like the rest', () => {
  const model = exampleModel();
  const plain = translateForNode(model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }));
  for (const l of plain[LISTENER_TYPE]!.values()) for (const f of networkFilters(l)) assert.equal((f.typed_config as Json).access_log, undefined);
  const grpc = translateForNode(model, node('grpc', { NAMESPACE: 'demo' }), { accessLog: { path: 'stdout', format: 'text' } });
  assert.doesNotMatch(JSON.stringify([...grpc[LISTENER_TYPE]!.values()]), /access_log/);
  const cache = new TranslationCache();
  const opts = { accessLog: { path: '/var/log/ferry.log', format: 'text' as const } };
  const a = translateForNode(model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }), opts, cache);
  const b = translateForNode(model, node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }), opts, cache);
  assert.equal(a[LISTENER_TYPE], b[LISTENER_TYPE], 'the same logged map for the same listeners');
  assert.match(JSON.stringify([...a[LISTENER_TYPE]!.values()]), /"path":"\/var\/log\/ferry.log"/);
});
