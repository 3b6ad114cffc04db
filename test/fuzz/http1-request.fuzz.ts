// Fuzz target: the sidecar's HTTP/1.1 server path, request bytes in, response bytes out, in-process.
//
// Input: the bytes a downstream client sends on one connection (seeded with real requests). They
// are fed to a real connection manager (node:http codec, route table, router) through an in-memory
// connection; routes answer directly, redirect, go to a cluster chosen by a header (absent: 503 NC)
// or to a cluster with no endpoints (503 UH). Asserted: nothing throws; what the proxy writes back
// is a sequence of well-formed HTTP/1.1 responses with nothing after the last one; every request
// node:http parsed is answered (up to a refused head, which closes the connection); no answer is a
// 500; every answer the routes did not choose (an error or a local reply) carries
// x-ferry-response-flags; and the connection is finished within a second of the client's half-close.

import type * as net from 'node:net';
import type * as http from 'node:http';
import { translateBootstrap } from '../../src/config/bootstrap';
import type { HttpConnectionManagerConfig } from '../../src/config/types';
import { Logger } from '../../src/observability/logger';
import { ProxyMetrics } from '../../src/observability/metrics';
import { ClusterManager } from '../../sidecar/cluster/cluster-manager';
import { HttpConnectionManager } from '../../sidecar/connection-manager/connection-manager';
import { Http1ResponseParser, ResponseParseError, type ResponseSink } from '../../sidecar/upstream/http1-response-parser';
import { RESPONSE_FLAGS_HEADER } from '../../sidecar/http/local-reply';
import { invariant } from './support/fuzz-support';
import { memorySocketPair } from './support/memory-socket';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

const BOOTSTRAP = {
  static_resources: {
    listeners: [
      {
        name: 'fuzz',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM,
                  stat_prefix: 'fuzz',
                  codec_type: 'HTTP1',
                  route_config: {
                    virtual_hosts: [
                      {
                        name: 'all',
                        domains: ['*'],
                        routes: [
                          { match: { prefix: '/direct' }, direct_response: { status: 200, body: { inline_string: 'ok' } } },
                          { match: { prefix: '/redirect' }, redirect: { path_redirect: '/direct' } },
                          { match: { prefix: '/by-header' }, route: { cluster_header: 'x-cluster' } },
                          { match: { prefix: '/' }, route: { cluster: 'empty', retry_policy: { retry_on: '5xx,connect-failure', num_retries: 1 } } },
                        ],
                      },
                    ],
                  },
                  http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
                },
              },
            ],
          },
        ],
      },
    ],
    clusters: [{ name: 'empty', connect_timeout: '1s', type: 'STATIC', load_assignment: { cluster_name: 'empty', endpoints: [] } }],
  },
};

/** Statuses the routes above answer with themselves (no response flag). */
const ROUTE_STATUSES = new Set([200, 301]);

let hcmPromise: Promise<HttpConnectionManager> | null = null;

async function connectionManager(): Promise<HttpConnectionManager> {
  const config = translateBootstrap(BOOTSTRAP);
  const metrics = new ProxyMetrics();
  const logger = new Logger('fuzz', 'error', () => undefined);
  const now = () => performance.now();
  const clusters = new ClusterManager({ metrics, logger, now, random: Math.random, identity: null });
  await clusters.addOrUpdate(config.clusters);
  const hcmConfig = config.listeners[0].filterChains[0].network as HttpConnectionManagerConfig;
  return new HttpConnectionManager(hcmConfig, { clusters, metrics, logger, now, random: Math.random, reporter: 'source', listenerName: 'fuzz' });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
}

/** Splits what the proxy wrote into responses; `methods` are the requests' methods, in order. */
function parseResponses(out: Buffer, methods: string[]): Answer[] {
  const answers: Answer[] = [];
  let rest = out;
  while (rest.length > 0) {
    const parser = new Http1ResponseParser();
    let ended = false;
    let answer: Answer | null = null;
    const sink: ResponseSink = {
      onResponseHead: (status, headers) => (answer = { status, headers }),
      onResponseBody: () => undefined,
      onResponseEnd: () => (ended = true),
    };
    parser.start(sink, methods[answers.length] === 'HEAD');
    let used: number;
    try {
      used = parser.execute(rest);
      if (!ended && parser.readsUntilClose) {
        parser.finish();
        used = rest.length;
      }
    } catch (err) {
      if (!(err instanceof ResponseParseError)) throw err;
      invariant(false, `the proxy wrote a malformed response (${err.message}): ${JSON.stringify(rest.toString('latin1'))}`);
    }
    invariant(ended && answer !== null, `the proxy wrote an incomplete response: ${JSON.stringify(rest.toString('latin1'))}`);
    answers.push(answer);
    rest = rest.subarray(used);
  }
  return answers;
}

export async function fuzz(data: Buffer): Promise<void> {
  hcmPromise ??= connectionManager();
  const hcm = await hcmPromise;
  const server = (hcm as unknown as { h1: http.Server }).h1;
  const methods: string[] = [];
  const onRequest = (req: http.IncomingMessage) => methods.push(req.method ?? '');
  const events = ['request', 'checkContinue', 'checkExpectation', 'upgrade'] as const;
  for (const e of events) server.prependListener(e, onRequest);
  const [client, serverEnd] = memorySocketPair();
  const chunks: Buffer[] = [];
  client.on('data', (c: Buffer) => chunks.push(c));
  const finished = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 1_000);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('end', done);
    client.once('close', done);
  });
  try {
    hcm.handle(serverEnd as unknown as net.Socket, {
      downstream: { remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 15001, peerPrincipal: null },
      secure: false,
      protocolHint: null,
    });
    client.write(data);
    // Let the proxy answer what it has before the client half-closes.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    client.end();
    const closed = await finished;
    invariant(closed, 'the proxy neither answered nor closed the connection within 1 s of the half-close');
  } finally {
    for (const e of events) server.off(e, onRequest);
    client.destroy();
  }
  const answers = parseResponses(Buffer.concat(chunks), methods);
  // Every parsed request is answered, unless a refused head (DPE) closed the connection before it:
  // after a protocol error no further request is processed (RFC 9112 §9.6).
  const last = answers[answers.length - 1];
  const refused =
    last !== undefined &&
    last.headers[RESPONSE_FLAGS_HEADER] === 'DPE' &&
    /(^|,)\s*close\s*(,|$)/i.test(String(last.headers.connection ?? ''));
  invariant(answers.length >= methods.length || refused, `${methods.length} requests parsed, ${answers.length} answered`);
  for (const a of answers) {
    invariant(a.status !== 500, 'a 500 from the proxy');
    if (!ROUTE_STATUSES.has(a.status)) {
      invariant(a.headers[RESPONSE_FLAGS_HEADER] !== undefined, `a ${a.status} without ${RESPONSE_FLAGS_HEADER}`);
    }
  }
}
