// `ferry drain` against a real Proxy's admin server, and `ferry wait-ready` against the health server, on loopback.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { UsageError } from '../../src/flags/flags';
import { translateBootstrap } from '../../src/config/bootstrap';
import { Logger } from '../../src/observability/logger';
import { closedPort, eventually, httpUpstream, request, sleep } from '../../test/integration/support';
import { Proxy } from '../proxy';
import { parseAppProbes } from './app-probes';
import { drainCommand, waitReadyCommand, type CommandIo } from './commands';
import { HealthServer } from './health-server';

function capture(): CommandIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s) };
  return io;
}

function bootstrap(upstreamPort: number): unknown {
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'http',
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '30s' } }] }] },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'app',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'app',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }],
          },
        },
      ],
    },
  };
}

/** A proxy in front of an upstream whose `/slow` answers only when released. */
async function proxyWithSlowUpstream(t: TestContext) {
  const held: http.ServerResponse[] = [];
  const upstream = await httpUpstream((req, res) => {
    if (req.url === '/slow') held.push(res);
    else res.end('hi');
  });
  const proxy = new Proxy(translateBootstrap(bootstrap(upstream.port)), { logger: new Logger('test', 'off'), drainTimeoutMs: 100 });
  t.after(async () => {
    for (const r of held) r.end();
    await proxy.stop();
    await upstream.close();
  });
  await proxy.start();
  const release = (): void => {
    for (const r of held.splice(0)) r.end('slow done');
  };
  return { proxy, upstream, held, release, port: proxy.listenerPort('http'), admin: `127.0.0.1:${proxy.adminPort}` };
}

test('drain: an idle proxy stops accepting and the command returns at once', async (t) => {
  const p = await proxyWithSlowUpstream(t);
  assert.equal((await request(p.port, '/')).body, 'hi');
  const io = capture();
  assert.equal(await drainCommand(['--seconds', '30', '--admin-address', p.admin], io), 0);
  assert.match(io.out, /listeners drained, no active requests/);
  assert.equal(p.proxy.state, 'DRAINING');
  await assert.rejects(request(p.port, '/'), /ECONNREFUSED/, 'no new connections after drain');
});

test('drain: waits for an in-flight request, which completes, then returns before the drain time', async (t) => {
  const p = await proxyWithSlowUpstream(t);
  const inflight = request(p.port, '/slow');
  assert.ok(await eventually(() => p.held.length === 1), 'the request reached the upstream');
  const io = capture();
  let finished = false;
  const drained = drainCommand(['--seconds', '30', '--admin-address', p.admin, '--poll-ms', '20'], io).then((code) => {
    finished = true;
    return code;
  });
  assert.ok(await eventually(() => p.proxy.state === 'DRAINING'), 'drain_listeners reached the proxy');
  await sleep(200); // several polls see the request still active
  assert.equal(finished, false, 'drain does not return while a request is in flight');
  p.release();
  assert.equal(await drained, 0);
  assert.match(io.out, /no active requests/);
  const r = await inflight;
  assert.deepEqual([r.status, r.body], [200, 'slow done'], 'the in-flight request finished normally');
});

test('drain: keeps serving while callers still send (the endpoint update has not reached them), drains once they stop', async (t) => {
  const p = await proxyWithSlowUpstream(t);
  const io = capture();
  let sending = true;
  const statuses: number[] = [];
  let drainingWhileSending = false;
  const caller = (async () => {
    for (let i = 0; i < 30 && sending; i++) {
      statuses.push((await request(p.port, '/')).status);
      if (p.proxy.state === 'DRAINING') drainingWhileSending = true;
      await sleep(50);
    }
  })();
  const drained = drainCommand(['--seconds', '30', '--quiet-ms', '300', '--admin-address', p.admin, '--poll-ms', '20'], io);
  await sleep(800);
  assert.notEqual(p.proxy.state, 'DRAINING', 'still serving while requests arrive');
  sending = false;
  await caller;
  assert.equal(await drained, 0);
  assert.equal(drainingWhileSending, false);
  assert.ok(statuses.length >= 10 && statuses.every((s) => s === 200), `every request while callers sent was served: ${statuses.join(',')}`);
  assert.match(io.out, /no new inbound request for 300 ms after .*callers have the endpoint update/);
  assert.equal(p.proxy.state, 'DRAINING');
});

test('drain: gives up after --seconds with requests still in flight, exit 0', async (t) => {
  const p = await proxyWithSlowUpstream(t);
  const inflight = request(p.port, '/slow').catch(() => null);
  assert.ok(await eventually(() => p.held.length === 1));
  const io = capture();
  assert.equal(await drainCommand(['--seconds', '0.2', '--admin-address', p.admin, '--poll-ms', '20'], io), 0);
  assert.match(io.out, /drain time of 0\.2 s over \(1 request\(s\) still active\)/);
  p.release();
  await inflight;
});

test('drain: no admin means nothing to drain (exit 0 with a note); bad flags are usage errors', async () => {
  const io = capture();
  assert.equal(await drainCommand(['--seconds', '5', '--admin-address', `127.0.0.1:${await closedPort()}`], io), 0);
  assert.match(io.err, /admin at 127\.0\.0\.1:\d+ not reachable \(ECONNREFUSED\); nothing to drain/);
  await assert.rejects(drainCommand(['--seconds', '-1'], capture()), (e: unknown) => e instanceof UsageError && /--seconds/.test(e.message));
  await assert.rejects(drainCommand(['--admin-address', 'nope'], capture()), UsageError);
  await assert.rejects(drainCommand(['--bogus'], capture()), /unknown flag --bogus/);
});

async function health(t: TestContext, ready: () => boolean): Promise<string> {
  const h = new HealthServer({ ready, probes: parseAppProbes(undefined), host: '127.0.0.1', port: 0 });
  const port = await h.listen();
  t.after(() => h.close());
  return `127.0.0.1:${port}`;
}

test('wait-ready: returns 0 once /healthz/ready turns 200', async (t) => {
  let polls = 0;
  const address = await health(t, () => ++polls >= 4);
  const io = capture();
  assert.equal(await waitReadyCommand(['--timeout-seconds', '30', '--health-address', address, '--interval-ms', '10'], io), 0);
  assert.equal(polls, 4, 'it polled until the fourth answer was ready');
  assert.match(io.out, /proxy ready after/);
});

test('wait-ready: exit 1 naming the timeout when never ready, or when nothing listens', async (t) => {
  const address = await health(t, () => false);
  const io = capture();
  assert.equal(await waitReadyCommand(['--timeout-seconds', '0.3', '--health-address', address, '--interval-ms', '20'], io), 1);
  assert.match(io.err, /proxy not ready within --timeout-seconds 0\.3 \(http:\/\/127\.0\.0\.1:\d+\/healthz\/ready, last: HTTP 503 not ready\)/);

  const none = capture();
  assert.equal(await waitReadyCommand(['--timeout-seconds', '0.2', '--health-address', `127.0.0.1:${await closedPort()}`], none), 1);
  assert.match(none.err, /not ready within --timeout-seconds 0\.2 .*last: ECONNREFUSED/);
  await assert.rejects(waitReadyCommand(['--timeout-seconds', 'x'], capture()), UsageError);
});
