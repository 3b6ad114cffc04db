// Network RBAC in filter chains: accepted before the terminal filter, rejected where it cannot work.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateListener } from './listener';

const NET_RBAC = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const TCP = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' } };

function listener(filters: unknown[]): unknown {
  return { name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, filter_chains: [{ filters }] };
}

test('network RBAC before tcp_proxy becomes the chain networkRbac', () => {
  const l = translateListener(
    listener([{ name: 'envoy.filters.network.rbac', typed_config: { '@type': NET_RBAC, stat_prefix: 'in', rules: { action: 'DENY', policies: { p: { permissions: [{ destination_port: 5432 }], principals: [{ any: true }] } } } } }, TCP]),
    'l',
  );
  const rbac = l.filterChains[0].networkRbac!;
  assert.equal(rbac.statPrefix, 'in');
  assert.equal(rbac.rules!.action, 'DENY');
  assert.equal(l.filterChains[0].network.kind, 'tcp_proxy');
});

test('network RBAC rejections name the field', () => {
  assert.throws(() => translateListener(listener([{ name: 'x', typed_config: { '@type': NET_RBAC, rules: { action: 'ALLOW' } } }, TCP]), 'l'), /stat_prefix/);
  assert.throws(
    () =>
      translateListener(
        listener([{ name: 'x', typed_config: { '@type': NET_RBAC, stat_prefix: 's', rules: { action: 'ALLOW', policies: { p: { permissions: [{ url_path: { path: { prefix: '/' } } }], principals: [{ any: true }] } } } } }, TCP]),
        'l',
      ),
    /policies\.p: header and url_path permissions need the HTTP RBAC filter/,
  );
  assert.throws(() => translateListener(listener([TCP, TCP]), 'l'), /exactly one terminal network filter/);
});
