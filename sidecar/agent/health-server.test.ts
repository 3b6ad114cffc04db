// The health server on loopback: readiness per callback, and app probes run against real HTTP, HTTPS, TCP and gRPC servers.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { issueWorkload, makeTestPki } from '../../certs/test-pki.fixture';
import { parseAppProbes } from './app-probes';
import { HealthServer } from './health-server';

async function listen(server: net.Server, t: TestContext): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startHealth(t: TestContext, probes: Record<string, unknown>, ready: () => boolean = () => true): Promise<number> {
  const health = new HealthServer({ ready, probes: parseAppProbes(JSON.stringify(probes)), host: '127.0.0.1', port: 0, target: { podIp: '10.1.2.3' } });
  const port = await health.listen();
  t.after(() => health.close());
  return port;
}

function get(port: number, p: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/healthz/ready answers 200 only while the callback says ready', async (t) => {
  let ready = false;
  const port = await startHealth(t, {}, () => ready);
  assert.equal((await get(port, '/healthz/ready')).status, 503);
  ready = true;
  const ok = await get(port, '/healthz/ready');
  assert.deepEqual([ok.status, ok.body], [200, 'LIVE\n']);
  ready = false;
  assert.equal((await get(port, '/healthz/ready')).status, 503);
  const throwing = await startHealth(t, {}, () => {
    throw new Error('boom');
  });
  assert.equal((await get(throwing, '/healthz/ready')).status, 503, 'a throwing callback means not ready');
  assert.equal((await get(port, '/healthz/ready', 'POST')).status, 405);
  assert.equal((await get(port, '/nope')).status, 404);
});

test('HTTP probes: 2xx/3xx pass, 500 fails, a hung app times out; headers and Host as the kubelet sends them', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const app = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/ok') return void res.writeHead(200).end('fine');
    if (req.url === '/moved') return void res.writeHead(302, { location: '/elsewhere' }).end();
    if (req.url === '/broken') return void res.writeHead(500).end('database down');
    // '/hang': never answers
  });
  const appPort = await listen(app, t);
  const port = await startHealth(t, {
    'web/liveness': { httpGet: { port: appPort, path: '/ok', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } },
    'web/startup': { httpGet: { port: appPort, path: '/moved', scheme: 'HTTP' } },
    'web/readiness': { httpGet: { port: appPort, path: '/broken', scheme: 'HTTP' } },
    'slow/readiness': { httpGet: { port: appPort, path: '/hang', scheme: 'HTTP' }, timeoutSeconds: 1 },
    'custom/readiness': { httpGet: { port: appPort, path: '/ok', scheme: 'HTTP', httpHeaders: [{ name: 'Host', value: 'app.example' }] } },
  });

  const ok = await get(port, '/app-health/web/liveness');
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.body, /status 200/);
  assert.equal(seen[0]['x-probe'], 'yes');
  assert.equal(seen[0].host, `10.1.2.3:${appPort}`, 'Host is <podIP>:<port>, like the kubelet');
  assert.match(String(seen[0]['user-agent']), /^kube-probe\//);

  assert.equal((await get(port, '/app-health/web/startup')).status, 200, 'a redirect counts as success');

  const broken = await get(port, '/app-health/web/readiness');
  assert.equal(broken.status, 503);
  assert.match(broken.body, /status 500 \(database down\)/);

  const slow = await get(port, '/app-health/slow/readiness');
  assert.equal(slow.status, 503);
  assert.match(slow.body, /timed out after 1000 ms/);

  await get(port, '/app-health/custom/readiness');
  assert.equal(seen.at(-1)!.host, 'app.example', "the probe's own Host header wins");

  const refused = await startHealth(t, { 'web/liveness': { httpGet: { port: await closedPort(), path: '/' } } });
  const r = await get(refused, '/app-health/web/liveness');
  assert.equal(r.status, 503);
  assert.match(r.body, /ECONNREFUSED/);
});

test('HTTPS probes do not verify the certificate, as the kubelet does', async (t) => {
  const pki = await makeTestPki();
  const leaf = await issueWorkload(pki.issuer, 'spiffe://cluster.local/ns/default/sa/web');
  const app = https.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (req, res) => res.writeHead(req.url === '/ok' ? 204 : 503).end());
  const appPort = await listen(app, t);
  const port = await startHealth(t, {
    'web/readiness': { httpGet: { port: appPort, path: '/ok', scheme: 'HTTPS' } },
    'web/liveness': { httpGet: { port: appPort, path: '/bad', scheme: 'HTTPS' } },
    'plain/liveness': { httpGet: { port: appPort, path: '/ok', scheme: 'HTTP' } },
  });
  assert.equal((await get(port, '/app-health/web/readiness')).status, 200);
  assert.equal((await get(port, '/app-health/web/liveness')).status, 503);
  assert.equal((await get(port, '/app-health/plain/liveness')).status, 503, 'plain HTTP to a TLS port fails');
});

test('TCP probes: an open port passes, a closed port fails', async (t) => {
  const app = net.createServer((s) => s.destroy());
  const appPort = await listen(app, t);
  const port = await startHealth(t, {
    'db/readiness': { tcpSocket: { port: appPort } },
    'db/liveness': { tcpSocket: { port: await closedPort() } },
  });
  const open = await get(port, '/app-health/db/readiness');
  assert.equal(open.status, 200, open.body);
  const closed = await get(port, '/app-health/db/liveness');
  assert.equal(closed.status, 503);
  assert.match(closed.body, /TCP connect 127\.0\.0\.1:\d+: ECONNREFUSED/);
});

const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

test('gRPC probes against a grpc-js health service: SERVING passes, NOT_SERVING and unknown services fail', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-probe-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'health.proto');
  fs.writeFileSync(file, HEALTH_PROTO);
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(file, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const statuses = new Map<string, string>([
    ['', 'SERVING'],
    ['orders', 'SERVING'],
  ]);
  const server = new grpc.Server();
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const s = statuses.get(call.request.service ?? ''); // proto3: an empty service is not on the wire
      if (s === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status: s });
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  const port = await startHealth(t, {
    'api/readiness': { grpc: { port: grpcPort, service: 'orders' } },
    'api/liveness': { grpc: { port: grpcPort } },
    'api/startup': { grpc: { port: grpcPort, service: 'nope' } },
    'down/liveness': { grpc: { port: await closedPort() } },
  });

  const serving = await get(port, '/app-health/api/readiness');
  assert.deepEqual([serving.status, /SERVING/.test(serving.body)], [200, true], serving.body);
  const whole = await get(port, '/app-health/api/liveness');
  assert.equal(whole.status, 200, `the server as a whole (service ""): ${whole.body}`);
  statuses.set('orders', 'NOT_SERVING');
  const notServing = await get(port, '/app-health/api/readiness');
  assert.equal(notServing.status, 503);
  assert.match(notServing.body, /NOT_SERVING/);
  const unknown = await get(port, '/app-health/api/startup');
  assert.equal(unknown.status, 503);
  assert.match(unknown.body, /grpc-status 5 \(unknown service\)/);
  const down = await get(port, '/app-health/down/liveness');
  assert.equal(down.status, 503);
  assert.match(down.body, /ECONNREFUSED/);
});

test('unknown containers and kinds are 404; an invalid recorded probe is 503 with its reason', async (t) => {
  const port = await startHealth(t, {
    'web/readiness': { tcpSocket: { port: 1 } },
    'web/liveness': { httpGet: { port: 'http' } },
  });
  const unknownContainer = await get(port, '/app-health/other/readiness');
  assert.equal(unknownContainer.status, 404);
  assert.match(unknownContainer.body, /no app probe other\/readiness \(known: web\/readiness, web\/liveness\)/);
  assert.equal((await get(port, '/app-health/web/startup')).status, 404);
  assert.equal((await get(port, '/app-health/web')).status, 404);
  assert.equal((await get(port, '/app-health/%E0%A4%A')).status, 404);
  const invalid = await get(port, '/app-health/web/liveness');
  assert.equal(invalid.status, 503);
  assert.match(invalid.body, /named port "http" was not resolved/);
});
