// Table tests for mesh mTLS and authorization in the translation: outbound TLS with SPIFFE checks, inbound STRICT/PERMISSIVE, RBAC.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateCluster, translateListener } from '../../config/bootstrap';
import { FilterChainMatcher } from '../../../sidecar/listener/filter-chain-match';
import { CLUSTER_TYPE, LISTENER_TYPE } from '../../xds/type-urls';
import type { MeshModel } from '../model/types';
import type { Snapshot } from '../types';
import { modelFrom, node } from './mesh-models.fixture';
import { translateForNode, type TranslateOptions } from './translate-for-node';

type Json = Record<string, any>;

const NS = 'shop';
const TD = 'cluster.local';
const WEB_ID = `spiffe://${TD}/ns/${NS}/sa/web`;
const WEB2_ID = `spiffe://${TD}/ns/${NS}/sa/web-canary`;
const WEB = 'outbound|80||web.shop.svc.cluster.local';
const RAW = 'outbound|7000||raw.shop.svc.cluster.local';
const RAW_TCP = 'outbound|7000|tcp|raw.shop.svc.cluster.local';
const DB = 'outbound|5432||db.shop.svc.cluster.local';

/**
 * web (HTTP, two pods with two service accounts, STRICT, allow client + namespace ops), raw (unknown
 * protocol, default mode), db (TCP, allow client only), legacy (endpoint without a known Pod).
 */
function meshModel(access: Record<string, Json | null> = {}): MeshModel {
  const svc = (name: string, clusterIP: string, ports: unknown[]) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { clusterIP, ports } });
  const pod = (name: string, ip: string, sa: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { serviceAccountName: sa }, status: { podIP: ip } });
  const slice = (service: string, portName: string, port: number, eps: [string, string | null][]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: portName, port }],
    endpoints: eps.map(([ip, podName]) => ({ addresses: [ip], ...(podName ? { targetRef: { kind: 'Pod', name: podName, namespace: NS } } : {}) })),
  });
  const policy = (name: string, spec: Json) => ({ apiVersion: 'ferry.io/v1alpha1', kind: 'AccessPolicy', metadata: { name, namespace: NS }, spec: { targetRef: { kind: 'Service', name }, ...spec } });
  const defaults: Record<string, Json | null> = {
    web: { mtls: { mode: 'STRICT' }, allow: { identities: [`spiffe://${TD}/ns/${NS}/sa/client`], namespaces: ['ops'] } },
    db: { allow: { identities: [`spiffe://${TD}/ns/${NS}/sa/client`] } },
    ...access,
  };
  return modelFrom([
    svc('web', '10.96.0.12', [{ name: 'http', port: 80, targetPort: 8080 }]),
    slice('web', 'http', 8080, [['10.1.0.1', 'web-0'], ['10.1.0.2', null]]),
    pod('web-0', '10.1.0.1', 'web'),
    pod('web-canary-0', '10.1.0.2', 'web-canary'),
    svc('raw', '10.96.0.14', [{ name: 'p', port: 7000 }]),
    slice('raw', 'p', 7000, [['10.1.0.1', 'web-0']]),
    svc('db', '10.96.0.15', [{ name: 'tcp-pg', port: 5432 }]),
    slice('db', 'tcp-pg', 5432, [['10.1.0.1', 'web-0']]),
    svc('legacy', '10.96.0.16', [{ name: 'http', port: 80 }]),
    slice('legacy', 'http', 80, [['10.2.0.9', null]]),
    ...Object.entries(defaults).filter(([, s]) => s !== null).map(([name, spec]) => policy(name, spec!)),
  ]);
}

const MTLS: TranslateOptions = { mtls: true };
const webPod = (opts: TranslateOptions = MTLS, kind: 'ferry' | 'envoy' = 'ferry', model = meshModel()): Snapshot =>
  translateForNode(model, node(kind, { NAMESPACE: NS, POD_IP: '10.1.0.1' }), opts);

function get(snap: Snapshot, type: keyof Snapshot, name: string): Json {
  const r = snap[type]?.get(name);
  assert.ok(r, `${name} is served (have ${[...(snap[type]?.keys() ?? [])].join(', ')})`);
  return r as Json;
}

function chainsByName(l: Json): Record<string, Json> {
  return Object.fromEntries((l.filter_chains as Json[]).map((c) => [c.name, c]));
}

test('outbound: a meshed HTTP port gets mTLS with the SPIFFE IDs behind its endpoints, SNI, ALPN h2 and HTTP/2', () => {
  const c = get(webPod(), CLUSTER_TYPE, WEB);
  const ts = c.transport_socket;
  assert.equal(ts.name, 'envoy.transport_sockets.tls');
  assert.equal(ts.typed_config['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  assert.equal(ts.typed_config.sni, 'outbound_.80_._.web.shop.svc.cluster.local');
  const ctx = ts.typed_config.common_tls_context;
  assert.deepEqual(ctx.alpn_protocols, ['h2']);
  assert.deepEqual(ctx.tls_certificate_sds_secret_configs, [{ name: 'default' }]);
  // web-0 through targetRef, web-canary-0 found by its IP.
  assert.deepEqual(ctx.combined_validation_context, {
    default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: WEB_ID } }, { san_type: 'URI', matcher: { exact: WEB2_ID } }] },
    validation_context_sds_secret_config: { name: 'ROOTCA' },
  });
  assert.deepEqual(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config, { http2_protocol_options: {} });
  // What the sidecar makes of it.
  const cfg = translateCluster(c, 'c');
  assert.equal(cfg.tls?.workloadCertificate, true);
  assert.equal(cfg.tls?.workloadTrustBundle, true);
  assert.deepEqual(cfg.tls?.matchSubjectAltNames.map((m) => m.value), [WEB_ID, WEB2_ID]);
  assert.ok(cfg.http2);
});

test('outbound: TCP ports get mTLS without ALPN; unknown ports split HTTP (h2) and an opaque twin; non-mesh endpoints stay plaintext', () => {
  const snap = webPod();
  const db = get(snap, CLUSTER_TYPE, DB);
  assert.equal(db.transport_socket.typed_config.common_tls_context.alpn_protocols, undefined);
  assert.equal(db.typed_extension_protocol_options, undefined);
  const raw = get(snap, CLUSTER_TYPE, RAW);
  assert.deepEqual(raw.transport_socket.typed_config.common_tls_context.alpn_protocols, ['h2']);
  const twin = get(snap, CLUSTER_TYPE, RAW_TCP);
  assert.deepEqual(twin.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: RAW });
  assert.equal(twin.transport_socket.typed_config.common_tls_context.alpn_protocols, undefined);
  assert.equal(twin.typed_extension_protocol_options, undefined);
  assert.equal(translateCluster(twin, 'twin').edsServiceName, RAW);
  // The outbound listener's TCP chain for raw uses the twin; its HTTP chain goes through RDS to the main cluster.
  const out = chainsByName(get(snap, LISTENER_TYPE, 'outbound'));
  assert.equal(out['10.96.0.14_7000_tcp'].filters[0].typed_config.cluster, RAW_TCP);
  assert.equal(out['10.96.0.15_5432'].filters[0].typed_config.cluster, DB);
  assert.equal(get(snap, CLUSTER_TYPE, 'outbound|80||legacy.shop.svc.cluster.local').transport_socket, undefined);
  // Bind mode: the bound TCP listener uses the twin too.
  const bound = translateForNode(meshModel(), node('ferry', { NAMESPACE: NS, POD_IP: '127.0.9.9' }), { ...MTLS, outbound: 'bind' });
  assert.equal(bound[CLUSTER_TYPE]!.has(RAW_TCP), true);
});

test('without a CA, for Envoy sidecars and for gRPC clients: no TLS, no twin', () => {
  for (const [what, snap] of [
    ['no CA', webPod({})],
    ['Envoy sidecar', webPod(MTLS, 'envoy')],
    ['gRPC client', translateForNode(meshModel(), node('grpc'), MTLS)],
  ] as const) {
    for (const [name, c] of snap[CLUSTER_TYPE]!) assert.equal((c as Json).transport_socket, undefined, `${what}: ${name}`);
    assert.equal(snap[CLUSTER_TYPE]!.has(RAW_TCP), false, what);
  }
});

test('inbound STRICT (web, port 8080): one mTLS chain that every connection meets, SAN in the trust domain, RBAC before the router', () => {
  const l = get(webPod(), LISTENER_TYPE, 'inbound');
  const web = (l.filter_chains as Json[]).filter((c) => c.filter_chain_match.destination_port === 8080);
  assert.deepEqual(web.map((c) => [c.name, c.filter_chain_match]), [['inbound_8080_mtls', { destination_port: 8080 }]]);
  const tls = web[0].transport_socket.typed_config;
  assert.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
  assert.equal(tls.require_client_certificate, true);
  assert.deepEqual(tls.common_tls_context, {
    alpn_protocols: ['h2', 'http/1.1'],
    tls_certificate_sds_secret_configs: [{ name: 'default' }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
      validation_context_sds_secret_config: { name: 'ROOTCA' },
    },
  });
  const filters = web[0].filters[0].typed_config.http_filters as Json[];
  assert.deepEqual(filters.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.router']);
  assert.deepEqual(filters[0].typed_config.rules, {
    action: 'ALLOW',
    policies: {
      'shop/web': {
        permissions: [{ any: true }],
        principals: [
          { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/shop/sa/client' } } },
          { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/ops/' } } },
        ],
      },
    },
  });
});

test('inbound PERMISSIVE: mTLS chains for transport_protocol tls next to plaintext ones; TCP with allow rules takes only allowed certificates', () => {
  const l = get(webPod(), LISTENER_TYPE, 'inbound');
  const c = chainsByName(l);
  // raw (unknown protocol, default PERMISSIVE, no allow rules).
  assert.deepEqual(c.inbound_7000_mtls_http.filter_chain_match, { destination_port: 7000, transport_protocol: 'tls', application_protocols: ['h2'] });
  assert.equal(c.inbound_7000_mtls_http.filters[0].name, 'envoy.filters.network.http_connection_manager');
  assert.deepEqual(c.inbound_7000_mtls_tcp.filter_chain_match, { destination_port: 7000, transport_protocol: 'tls' });
  assert.equal(c.inbound_7000_mtls_tcp.filters[0].name, 'envoy.filters.network.tcp_proxy');
  assert.deepEqual(c.inbound_7000_http.filter_chain_match, { destination_port: 7000, application_protocols: ['http/1.1', 'h2c'] });
  assert.equal(c.inbound_7000_tcp.transport_socket, undefined);
  // db (TCP, allow rules): plaintext has no identity, so only mTLS from the allowed SPIFFE ID.
  const db = (l.filter_chains as Json[]).filter((x) => x.filter_chain_match.destination_port === 5432);
  assert.deepEqual(db.map((x) => x.name), ['inbound_5432_mtls']);
  assert.deepEqual(db[0].filter_chain_match, { destination_port: 5432 });
  assert.deepEqual(db[0].transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
    { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/shop/sa/client' } },
  ]);
  assert.equal(db[0].transport_socket.typed_config.common_tls_context.alpn_protocols, undefined);
});

test('the mesh-wide default mode applies where no AccessPolicy covers the service; a policy\'s own mode wins', () => {
  const m = meshModel({ web: { mtls: { mode: 'PERMISSIVE' } } });
  const l = get(webPod({ ...MTLS, mtlsMode: 'STRICT' }, 'ferry', m), LISTENER_TYPE, 'inbound');
  const names = (l.filter_chains as Json[]).map((c) => c.name);
  assert.deepEqual(names.filter((n) => n.startsWith('inbound_7000')), ['inbound_7000_mtls_http', 'inbound_7000_mtls_tcp'], 'raw: STRICT by default');
  assert.deepEqual(chainsByName(l).inbound_7000_mtls_tcp.filter_chain_match, { destination_port: 7000 });
  assert.deepEqual(names.filter((n) => n.startsWith('inbound_8080')), ['inbound_8080_mtls', 'inbound_8080'], 'web: its policy says PERMISSIVE');
  // No allow rules now: no RBAC filter.
  assert.deepEqual(chainsByName(l).inbound_8080.filters[0].typed_config.http_filters.map((f: Json) => f.name), ['envoy.filters.http.router']);
});

test('a policy with allow rules but no mode keeps the mesh-wide STRICT default', () => {
  // db's policy only allows an identity; under --mtls-mode STRICT its port must stay STRICT.
  const l = get(webPod({ ...MTLS, mtlsMode: 'STRICT' }), LISTENER_TYPE, 'inbound');
  const names = (l.filter_chains as Json[]).map((c) => c.name);
  const db = names.filter((n) => n.startsWith('inbound_5432'));
  assert.ok(db.length > 0 && db.every((n) => n.includes('mtls')), `db chains: ${db.join(', ')}`);
});

/** Which chain the sidecar's own matcher picks for a connection to `port`. */
function pick(l: Json, port: number, transport: 'tls' | 'raw_buffer', alpn: string[]): string | null {
  const cfg = translateListener(l, 'l');
  const fc = new FilterChainMatcher(cfg).select({
    destinationIp: '10.1.0.1',
    destinationPort: port,
    sourceIp: '10.1.0.7',
    sourcePort: 40000,
    serverName: null,
    transportProtocol: transport,
    applicationProtocols: alpn,
  });
  return fc ? fc.name : null;
}

test('chain selection by the sidecar: STRICT leaves plaintext nowhere but a TLS handshake; PERMISSIVE tells TLS from plaintext', () => {
  const strict = get(webPod({ ...MTLS, mtlsMode: 'STRICT' }), LISTENER_TYPE, 'inbound');
  const permissive = get(webPod(), LISTENER_TYPE, 'inbound');
  const cases: [string, Json, number, 'tls' | 'raw_buffer', string[], string | null][] = [
    ['strict HTTP, plaintext', strict, 8080, 'raw_buffer', ['http/1.1'], 'inbound_8080_mtls'],
    ['strict unknown, plaintext HTTP', strict, 7000, 'raw_buffer', ['http/1.1'], 'inbound_7000_mtls_tcp'],
    ['strict unknown, plaintext h2c', strict, 7000, 'raw_buffer', ['h2c'], 'inbound_7000_mtls_tcp'],
    ['strict unknown, mesh HTTP', strict, 7000, 'tls', ['h2'], 'inbound_7000_mtls_http'],
    ['strict unknown, mesh TCP', strict, 7000, 'tls', [], 'inbound_7000_mtls_tcp'],
    ['permissive unknown, plaintext HTTP', permissive, 7000, 'raw_buffer', ['http/1.1'], 'inbound_7000_http'],
    ['permissive unknown, plaintext TCP', permissive, 7000, 'raw_buffer', [], 'inbound_7000_tcp'],
    ['permissive unknown, mesh HTTP', permissive, 7000, 'tls', ['h2'], 'inbound_7000_mtls_http'],
    ['permissive unknown, mesh TCP', permissive, 7000, 'tls', [], 'inbound_7000_mtls_tcp'],
    ['permissive TCP with allow rules, plaintext', permissive, 5432, 'raw_buffer', [], 'inbound_5432_mtls'],
    ['another port: passthrough', permissive, 9999, 'raw_buffer', [], 'InboundPassthroughCluster'],
  ];
  for (const [what, l, port, transport, alpn, want] of cases) assert.equal(pick(l, port, transport, alpn), want, what);
});

test('bind mode inbound: listener filters follow the chains (TLS inspector only where TLS must be told apart)', () => {
  const bindPod = (opts: TranslateOptions) => translateForNode(meshModel(), node('ferry', { NAMESPACE: NS, POD_IP: '127.0.9.9' }), { ...opts, outbound: 'bind' });
  const m = modelFrom([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { clusterIP: '127.10.0.12', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: NS }, spec: { serviceAccountName: 'web' }, status: { podIP: '127.0.3.1' } },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['127.0.3.1'] }] },
  ]);
  const at = (opts: TranslateOptions) => get(translateForNode(m, node('ferry', { NAMESPACE: NS, POD_IP: '127.0.3.1' }), { ...opts, outbound: 'bind' }), LISTENER_TYPE, 'inbound_127.0.3.1_8080');
  assert.deepEqual(at({}).listener_filters, []);
  assert.deepEqual(at({ ...MTLS, mtlsMode: 'STRICT' }).listener_filters, []);
  assert.deepEqual(at(MTLS).listener_filters.map((f: Json) => f.name), ['envoy.filters.listener.tls_inspector']);
  assert.deepEqual(at(MTLS).filter_chains.map((c: Json) => c.name), ['inbound_8080_mtls', 'inbound_8080']);
  assert.equal(get(bindPod(MTLS), CLUSTER_TYPE, WEB).transport_socket.typed_config.sni, 'outbound_.80_._.web.shop.svc.cluster.local');
});

test('authorization without TLS: Envoy sidecars under a CA get the RBAC filter (plaintext peers are denied); no CA, no RBAC', () => {
  const envoy = get(webPod(MTLS, 'envoy'), LISTENER_TYPE, 'inbound');
  const c = chainsByName(envoy);
  assert.equal(c.inbound_8080.transport_socket, undefined);
  assert.equal(c.inbound_8080.filters[0].typed_config.http_filters[0].name, 'envoy.filters.http.rbac');
  const plain = chainsByName(get(webPod({}), LISTENER_TYPE, 'inbound'));
  assert.deepEqual(plain.inbound_8080.filters[0].typed_config.http_filters.map((f: Json) => f.name), ['envoy.filters.http.router']);
});

test('trust domain: the option moves endpoint identities and the inbound SAN check into it', () => {
  const snap = webPod({ ...MTLS, trustDomain: 'example.org' });
  const sans = get(snap, CLUSTER_TYPE, WEB).transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names;
  assert.deepEqual(sans.map((s: Json) => s.matcher.exact), ['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/shop/sa/web-canary']);
  const l = chainsByName(get(snap, LISTENER_TYPE, 'inbound'));
  const principals = l.inbound_8080_mtls.filters[0].typed_config.http_filters[0].typed_config.rules.policies['shop/web'].principals;
  assert.deepEqual(principals[1], { authenticated: { principal_name: { prefix: 'spiffe://example.org/ns/ops/' } } });
});

test('Ferry and Envoy sidecars under a CA never share a node key; snapshots stay frozen and pure', () => {
  const a = webPod();
  const b = translateForNode(meshModel(), node('ferry', { NAMESPACE: NS, POD_IP: '10.1.0.1' }), MTLS);
  assert.deepEqual(a, b);
  assert.throws(() => (get(a, CLUSTER_TYPE, WEB).transport_socket.typed_config.sni = 'x'));
  // The memo is per option set: a plaintext translation of the same model is not affected.
  const model = meshModel();
  const tlsSnap = translateForNode(model, node('ferry', { NAMESPACE: NS, POD_IP: '10.1.0.1' }), MTLS);
  const plainSnap = translateForNode(model, node('ferry', { NAMESPACE: NS, POD_IP: '10.1.0.1' }), {});
  assert.ok(get(tlsSnap, CLUSTER_TYPE, WEB).transport_socket);
  assert.equal(get(plainSnap, CLUSTER_TYPE, WEB).transport_socket, undefined);
});
