// The sidecar at the edges of HTTP/1.1 and at its header limits: h2c ignored, 431 (HTTP/2: a reset)
// past max_headers_count and max_request_headers_kb, HTTP/0.9, Host, absolute-form targets, CONNECT,
// and requests pipelined after `Connection: close` or before a broken one. Raw bytes in, raw bytes
// recorded by the upstream.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { issueWorkload, makeTestPki } from '../../certs/test-pki.fixture';
import { translateBootstrap } from '../../src/config/bootstrap';
import { Logger } from '../../src/observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { header, rawExchange } from '../support/raw-http-client';
import { RawHttpUpstream } from '../support/raw-http-upstream';
import { metric } from './support';

const H = 'Host: edge.test\r\n';
const headersOf = (n: number): string => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');

function bootstrap(upstreamPort: number, common?: Record<string, unknown>, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [
        {
          name: 'edge',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              ...(transportSocket ? { transport_socket: transportSocket } : {}),
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'edge',
                    ...(common ? { common_http_protocol_options: common } : {}),
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'raw' } }] }] },
                    http_filters: [],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'raw',
          connect_timeout: '1s',
          type: 'STATIC',
          load_assignment: { cluster_name: 'raw', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
        },
      ],
    },
  };
}

/** One HTTP/2 request with `n` extra headers (and an optional big one): the status, or the reset code. */
function h2Request(port: number, n: number, bigBytes = 0): Promise<{ status: number; rstCode: number }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`, { maxSendHeaderBlockLength: 1 << 22 });
    session.on('error', reject);
    const h: http2.OutgoingHttpHeaders = { ':path': '/' };
    for (let i = 0; i < n; i++) h[`x-h${i}`] = 'v';
    if (bigBytes > 0) h['x-big'] = 'b'.repeat(bigBytes);
    const stream = session.request(h, { endStream: true });
    let status = 0;
    stream.on('response', (r) => (status = Number(r[':status'])));
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      resolve({ status, rstCode: stream.rstCode ?? 0 });
      session.close();
    });
  });
}

describe('HTTP/1.1 edges and header limits', () => {
  const upstream = new RawHttpUpstream();
  let proxy: Proxy;
  let limited: Proxy;
  let port = 0;
  let limitedPort = 0;
  let secure: Proxy;
  let securePort = 0;
  let caPem = '';

  before(async () => {
    await upstream.start();
    proxy = new Proxy(translateBootstrap(bootstrap(upstream.port), 'edge'), { logger: new Logger('test', 'error') });
    await proxy.start();
    port = proxy.listenerPort('edge');
    limited = new Proxy(translateBootstrap(bootstrap(upstream.port, { max_headers_count: 5 }), 'limited'), { logger: new Logger('test', 'error') });
    await limited.start();
    limitedPort = limited.listenerPort('edge');
    const pki = await makeTestPki();
    const cert = await issueWorkload(pki.issuer, 'spiffe://cluster.local/ns/default/sa/edge');
    caPem = cert.trustBundlePem;
    const tlsSocket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: cert.chainPem }, private_key: { inline_string: cert.keyPem } }] },
      },
    };
    secure = new Proxy(translateBootstrap(bootstrap(upstream.port, { max_headers_count: 2500 }, tlsSocket), 'secure'), { logger: new Logger('test', 'error') });
    await secure.start();
    securePort = secure.listenerPort('edge');
  });

  after(async () => {
    await proxy?.stop();
    await limited?.stop();
    await secure?.stop();
    await upstream.close();
  });

  const errors = (p: Proxy, code: string) => metric(p, 'ferry_downstream_protocol_errors_total', { code });

  test('Upgrade: h2c is ignored and the request served as HTTP/1.1, without the upgrade fields', async () => {
    upstream.take();
    const x = await rawExchange(port, [`GET /h2c HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings, keep-alive\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`]);
    assert.deepEqual(x.responses.map((r) => r.status), [200]);
    const [r] = upstream.take().requests;
    assert.equal(r.target, '/h2c');
    const names = r.headers.map(([n]) => n);
    assert.ok(!names.includes('upgrade') && !names.includes('http2-settings'), names.join(','));
    assert.ok(!r.headers.some(([n, v]) => n === 'connection' && /upgrade|http2-settings/i.test(v)), JSON.stringify(r.headers));
  });

  test('an h2c upgrade on a POST keeps its body byte for byte, and the connection serves the next request', async () => {
    upstream.take();
    const body = 'hello, h2c';
    const x = await rawExchange(
      port,
      [
        `POST /up HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        `GET /next HTTP/1.1\r\n${H}\r\n`,
      ],
      { finals: 2 },
    );
    assert.deepEqual(x.responses.map((r) => r.status), [200, 200]);
    const seen = upstream.take();
    assert.deepEqual(seen.violations, []);
    assert.deepEqual(seen.requests.map((r) => [r.method, r.target, r.body.toString()]), [['POST', '/up', body], ['GET', '/next', '']]);
  });

  test('HTTP/1.1: 100 header fields pass, 101 and 3,000 get 431 DPE, counted, and nothing is forwarded', async () => {
    upstream.take();
    const ok = await rawExchange(port, [`GET / HTTP/1.1\r\n${H}${headersOf(99)}\r\n`]);
    assert.deepEqual(ok.responses.map((r) => r.status), [200]);
    assert.equal(upstream.take().requests[0].headers.filter(([n]) => n.startsWith('x-h')).length, 99);
    const before = await errors(proxy, 'too_many_headers');
    for (const n of [100, 2999]) {
      const x = await rawExchange(port, [`GET / HTTP/1.1\r\n${H}${headersOf(n)}\r\n`]);
      assert.deepEqual(x.responses.map((r) => [r.status, header(r, 'x-ferry-response-flags')]), [[431, 'DPE']], `${n + 1} headers`);
      assert.match(x.responses[0].body, /over the limit of 100/);
    }
    assert.equal(upstream.take().requests.length, 0);
    assert.equal((await errors(proxy, 'too_many_headers')) - before, 2);
  });

  test('HTTP/1.1: common_http_protocol_options.max_headers_count is enforced', async () => {
    upstream.take();
    const five = await rawExchange(limitedPort, [`GET / HTTP/1.1\r\n${H}${headersOf(4)}\r\n`]);
    const six = await rawExchange(limitedPort, [`GET / HTTP/1.1\r\n${H}${headersOf(5)}\r\n`]);
    assert.deepEqual([five.responses[0].status, six.responses[0].status], [200, 431]);
    assert.equal(upstream.take().requests.length, 1);
  });

  test('HTTP/1.1: a head over max_request_headers_kb gets 431 DPE, counted', async () => {
    upstream.take();
    const before = await errors(proxy, 'HPE_HEADER_OVERFLOW');
    const x = await rawExchange(port, [`GET / HTTP/1.1\r\n${H}x-big: ${'b'.repeat(70 * 1024)}\r\n\r\n`]);
    assert.deepEqual(x.responses.map((r) => [r.status, header(r, 'x-ferry-response-flags')]), [[431, 'DPE']]);
    assert.equal(upstream.take().requests.length, 0);
    assert.equal((await errors(proxy, 'HPE_HEADER_OVERFLOW')) - before, 1);
  });

  test('HTTP/2: over max_headers_count (pseudo-headers included, as Envoy counts) the stream is reset, counted', async () => {
    upstream.take();
    const before = await errors(proxy, 'too_many_headers');
    assert.deepEqual(await h2Request(port, 96), { status: 200, rstCode: 0 });
    for (const n of [97, 3000]) {
      const r = await h2Request(port, n);
      assert.equal(r.status, 0, `${n} headers answered`);
      assert.equal(r.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, `${n} headers`);
    }
    assert.equal(upstream.take().requests.length, 1);
    // 97 extra headers reach the check; 3,000 are past the codec's backstop, which resets uncounted.
    assert.equal((await errors(proxy, 'too_many_headers')) - before, 1);
    assert.equal((await h2Request(limitedPort, 2)).status, 0, 'max_headers_count 5 with four pseudo-headers');
    assert.equal((await h2Request(limitedPort, 1)).status, 200);
  });

  test('HTTP/2: headers over max_request_headers_kb reset the stream, counted', async () => {
    upstream.take();
    const before = await errors(proxy, 'headers_too_large');
    assert.equal((await h2Request(port, 0, 61_000)).status, 200);
    const r = await h2Request(port, 0, 62_000);
    assert.deepEqual(r, { status: 0, rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    assert.equal(upstream.take().requests.length, 1);
    assert.equal((await errors(proxy, 'headers_too_large')) - before, 1);
  });

  test('HTTP/0.9 gets 426 naming HTTP/1.1; HTTP/2.0 over HTTP/1 syntax too', async () => {
    upstream.take();
    for (const line of ['GET /\r\n\r\n', `GET / HTTP/2.0\r\n${H}\r\n`]) {
      const x = await rawExchange(port, [line]);
      assert.deepEqual(x.responses.map((r) => [r.status, header(r, 'x-ferry-response-flags'), header(r, 'upgrade')]), [[426, 'DPE', 'HTTP/1.1']], JSON.stringify(line));
    }
    assert.equal(upstream.take().requests.length, 0);
  });

  test('HTTP/1.1 without Host, or with two, gets 400; HTTP/1.0 without Host is served', async () => {
    upstream.take();
    const before = await errors(proxy, 'missing_host');
    const none = await rawExchange(port, ['GET / HTTP/1.1\r\n\r\n']);
    const two = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n']);
    assert.deepEqual([none, two].map((x) => [x.responses[0].status, header(x.responses[0], 'x-ferry-response-flags')]), [[400, 'DPE'], [400, 'DPE']]);
    assert.match(none.responses[0].body, /without a Host/);
    assert.equal((await errors(proxy, 'missing_host')) - before, 1);
    assert.equal(upstream.take().requests.length, 0);
    const old = await rawExchange(port, ['GET /old HTTP/1.0\r\n\r\n']);
    assert.equal(old.responses[0].status, 200);
    assert.equal(upstream.take().requests[0].target, '/old');
  });

  test('an absolute-form target is routed and forwarded in origin-form, its authority replacing Host', async () => {
    upstream.take();
    const x = await rawExchange(port, ['GET http://absolute.test:8080/a/b?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n']);
    assert.deepEqual(x.responses.map((r) => r.status), [200]);
    const [r] = upstream.take().requests;
    assert.equal(r.target, '/a/b?q=1');
    assert.deepEqual(r.headers.filter(([n]) => n === 'host'), [['host', 'absolute.test:8080']]);
  });

  test('CONNECT gets 404 NR (Ferry tunnels nothing), counted, instead of a silent close', async () => {
    const before = await metric(proxy, 'ferry_requests_total', { response_code: '404', response_flags: 'NR' });
    const x = await rawExchange(port, ['CONNECT upstream.test:443 HTTP/1.1\r\nHost: upstream.test:443\r\n\r\n']);
    assert.deepEqual(x.responses.map((r) => [r.status, header(r, 'x-ferry-response-flags')]), [[404, 'NR']]);
    assert.ok(x.closed);
    assert.equal((await metric(proxy, 'ferry_requests_total', { response_code: '404', response_flags: 'NR' })) - before, 1);
  });

  test('a request pipelined after Connection: close is not read, and the first one is answered', async () => {
    upstream.take();
    const x = await rawExchange(port, [`GET /first HTTP/1.1\r\n${H}Connection: close\r\n\r\nGET /second HTTP/1.1\r\n${H}\r\n`]);
    assert.deepEqual(x.responses.map((r) => r.status), [200]);
    assert.ok(x.closed);
    assert.deepEqual(upstream.take().requests.map((r) => r.target), ['/first']);
  });

  test('a broken request pipelined after a good one is answered 400 after the good one\'s response', async () => {
    upstream.take();
    const x = await rawExchange(port, [`GET /good HTTP/1.1\r\n${H}\r\nNOT A REQUEST\r\n\r\n`], { finals: 2 });
    assert.deepEqual(x.responses.map((r) => [r.status, header(r, 'x-upstream') ?? header(r, 'x-ferry-response-flags')]), [[200, 'raw'], [400, 'DPE']]);
    assert.deepEqual(upstream.take().requests.map((r) => r.target), ['/good']);
  });

  test('HTTP/1.1 over TLS has the same limits and answers: max_request_headers_kb, max_headers_count, DPE', async () => {
    const tls = { ca: caPem, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined };
    upstream.take();
    const big = await rawExchange(securePort, [`GET / HTTP/1.1\r\n${H}x-big: ${'b'.repeat(20 * 1024)}\r\n\r\n`], { tls });
    assert.deepEqual(big.responses.map((r) => r.status), [200], '20 KiB of headers is within the default 60 KiB');
    const many = await rawExchange(securePort, [`GET / HTTP/1.1\r\n${H}${headersOf(2199)}\r\n`], { tls });
    assert.deepEqual(many.responses.map((r) => r.status), [200]);
    const seen = upstream.take().requests;
    assert.equal(seen.length, 2);
    assert.equal(seen[1].headers.filter(([n]) => n.startsWith('x-h')).length, 2199, 'no header dropped');
    const over = await rawExchange(securePort, [`GET / HTTP/1.1\r\n${H}${headersOf(2500)}\r\n`], { tls });
    const bad = await rawExchange(securePort, [`GET / HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`], { tls });
    assert.deepEqual([over, bad].map((x) => [x.responses[0]?.status, header(x.responses[0], 'x-ferry-response-flags')]), [[431, 'DPE'], [400, 'DPE']]);
    assert.equal(upstream.take().requests.length, 0);
  });
});
