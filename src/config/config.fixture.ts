// Test helpers: a minimal valid bootstrap to mutate, and an assertion on translation errors.

import assert from 'node:assert/strict';
import { ConfigError } from '../errors';

export const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

export function staticCluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }],
    },
    ...extra,
  };
}

export function hcm(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@type': HCM_TYPE,
    stat_prefix: 'http',
    route_config: {
      name: 'local',
      virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }],
    },
    http_filters: [ROUTER],
    ...extra,
  };
}

/** A valid bootstrap: one HTTP listener routing to one STATIC cluster named backend. */
export function bootstrap(): Record<string, any> {
  return {
    static_resources: {
      listeners: [
        {
          name: 'l0',
          address: { socket_address: { address: '127.0.0.1', port_value: 10000 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm() }] }],
        },
      ],
      clusters: [staticCluster('backend')],
    },
  };
}

/** Asserts fn throws a ConfigError whose message contains every fragment (path first, usually). */
export function assertConfigError(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}
