// Integration tests for the health checker against real servers on 127.0.0.1 (HTTP/1.1, HTTP/2, TCP, gRPC).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { HealthCheckConfig } from '../../src/config/types';
import type { HealthCheckResult } from './health-check-state';
import { defaultAuthority, HealthChecker, HEALTH_CHECK_USER_AGENT } from './health-checker';

function config(check: HealthCheckConfig['check'], over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    timeoutMs: 1000,
    intervalMs: 15,
    intervalJitterMs: 0,
    intervalJitterPercent: 0,
    initialJitterMs: 0,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    noTrafficIntervalMs: 15,
    noTrafficHealthyIntervalMs: 15,
    unhealthyIntervalMs: 15,
    unhealthyEdgeIntervalMs: 15,
    healthyEdgeIntervalMs: 15,
    reuseConnection: true,
    check,
    ...over,
  };
}

const httpCheck = (over: Partial<Extract<HealthCheckConfig['check'], { kind: 'http' }>> = {}): HealthCheckConfig['check'] => ({
  kind: 'http',
  path: '/healthz',
  host: null,
  expectedStatuses: [[200, 201]],
  retriableStatuses: [],
  requestHeadersToAdd: [],
  http2: false,
  ...over,
});

interface Log {
  checks: { result: HealthCheckResult; healthy: boolean }[];
  transitions: boolean[];
}

/** Starts a checker on one host and records what it reports; stopped when the test ends. */
function startChecker(t: TestContext, cfg: HealthCheckConfig, port: number, clusterName = 'backend'): { hc: HealthChecker; log: Log; waitFor(pred: (l: Log) => boolean, what: string): Promise<void> } {
  const log: Log = { checks: [], transitions: [] };
  let wake: (() => void) | null = null;
  const hc = new HealthChecker(cfg, {
    clusterName,
    random: () => 0,
    hasTraffic: () => true,
    onTransition: (key, healthy) => {
      assert.equal(key, 'h0');
      log.transitions.push(healthy);
      wake?.();
    },
    onCheck: (_key, result, healthy) => {
      log.checks.push({ result, healthy });
      wake?.();
    },
  });
  hc.setHosts([{ key: 'h0', address: { host: '127.0.0.1', port }, healthCheckPort: null }]);
  hc.start();
  t.after(() => hc.stop());
  const waitFor = (pred: (l: Log) => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        wake = null;
        reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(log)}`));
      }, 5000);
      const check = (): void => {
        if (pred(log)) {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
      };
      wake = check;
      check();
    });
  return { hc, log, waitFor };
}

/** Listens on 127.0.0.1:0; at the end of the test destroys every accepted connection and closes. */
function listen(server: net.Server, t: TestContext): Promise<number> {
  const conns = new Set<net.Socket>();
  server.on('connection', (c: net.Socket) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
  });
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('HTTP/1.1: healthy, unhealthy after unhealthy_threshold retriable 503s, healthy again after healthy_threshold', async (t) => {
  let status = 200;
  const seen: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    assert.equal(req.url, '/healthz');
    res.writeHead(status).end('x');
  });
  server.on('connection', (s) => sockets.add(s));
  const port = await listen(server, t);
  const { log, waitFor, hc } = startChecker(t, config(httpCheck({ retriableStatuses: [[503, 504]] })), port);

  await waitFor((l) => l.checks.length >= 3, 'three passes');
  assert.deepEqual(log.transitions, [true]);
  assert.equal(sockets.size, 1, 'reuse_connection keeps one keep-alive connection');
  assert.equal(hc.isHealthy('h0'), true);
  assert.equal(seen[0].host, 'backend');
  assert.equal(seen[0]['user-agent'], HEALTH_CHECK_USER_AGENT);

  status = 503;
  await waitFor((l) => l.transitions.length === 2, 'unhealthy');
  const failsBefore = log.checks.filter((c) => c.result === 'retriable_fail');
  assert.equal(failsBefore.length, 2, 'exactly unhealthy_threshold failures');
  assert.deepEqual(failsBefore.map((c) => c.healthy), [true, false]);

  status = 200;
  await waitFor((l) => l.transitions.length === 3, 'healthy again');
  assert.deepEqual(log.transitions, [true, false, true]);
  const tail = log.checks.slice(log.checks.findLastIndex((c) => c.result !== 'pass') + 1);
  assert.deepEqual(tail.map((c) => c.healthy), [false, true], 'healthy_threshold passes');
});

test('HTTP/1.1: a non-retriable status fails at once; request headers are added', async (t) => {
  let status = 200;
  let lastHeaders: http.IncomingHttpHeaders = {};
  const server = http.createServer((req, res) => {
    lastHeaders = req.headers;
    res.writeHead(status).end();
  });
  const port = await listen(server, t);
  const cfg = config(
    httpCheck({
      host: 'health.example',
      expectedStatuses: [[200, 300]],
      requestHeadersToAdd: [{ name: 'x-probe', value: 'ferry', action: 'overwrite' }],
    }),
    { unhealthyThreshold: 5 },
  );
  const { log, waitFor } = startChecker(t, cfg, port);
  await waitFor((l) => l.transitions.length === 1, 'first pass');
  assert.equal(lastHeaders.host, 'health.example');
  assert.equal(lastHeaders['x-probe'], 'ferry');
  status = 500;
  await waitFor((l) => l.transitions.length === 2, 'immediate failure');
  assert.equal(log.checks.filter((c) => c.result === 'fail').length, 1);
});

test('HTTP/1.1: a response slower than the timeout counts as a timeout', async (t) => {
  const server = http.createServer((_req, res) => {
    setTimeout(() => res.writeHead(200).end(), 300).unref();
  });
  const port = await listen(server, t);
  const { log, waitFor } = startChecker(t, config(httpCheck(), { timeoutMs: 40 }), port);
  await waitFor((l) => l.checks.length >= 2, 'two checks');
  assert.deepEqual(log.checks.slice(0, 2).map((c) => c.result), ['timeout', 'timeout']);
  assert.deepEqual(log.transitions, [false]);
});

test('HTTP/2 health check', async (t) => {
  let status = 200;
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    assert.equal(headers[':authority'], 'backend');
    stream.respond({ ':status': status });
    stream.end();
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => sessions.add(s));
  const port = await listen(server, t);
  const { log, waitFor } = startChecker(t, config(httpCheck({ http2: true })), port);
  await waitFor((l) => l.transitions.length === 1, 'first pass');
  status = 503;
  await waitFor((l) => l.transitions.length === 2, 'unhealthy');
  assert.deepEqual(log.transitions, [true, false]);
  assert.equal(sessions.size, 1);
});

test('HTTP/2 and gRPC: a cluster name that is no valid authority gives way to the endpoint address (a strict server would reset the stream)', async (t) => {
  const seen: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    seen.push(String(headers[':authority']));
    stream.respond({ ':status': 200 });
    stream.end();
  });
  const port = await listen(server, t);
  const { log, waitFor } = startChecker(t, config(httpCheck({ http2: true })), port, 'outbound|8080||catalog.shop.svc.cluster.local');
  await waitFor((l) => l.transitions.length === 1, 'first pass');
  assert.deepEqual(log.transitions, [true]);
  assert.equal(seen[0], `127.0.0.1:${port}`);
  assert.equal(defaultAuthority('catalog.shop.svc.cluster.local', { host: '::1', port: 80 }), 'catalog.shop.svc.cluster.local');
  assert.equal(defaultAuthority('outbound|80||x', { host: '::1', port: 80 }), '[::1]:80');
});

test('TCP: a closed port fails; connect-only passes; send/receive must match in order', async (t) => {
  const closed = await closedPort();
  const a = startChecker(t, config({ kind: 'tcp', send: null, receive: [] }), closed);
  await a.waitFor((l) => l.checks.length >= 1, 'refused check');
  assert.equal(a.log.checks[0].result, 'network_fail');
  assert.deepEqual(a.log.transitions, [false]);
  assert.equal(a.hc.isHealthy('h0'), false);

  const echo = net.createServer((s) => {
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from('>'), d, Buffer.from('<')])));
    s.on('error', () => {});
  });
  const echoPort = await listen(echo, t);

  const b = startChecker(t, config({ kind: 'tcp', send: null, receive: [] }), echoPort);
  await b.waitFor((l) => l.checks.length >= 2, 'connect-only passes');
  assert.deepEqual(b.log.checks.slice(0, 2).map((c) => c.result), ['pass', 'pass']);

  const c = startChecker(
    t,
    config({ kind: 'tcp', send: Buffer.from('PING'), receive: [Buffer.from('>'), Buffer.from('PING<')] }),
    echoPort,
  );
  await c.waitFor((l) => l.checks.length >= 2, 'echo passes');
  assert.deepEqual(c.log.checks.slice(0, 2).map((x) => x.result), ['pass', 'pass']);

  const d = startChecker(
    t,
    config({ kind: 'tcp', send: Buffer.from('PING'), receive: [Buffer.from('PONG')] }, { timeoutMs: 40 }),
    echoPort,
  );
  await d.waitFor((l) => l.checks.length >= 1, 'mismatch times out');
  assert.equal(d.log.checks[0].result, 'timeout');
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

test('gRPC health against a grpc-js server: SERVING passes, NOT_SERVING and unknown services fail', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-hc-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'health.proto');
  fs.writeFileSync(file, HEALTH_PROTO);
  const def = protoLoader.loadSync(file, { enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const statuses = new Map<string, string>([['orders', 'SERVING']]);
  const server = new grpc.Server();
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const s = statuses.get(call.request.service);
      if (s === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status: s });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());

  const ok = startChecker(t, config({ kind: 'grpc', serviceName: 'orders', authority: null }), port);
  await ok.waitFor((l) => l.transitions.length === 1, 'SERVING');
  assert.deepEqual(ok.log.transitions, [true]);
  statuses.set('orders', 'NOT_SERVING');
  await ok.waitFor((l) => l.transitions.length === 2, 'NOT_SERVING');
  assert.deepEqual(ok.log.transitions, [true, false]);
  assert.equal(ok.log.checks.at(-1)!.result, 'fail');

  const unknown = startChecker(t, config({ kind: 'grpc', serviceName: 'nope', authority: 'x' }), port);
  await unknown.waitFor((l) => l.checks.length >= 1, 'unknown service');
  assert.equal(unknown.log.checks[0].result, 'fail');

  const refused = startChecker(t, config({ kind: 'grpc', serviceName: '', authority: null }), await closedPort());
  await refused.waitFor((l) => l.checks.length >= 1, 'refused');
  assert.equal(refused.log.checks[0].result, 'network_fail');
});

test('stop() leaves no probe sockets open', async (t) => {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(200).end());
  server.on('connection', (s) => sockets.add(s));
  const port = await listen(server, t);
  const { hc, waitFor } = startChecker(t, config(httpCheck()), port);
  await waitFor((l) => l.checks.length >= 2, 'two checks');
  hc.stop();
  await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets) assert.equal(s.destroyed || s.readyState === 'closed', true, 'server side saw the close');
});
