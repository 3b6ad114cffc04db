// The controller's default retries in a Ferry sidecar: the routes it sends for a service without a
// TrafficPolicy replay idempotent requests after a reset (a replica that crashed mid-request) and
// never replay POST or PATCH, nor a body that outgrew the retry buffer; route precedence is what it
// was without the idempotent copies.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { translateBootstrap, translateRouteConfiguration } from '../../src/config/bootstrap';
import { IDEMPOTENT_METHODS } from '../../src/controller/model/defaults';
import type { MeshModel } from '../../src/controller/model/types';
import { modelFrom } from '../../src/controller/translate/mesh-models.fixture';
import { serviceRouteConfiguration } from '../../src/controller/translate/routes';
import { Logger } from '../../src/observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { RouteTable } from '../../sidecar/router/route-table';
import { httpUpstream, metric, type Upstream } from './support';

type Json = Record<string, unknown>;

const NS = 'd';
const CLUSTER = `outbound|80||web.${NS}.svc.cluster.local`;
const webService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { clusterIP: '10.96.8.1', ports: [{ name: 'http', port: 80 }] } };

/** The route configuration the controller sends for `web`'s port 80. */
function webRoutes(model: MeshModel): Json {
  const svc = model.serviceIndex.get(`${NS}/web`);
  assert.ok(svc);
  return serviceRouteConfiguration('80', svc, 80);
}

/** A sidecar bootstrap: the controller's routes for `web` in front of one upstream; `thresholds` for its circuit breakers. */
function bootstrapFor(upstreamPort: number, thresholds: Json | null = null): Json {
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [{
        name: 'http',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'retries',
              route_config: webRoutes(modelFrom([webService])),
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          }],
        }],
      }],
      clusters: [{
        name: CLUSTER,
        type: 'STATIC',
        connect_timeout: '1s',
        ...(thresholds ? { circuit_breakers: { thresholds: [thresholds] } } : {}),
        load_assignment: { cluster_name: CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
      }],
    },
  };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Reply {
  readonly status: number;
  readonly flag: string;
  readonly body: string;
}

function send(port: number, method: string, id: string, body: Buffer | null): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'x-test-id': id };
    if (body !== null) headers['content-length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port, path: '/items', method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, flag: String(res.headers['x-ferry-response-flags'] ?? ''), body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

describe('default retries in a Ferry sidecar: idempotent requests replayed after a reset, others not', () => {
  let proxy: Proxy;
  let port = 0;
  let crashy: Upstream;
  /** What the upstream received, by x-test-id: one sha per attempt. */
  const received = new Map<string, string[]>();

  before(async () => {
    // Reads each request whole, then drops the connection the first time it sees an id: the request
    // reached the app, and no answer came back.
    crashy = await httpUpstream((req, res) => {
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => h.update(c));
      req.on('end', () => {
        const id = String(req.headers['x-test-id']);
        const seen = received.get(id) ?? [];
        seen.push(h.digest('hex'));
        received.set(id, seen);
        if (seen.length === 1) req.socket.destroy();
        else res.end('ok');
      });
    });
    proxy = new Proxy(translateBootstrap(bootstrapFor(crashy.port), 'default-retries'), { logger: new Logger('test', 'error') });
    await proxy.start();
    port = proxy.listenerPort('http');
  });

  after(async () => {
    await proxy?.stop();
    await crashy?.close();
  });

  test('GET, HEAD, OPTIONS, TRACE, PUT and DELETE are replayed after a reset: answered, the same body sent twice', async () => {
    for (const method of IDEMPOTENT_METHODS) {
      const body = method === 'PUT' || method === 'DELETE' ? Buffer.from(`${method} body`) : null;
      const r = await send(port, method, `idem-${method}`, body);
      assert.equal(r.status, 200, `${method}: ${r.status} ${r.flag} ${r.body}`);
      const got = received.get(`idem-${method}`) ?? [];
      assert.equal(got.length, 2, `${method}: sent upstream twice`);
      assert.equal(got[0], got[1], `${method}: the replay carried the same body`);
      if (body !== null) assert.equal(got[0], sha(body));
    }
  });

  test('POST and PATCH are not replayed: one attempt, a 503 with the UC flag', async () => {
    for (const method of ['POST', 'PATCH']) {
      const r = await send(port, method, `once-${method}`, Buffer.from('{"order":1}'));
      assert.equal(r.status, 503, `${method}: ${r.body}`);
      assert.equal(r.flag, 'UC');
      assert.equal((received.get(`once-${method}`) ?? []).length, 1, `${method}: sent upstream once`);
    }
  });

  test('a PUT whose body outgrew the retry buffer is not replayed, and the client is told', async () => {
    const before = await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: CLUSTER, outcome: 'not_replayable' });
    const big = Buffer.alloc(2 << 20, 7);
    const r = await send(port, 'PUT', 'put-big', big);
    assert.equal(r.status, 503, r.body);
    assert.equal(r.flag, 'UC');
    assert.match(r.body, /not retried: the request body outgrew the retry buffer/);
    assert.deepEqual(received.get('put-big'), [sha(big)], 'sent upstream once, whole');
    assert.equal((await metric(proxy, 'ferry_upstream_rq_retry_total', { destination_cluster: CLUSTER, outcome: 'not_replayable' })) - before, 1);
  });
});

test('a retry the retry circuit breaker refuses fails with its own flag and UO beside it', async (t) => {
  let seen = 0;
  const upstream = await httpUpstream((req) => {
    seen++;
    req.resume();
    req.on('end', () => req.socket.destroy());
  });
  const p = new Proxy(translateBootstrap(bootstrapFor(upstream.port, { max_retries: 0 }), 'default-retries-full'), { logger: new Logger('test', 'error') });
  await p.start();
  t.after(async () => {
    await p.stop();
    await upstream.close();
  });
  const r = await send(p.listenerPort('http'), 'GET', 'full', null);
  assert.equal(r.status, 503);
  assert.equal(r.flag, 'UC,UO');
  assert.equal(seen, 1);
  assert.equal(await metric(p, 'ferry_upstream_rq_retry_total', { destination_cluster: CLUSTER, outcome: 'overflow' }), 1);
});

test('route precedence in the sidecar is unchanged by the idempotent copies; only idempotent methods get reset', () => {
  const svc = (name: string, ip: string) => ({ ...webService, metadata: { name, namespace: NS }, spec: { ...webService.spec, clusterIP: ip } });
  const model = modelFrom([
    webService,
    svc('web-v2', '10.96.8.2'),
    svc('orders', '10.96.8.3'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: NS },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'web' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [{ name: 'web-v2', port: 80 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'POST' }], backendRefs: [{ name: 'orders', port: 80 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'DELETE' }], backendRefs: [{ name: 'orders', port: 80 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] },
        ],
      },
    },
  ]);
  const raw = webRoutes(model);
  // The same routes without the copies: what the sidecar routed by before.
  const vh = (raw.virtual_hosts as Json[])[0];
  const originals = (vh.routes as Json[]).filter((r) => !((r.match as Json).headers as Json[] | undefined)?.some((h) => h.name === ':method' && (h.string_match as Json).safe_regex));
  assert.ok(originals.length < (vh.routes as Json[]).length, 'the configuration has copies');
  const withCopies = new RouteTable(translateRouteConfiguration(raw, 'routes'));
  const without = new RouteTable(translateRouteConfiguration({ ...raw, virtual_hosts: [{ ...vh, routes: originals }] }, 'routes'));
  const random = (): number => 0.5;
  let checked = 0;
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'CONNECT', 'get']) {
    for (const path of ['/', '/api', '/api/x', '/apix', '/other']) {
      for (const headers of [{}, { 'x-canary': 'true' }]) {
        const req = { path, method, headers, isGrpc: false };
        const a = withCopies.route('web', req, random);
        const b = without.route('web', req, random);
        assert.ok(a && b, `${method} ${path} is routed`);
        const where = `${method} ${path} ${JSON.stringify(headers)}`;
        assert.equal(a.name, b.name, `${where}: the same rule`);
        assert.deepEqual({ ...a.action, retryPolicy: null }, { ...b.action, retryPolicy: null }, `${where}: the same action`);
        const on = [...((a.action as { retryPolicy: { retryOn: Set<string> } | null }).retryPolicy?.retryOn ?? [])];
        assert.equal(on.includes('reset'), IDEMPOTENT_METHODS.includes(method), `${where}: reset is retried only for idempotent methods (${on.join(',')})`);
        checked++;
      }
    }
  }
  assert.equal(checked, 100);
});
