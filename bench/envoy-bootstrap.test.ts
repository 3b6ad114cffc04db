// Tests for the generated Envoy v3 bootstraps (shape only; `envoy --mode validate` is not run here).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { httpHopBootstrap, manyServicesBootstrap, serviceHost, tcpHopBootstrap } from './envoy-bootstrap';

type Any = any;

test('HTTP hop: listener on loopback, HCM routes everything to the upstream cluster', () => {
  const doc: Any = parse(httpHopBootstrap({ listenPort: 10001, upstreamPort: 10002, adminPort: 10003 }));
  const listener = doc.static_resources.listeners[0];
  assert.deepEqual(listener.address, { socket_address: { address: '127.0.0.1', port_value: 10001 } });
  const hcm = listener.filter_chains[0].filters[0];
  assert.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
  assert.match(hcm.typed_config['@type'], /http_connection_manager\.v3\.HttpConnectionManager$/);
  assert.equal(hcm.typed_config.generate_request_id, false);
  assert.equal(hcm.typed_config.http_filters.at(-1).typed_config.dynamic_stats, false);
  const vhost = hcm.typed_config.route_config.virtual_hosts[0];
  assert.deepEqual(vhost.domains, ['*']);
  assert.deepEqual(vhost.routes[0], { match: { prefix: '/' }, route: { cluster: 'upstream' } });
  assert.deepEqual(doc.admin.address, { socket_address: { address: '127.0.0.1', port_value: 10003 } });
  const cluster = doc.static_resources.clusters[0];
  assert.equal(cluster.name, 'upstream');
  assert.equal(cluster.type, 'STATIC');
  assert.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 10002);
});

test('circuit breakers are raised to 1e9 for both priorities', () => {
  const doc: Any = parse(httpHopBootstrap({ listenPort: 1, upstreamPort: 2, adminPort: 5 }));
  const t = doc.static_resources.clusters[0].circuit_breakers.thresholds;
  assert.deepEqual(t.map((x: Any) => x.priority), ['DEFAULT', 'HIGH']);
  for (const x of t) {
    for (const k of ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries']) assert.equal(x[k], 1e9);
  }
});

test('TCP hop uses tcp_proxy to the upstream cluster', () => {
  const doc: Any = parse(tcpHopBootstrap({ listenPort: 20001, upstreamPort: 20002, adminPort: 20003 }));
  const filter = doc.static_resources.listeners[0].filter_chains[0].filters[0];
  assert.equal(filter.name, 'envoy.filters.network.tcp_proxy');
  assert.equal(filter.typed_config.cluster, 'upstream');
  assert.equal(doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 20002);
});

test('many services: one cluster and one virtual host per service, each routing to its own cluster', () => {
  const doc: Any = parse(manyServicesBootstrap({ listenPort: 3, upstreamPort: 4, adminPort: 5, services: 1000 }));
  const clusters = doc.static_resources.clusters;
  const vhosts = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
  assert.equal(clusters.length, 1000);
  assert.equal(vhosts.length, 1000);
  assert.equal(new Set(clusters.map((c: Any) => c.name)).size, 1000);
  assert.deepEqual(vhosts[737].domains, [serviceHost(737)]);
  assert.equal(vhosts[737].routes[0].route.cluster, 'svc-737');
  assert.equal(clusters[737].name, 'svc-737');
});

const TLS_FILES = { certFile: '/c/a-cert.pem', keyFile: '/c/a-key.pem', caFile: '/c/ca.pem' };

test('mTLS client hop (A): the cluster originates TLS with its certificate and checks the peer SPIFFE ID against the CA', () => {
  const doc: Any = parse(httpHopBootstrap({ listenPort: 1, upstreamPort: 2, adminPort: 3, tls: { role: 'client', ...TLS_FILES, peerSpiffeId: 'spiffe://cluster.local/ns/bench/sa/server' } }));
  assert.equal(doc.static_resources.listeners[0].filter_chains[0].transport_socket, undefined);
  const ts = doc.static_resources.clusters[0].transport_socket;
  assert.equal(ts.name, 'envoy.transport_sockets.tls');
  assert.match(ts.typed_config['@type'], /\.UpstreamTlsContext$/);
  const ctx = ts.typed_config.common_tls_context;
  assert.deepEqual(ctx.tls_certificates, [{ certificate_chain: { filename: '/c/a-cert.pem' }, private_key: { filename: '/c/a-key.pem' } }]);
  assert.deepEqual(ctx.validation_context, {
    trusted_ca: { filename: '/c/ca.pem' },
    match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/bench/sa/server' } }],
  });
  assert.deepEqual(ctx.alpn_protocols, ['http/1.1']);
});

test('mTLS server hop (B): the filter chain requires a client certificate with the client SPIFFE ID; TCP hops carry no ALPN', () => {
  const tls = { role: 'server' as const, ...TLS_FILES, peerSpiffeId: 'spiffe://cluster.local/ns/bench/sa/client' };
  for (const [doc, alpn] of [[parse(httpHopBootstrap({ listenPort: 1, upstreamPort: 2, adminPort: 3, tls })), ['http/1.1']], [parse(tcpHopBootstrap({ listenPort: 1, upstreamPort: 2, adminPort: 3, tls })), undefined]] as [Any, unknown][]) {
    assert.equal(doc.static_resources.clusters[0].transport_socket, undefined);
    const tc = doc.static_resources.listeners[0].filter_chains[0].transport_socket.typed_config;
    assert.match(tc['@type'], /\.DownstreamTlsContext$/);
    assert.equal(tc.require_client_certificate, true);
    assert.equal(tc.common_tls_context.validation_context.match_typed_subject_alt_names[0].matcher.exact, tls.peerSpiffeId);
    assert.deepEqual(tc.common_tls_context.alpn_protocols, alpn);
  }
});
