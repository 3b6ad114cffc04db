// Writes the fuzz targets' seed corpora (test/fuzz/corpus/<target>/seed-*) from real inputs.
//
// Run after a build: `node dist/test/fuzz/support/write-seeds.js --write` (without the flag it only
// says what it would do, so that running every script in dist/ cannot rewrite the corpus). The responses come from a real
// node:http server, the requests from node:http's client, the ClientHellos from node:tls, the
// bootstraps from test/fixtures/envoy, the xDS resources from the controller's translation of the
// example meshes, the CSRs from the sidecar's CSR code, the registries from examples/. Seeds are
// rewritten; crashers (crash-*, timeout-*) are left alone.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { join, resolve } from 'node:path';
import { createWorkloadCsr } from '../../../certs/csr';
import { TAG, oid, tlv } from '../../../certs/der';
import { encodeResource } from '../../../src/xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../../src/xds/type-urls';
import { exampleModel, localMeshModel, meshedModel, node } from '../../../src/controller/translate/mesh-models.fixture';
import { translateForNode } from '../../../src/controller/translate/translate-for-node';
import { fixtureNames, fixturePlaceholders, fixturesDir } from '../../fixtures/envoy/render';
import { CALLER, TEST_SPKI } from './csr-signing';

const ROOT = resolve(__dirname, '../../../..');
const CORPUS = join(ROOT, 'test/fuzz/corpus');

function writeSeeds(target: string, seeds: [string, Buffer | string][]): void {
  const dir = join(CORPUS, target);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.startsWith('seed-')) rmSync(join(dir, f));
  for (const [name, data] of seeds) writeFileSync(join(dir, `seed-${name}`), data);
  console.log(`${target}: ${seeds.length} seeds`);
}

const flagged = (flags: number, data: Buffer | string): Buffer => Buffer.concat([Buffer.from([flags]), Buffer.from(data as string, 'latin1')]);

/** The bytes a real node:http server writes for `handler`, asked with `request` (raw). */
async function serverBytes(handler: http.RequestListener, request: string): Promise<Buffer> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    return await new Promise<Buffer>((resolveBytes, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.end(request));
      s.on('data', (c) => chunks.push(c));
      s.on('close', () => resolveBytes(Buffer.concat(chunks)));
      s.on('error', reject);
    });
  } finally {
    server.close();
  }
}

/** The first bytes a real client writes to a raw server (a request, a ClientHello). */
async function clientBytes(connect: (port: number) => { destroy(): void; on(e: 'error', f: () => void): unknown }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let done: () => void = () => undefined;
  const got = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) => {
    s.on('data', (c) => {
      chunks.push(c);
      setTimeout(done, 50);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as net.AddressInfo).port);
  client.on('error', () => undefined);
  await got;
  client.destroy();
  server.close();
  return Buffer.concat(chunks);
}

async function http1Responses(): Promise<void> {
  const get = 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
  const cases: [string, http.RequestListener, string, number][] = [
    ['content-length', (_q, s) => s.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 }).end('hello'), get, 0],
    ['chunked-trailers', (_q, s) => {
      s.writeHead(200, { trailer: 'x-checksum' });
      s.write('abc');
      s.write('defgh');
      s.addTrailers({ 'x-checksum': '42' });
      s.end();
    }, get, 2],
    ['set-cookies', (_q, s) => s.writeHead(302, [['location', '/x'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['content-length', '0']]).end(), get, 4],
    ['no-content', (_q, s) => s.writeHead(204).end(), get, 6],
    ['not-modified', (_q, s) => s.writeHead(304, { etag: '"x"' }).end(), get, 8],
    ['head', (_q, s) => s.writeHead(200, { 'content-length': 1000 }).end(), 'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 1],
    ['continue', (_q, s) => {
      s.writeContinue();
      s.writeHead(201, { 'content-length': 2 }).end('ok');
    }, 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx', 10],
    ['http10-until-close', (_q, s) => {
      s.useChunkedEncodingByDefault = false;
      s.writeHead(200, { 'content-type': 'text/plain' });
      s.end('until close');
    }, 'GET / HTTP/1.0\r\nHost: a\r\n\r\n', 12],
    ['error-body', (_q, s) => s.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}'), get, 14],
  ];
  const seeds: [string, Buffer][] = [];
  for (const [name, handler, request, flags] of cases) seeds.push([name, flagged(flags, await serverBytes(handler, request))]);
  seeds.push(['early-hints', flagged(3, 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')]);
  seeds.push(['chunk-extension', flagged(5, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n0\r\n\r\n')]);
  writeSeeds('http1-response', seeds);
}

async function http1Requests(): Promise<void> {
  const viaClient = (options: http.RequestOptions, body?: string) =>
    clientBytes((port) => {
      const req = http.request({ host: '127.0.0.1', port, ...options });
      req.on('error', () => undefined);
      req.end(body);
      return req;
    });
  const seeds: [string, Buffer | string][] = [
    ['get-direct', await viaClient({ path: '/direct', headers: { 'user-agent': 'fuzz' } })],
    ['post-chunked', await viaClient({ method: 'POST', path: '/upstream', headers: { 'transfer-encoding': 'chunked' } }, 'hello world')],
    ['put-length', await viaClient({ method: 'PUT', path: '/by-header?x=1', headers: { 'x-cluster': 'nowhere', 'content-type': 'text/plain' } }, 'body')],
    ['head-redirect', await viaClient({ method: 'HEAD', path: '/redirect/x' })],
    ['pipelined', 'GET /direct HTTP/1.1\r\nHost: a\r\n\r\nHEAD /direct HTTP/1.1\r\nHost: a\r\n\r\nGET /upstream HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['expect-continue', 'POST /direct HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc'],
    ['websocket-upgrade', 'GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'],
    ['http10-keepalive', 'GET /direct HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /direct HTTP/1.0\r\n\r\n'],
    ['absolute-form', 'GET http://example.com/direct HTTP/1.1\r\nHost: example.com\r\n\r\n'],
    ['chunked-trailer', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'],
    ['cl-te', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG'],
    ['options-star', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n'],
  ];
  writeSeeds('http1-request', seeds);
}

async function clientHellos(): Promise<Buffer[]> {
  const hello = (options: tls.ConnectionOptions) => clientBytes((port) => tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }));
  return [
    await hello({ servername: 'reviews.demo.svc.cluster.local', ALPNProtocols: ['h2', 'http/1.1'] }),
    await hello({ servername: 'outbound_.9080_._.ratings.demo.svc.cluster.local', ALPNProtocols: ['istio-peer-exchange', 'istio'] }),
    await hello({ ALPNProtocols: ['http/1.1'] }),
    await hello({ servername: 'a.example', maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' }),
  ];
}

async function sniffing(hellos: Buffer[]): Promise<void> {
  writeSeeds('sniff', [
    ['h2-preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00'],
    ['http1-get', 'GET /productpage HTTP/1.1\r\nHost: productpage:9080\r\n\r\n'],
    ['http1-msearch', 'M-SEARCH * HTTP/1.1\r\n'],
    ['redis', '*1\r\n$4\r\nPING\r\n'],
    ['ssh', 'SSH-2.0-OpenSSH_9.2p1\r\n'],
    ['client-hello', hellos[0]],
    ['client-hello-no-sni', hellos[2]],
  ]);
  const seeds: [string, Buffer][] = hellos.map((h, i) => [`node-tls-${i}`, flagged(0, h)]);
  // Built ClientHellos: a flags byte 1, then the description the target reads.
  seeds.push(['built-sni-alpn', Buffer.from([1, 8, 3, 2, 0, 1, 1, 1, 1, 12, ...Buffer.from('a.example.io'), 2, 2, ...Buffer.from('h2'), 8, ...Buffer.from('http/1.1')])]);
  seeds.push(['built-split', Buffer.from([1, 0, 1, 0, 0, 0, 1, 0, 4, ...Buffer.from('host'), 0, 5, 0, 7, 0, 9])]);
  writeSeeds('tls-client-hello', seeds);
}

function xdsResources(): void {
  const types = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE] as const;
  const snapshots = [
    ['example', translateForNode(exampleModel(), node('ferry', { NAMESPACE: 'demo', POD_IP: '10.1.0.11' }))],
    ['bind', translateForNode(localMeshModel(), node('ferry', { NAMESPACE: 'shop', POD_IP: '127.0.3.1' }), { outbound: 'bind' })],
    ['mtls', translateForNode(meshedModel(), node('ferry', { NAMESPACE: 'm', POD_IP: '10.2.0.1' }), { mtls: true })],
  ] as const;
  const seeds: [string, Buffer][] = [];
  const seen = new Set<string>();
  for (const [label, snap] of snapshots) {
    for (const [i, type] of types.entries()) {
      for (const [name, res] of snap[type] ?? []) {
        const bytes = Buffer.from(encodeResource(type, res).value);
        const key = bytes.toString('base64');
        if (seen.has(key)) continue;
        seen.add(key);
        seeds.push([`${label}-${type.slice(type.lastIndexOf('.') + 1)}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 100), Buffer.concat([Buffer.from([i]), bytes])]);
      }
    }
  }
  writeSeeds('xds-resource', seeds.slice(0, 60));
}

function bootstraps(): void {
  const seeds: [string, Buffer][] = [];
  for (const name of fixtureNames()) {
    let port = 10000;
    const vars = Object.fromEntries(fixturePlaceholders(name).map((k) => [k, k.includes('PATH') || k.includes('FILE') ? '/tmp/x' : port++]));
    const text = readFileSync(join(fixturesDir(), `${name}.yaml`), 'utf8').replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, k: string) => String(vars[k]));
    seeds.push([name, flagged(0, Buffer.from(text, 'utf8'))]);
  }
  seeds.push(['demo', flagged(0, readFileSync(join(ROOT, 'examples/demo/bootstrap.yaml')))]);
  seeds.push(['json', flagged(1, JSON.stringify({ admin: { address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } }, static_resources: { clusters: [{ name: 'c', connect_timeout: '0.5s', type: 'STRICT_DNS', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: 80 } } } }] }] } }] } }))]);
  writeSeeds('bootstrap', seeds);
}

function admissionReviews(): void {
  const review = (request: Record<string, unknown>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  const podRequest = (object: unknown, extra: Record<string, unknown> = {}) => ({
    uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop', operation: 'CREATE', object, ...extra,
  });
  const pod = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { generateName: 'web-' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
  writeSeeds('admission', [
    ['plain-pod', flagged(0, review(podRequest(pod({ containers: [{ name: 'app', image: 'a' }] }))))],
    ['probes', flagged(2, review(podRequest(pod({
      containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/ready', port: 'http' } }, livenessProbe: { tcpSocket: { port: 8080 } } }],
    }))))],
    ['init-and-volumes', flagged(1, review(podRequest(pod({ initContainers: [{ name: 'migrate', image: 'm:1' }], volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'web', image: 'w:1' }] }))))],
    ['annotations', flagged(4, review(podRequest(pod({ containers: [{ name: 'app', image: 'a' }] }, { name: 'p', namespace: 'shop', labels: { app: 'web' }, annotations: { 'ferry.io/inject': 'enabled', 'ferry.io/proxy-cpu': '200m', 'ferry.io/native-sidecar': 'false' } }))))],
    ['opted-out', flagged(0, review(podRequest(pod({ containers: [{ name: 'app', image: 'a' }] }, { name: 'p', labels: { 'ferry.io/inject': 'disabled' } }))))],
    ['update', flagged(0, review(podRequest(pod({ containers: [] }), { operation: 'UPDATE' })))],
    ['deployment', flagged(0, review({ uid: 'u-2', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, operation: 'CREATE', object: {} }))],
    ['no-request', flagged(0, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }))],
  ]);
}

async function csrs(): Promise<void> {
  const der = (uri: string, extra: Buffer[] = []) => {
    const san = tlv(TAG.SEQUENCE, oid('2.5.29.17'), tlv(TAG.BOOLEAN, Buffer.from([0xff])), tlv(TAG.OCTET_STRING, tlv(TAG.SEQUENCE, tlv(0x86, Buffer.from(uri, 'latin1')))));
    const exts = tlv(TAG.SEQUENCE, san, ...extra);
    const attr = tlv(TAG.SEQUENCE, oid('1.2.840.113549.1.9.14'), tlv(TAG.SET, exts));
    return tlv(TAG.SEQUENCE, tlv(TAG.INTEGER, Buffer.from([0])), tlv(TAG.SEQUENCE), TEST_SPKI, tlv(0xa0, attr));
  };
  const basicCa = tlv(TAG.SEQUENCE, oid('2.5.29.19'), tlv(TAG.OCTET_STRING, tlv(TAG.SEQUENCE, tlv(TAG.BOOLEAN, Buffer.from([0xff])))));
  writeSeeds('csr', [
    ['workload', flagged(0, (await createWorkloadCsr(CALLER)).csrPem)],
    ['other-identity', flagged(0, (await createWorkloadCsr('spiffe://cluster.local/ns/shop/sa/other')).csrPem)],
    ['signed-info', flagged(1, der(CALLER))],
    ['signed-info-ca', flagged(1, der(CALLER, [basicCa]))],
    ['signed-info-mismatch', flagged(1, der('spiffe://cluster.local/ns/x/sa/y'))],
  ]);
}

function registries(): void {
  const seeds: [string, Buffer][] = [];
  const mesh = join(ROOT, 'examples/mesh');
  const all = readdirSync(mesh).filter((f) => f.endsWith('.yaml')).sort();
  seeds.push(['example-mesh', flagged(0, all.map((f) => readFileSync(join(mesh, f), 'utf8')).join('\n---\n'))]);
  seeds.push(['example-mesh-mtls', flagged(5, all.map((f) => readFileSync(join(mesh, f), 'utf8')).join('\n---\n'))]);
  const local = join(ROOT, 'examples/mesh-local/registry');
  const localFiles = readdirSync(local).filter((f) => f.endsWith('.yaml')).sort();
  seeds.push(['mesh-local-bind', flagged(2, localFiles.map((f) => readFileSync(join(local, f), 'utf8')).join('\n---\n'))]);
  for (const f of all) seeds.push([`mesh-${f}`, flagged(0, readFileSync(join(mesh, f)))]);
  writeSeeds('registry', seeds);
}

async function main(): Promise<void> {
  await http1Responses();
  await http1Requests();
  await sniffing(await clientHellos());
  xdsResources();
  bootstraps();
  admissionReviews();
  await csrs();
  registries();
}

if (!process.argv.includes('--write')) {
  console.log(`would rewrite the seed-* files under ${CORPUS}; run with --write to do it`);
} else main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
