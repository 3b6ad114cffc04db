// Tests for Listener translation: listener filters, filter chain matches, chain validation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { translateListener } from './listener';
import { assertConfigError, hcm } from './config.fixture';

const TCP = (cluster = 'c') => ({
  name: 'envoy.filters.network.tcp_proxy',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster },
});
function listener(extra: Record<string, unknown> = {}) {
  return { name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: [{ filters: [TCP()] }], ...extra };
}

describe('listener', () => {
  test('defaults', () => {
    const l = translateListener(listener(), 'listeners[0]');
    assert.deepEqual(
      [l.useOriginalDst, l.tlsInspector, l.httpInspector, l.listenerFiltersTimeoutMs, l.continueOnListenerFiltersTimeout, l.defaultFilterChain],
      [false, false, false, 15_000, false, null],
    );
    assert.equal(l.filterChains[0].name, 'filter_chains[0]');
    assert.equal(l.filterChains[0].match.destinationPort, null);
    const n = l.filterChains[0].network;
    assert.ok(n.kind === 'tcp_proxy' && n.idleTimeoutMs === 3_600_000 && n.maxConnectAttempts === 1);
  });
  test('a listener without name is named after its address', () => {
    const { name: _n, ...rest } = listener();
    assert.equal(translateListener(rest, 'l').name, '0.0.0.0_15001');
  });
  test('listener filters by type URL or by name', () => {
    const l = translateListener(
      listener({
        listener_filters: [
          { name: 'a', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } },
          { name: 'envoy.filters.listener.http_inspector' },
          { name: 'envoy.filters.listener.original_dst' },
        ],
        listener_filters_timeout: '0s',
      }),
      'l',
    );
    assert.deepEqual([l.tlsInspector, l.httpInspector, l.useOriginalDst, l.listenerFiltersTimeoutMs], [true, true, true, 0]);
  });
  test('filter chain match fields', () => {
    const l = translateListener(
      listener({
        filter_chains: [
          {
            name: 'm',
            filter_chain_match: {
              destination_port: 8080,
              prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }],
              source_prefix_ranges: [{ address_prefix: '192.168.0.0', prefix_len: 16 }],
              source_ports: [1234],
              server_names: ['*.Example.com'],
              transport_protocol: 'tls',
              application_protocols: ['h2'],
            },
            filters: [TCP()],
          },
        ],
        default_filter_chain: { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm() }] },
      }),
      'l',
    );
    assert.deepEqual(l.filterChains[0].match, {
      destinationPort: 8080,
      prefixRanges: [{ address: '10.0.0.0', prefixLen: 8 }],
      sourcePrefixRanges: [{ address: '192.168.0.0', prefixLen: 16 }],
      sourcePorts: [1234],
      serverNames: ['*.example.com'],
      transportProtocol: 'tls',
      applicationProtocols: ['h2'],
    });
    assert.equal(l.filterChains[0].name, 'm');
    assert.equal(l.defaultFilterChain!.network.kind, 'http_connection_manager');
  });
  const bad: [string, Record<string, unknown>, string[]][] = [
    ['unknown listener filter', { listener_filters: [{ name: 'envoy.filters.listener.proxy_protocol' }] }, ['l.listener_filters[0]', 'not supported']],
    ['no filter chains', { filter_chains: [] }, ['l.filter_chains']],
    ['two network filters', { filter_chains: [{ filters: [TCP(), TCP()] }] }, ['l.filter_chains[0].filters']],
    ['identical matches', { filter_chains: [{ filters: [TCP()] }, { filters: [TCP()] }] }, ['l.filter_chains[1].filter_chain_match', 'same matching rules']],
    ['unsupported network filter', { filter_chains: [{ filters: [{ name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] }, ['l.filter_chains[0].filters[0].typed_config.@type']],
    ['hostname address', { address: { socket_address: { address: 'example.com', port_value: 1 } } }, ['l.address.socket_address.address']],
    ['bind_to_port false', { bind_to_port: false }, ['l.bind_to_port']],
    ['source_type', { filter_chains: [{ filter_chain_match: { source_type: 'EXTERNAL' }, filters: [TCP()] }] }, ['l.filter_chains[0].filter_chain_match.source_type']],
    ['bad destination port', { filter_chains: [{ filter_chain_match: { destination_port: 0 }, filters: [TCP()] }] }, ['l.filter_chains[0].filter_chain_match.destination_port']],
    ['socket options', { socket_options: [{ level: 1 }] }, ['l.socket_options', 'not supported']],
    ['a buffer limit of 0 (none)', { per_connection_buffer_limit_bytes: 0 }, ['l.per_connection_buffer_limit_bytes: 0 (no limit) is not supported']],
    ['tcp_proxy without cluster', { filter_chains: [{ filters: [{ ...TCP(), typed_config: { ...TCP().typed_config, cluster: undefined } }] }] }, ['l.filter_chains[0].filters[0].typed_config']],
    ['tcp_proxy idle timeout', { filter_chains: [{ filters: [{ ...TCP(), typed_config: { ...TCP().typed_config, idle_timeout: 'x' } }] }] }, ['typed_config.idle_timeout']],
  ];
  for (const [name, extra, frags] of bad) test(`rejects ${name}`, () => assertConfigError(() => translateListener(listener(extra), 'l'), ...frags));
});
