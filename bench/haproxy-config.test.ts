// Tests for the generated HAProxy configurations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyHttpHop, haproxyManyServices, haproxyTcpHop, spiffeIdHex } from './haproxy-config';

test('HTTP hop: one thread, http mode, bind and server on loopback', () => {
  const cfg = haproxyHttpHop({ listenPort: 10001, upstreamPort: 10002 });
  assert.match(cfg, /^\s*nbthread 1$/m);
  assert.match(cfg, /^\s*mode http$/m);
  assert.match(cfg, /^\s*bind 127\.0\.0\.1:10001$/m);
  assert.match(cfg, /^\s*server s1 127\.0\.0\.1:10002\b/m);
  assert.match(cfg, /^\s*timeout client /m);
});

test('TCP hop uses tcp mode and no HTTP options', () => {
  const cfg = haproxyTcpHop({ listenPort: 1, upstreamPort: 2 });
  assert.match(cfg, /^\s*mode tcp$/m);
  assert.doesNotMatch(cfg, /http-/);
  assert.match(cfg, /server s1 127\.0\.0\.1:2$/m);
});

test('many services: one backend per service and a host map naming each', () => {
  const { config, mapFile } = haproxyManyServices({ listenPort: 1, upstreamPort: 2, services: 1000, mapPath: '/tmp/x.map' });
  assert.equal(config.match(/^backend svc-\d+$/gm)?.length, 1000);
  assert.match(config, /map\(\/tmp\/x\.map\)/);
  const lines = mapFile.trim().split('\n');
  assert.equal(lines.length, 1000);
  assert.equal(lines[42], 'svc-42.bench.local svc-42');
});

const TLS = { certFile: '/c/x-cert.pem', keyFile: '/c/x-key.pem', combinedFile: '/c/x.pem', caFile: '/c/ca.pem' };

test('mTLS client hop (A): the server line has the certificate and verifies the peer chain against the Ferry CA', () => {
  const cfg = haproxyHttpHop({ listenPort: 1, upstreamPort: 2, tls: { role: 'client', ...TLS, peerSpiffeId: 'spiffe://cluster.local/ns/bench/sa/server' } });
  assert.match(cfg, /^\s*server s1 127\.0\.0\.1:2 ssl crt \/c\/x\.pem ca-file \/c\/ca\.pem verify required alpn http\/1\.1$/m);
  assert.match(cfg, /^\s*bind 127\.0\.0\.1:1$/m);
  assert.doesNotMatch(cfg, /tcp-request session/);
});

test('mTLS server hop (B): the bind line requires a verified client certificate and the client SPIFFE ID is matched per connection', () => {
  const id = 'spiffe://cluster.local/ns/bench/sa/client';
  const cfg = haproxyTcpHop({ listenPort: 1, upstreamPort: 2, tls: { role: 'server', ...TLS, peerSpiffeId: id } });
  assert.match(cfg, /^\s*bind 127\.0\.0\.1:1 ssl crt \/c\/x\.pem ca-file \/c\/ca\.pem verify required$/m);
  assert.match(cfg, new RegExp(`^\\s*tcp-request session reject unless \\{ ssl_c_der,hex -m sub ${spiffeIdHex(id)} \\}$`, 'm'));
  assert.match(cfg, /^\s*server s1 127\.0\.0\.1:2$/m);
  assert.equal(spiffeIdHex('spiffe://a'), '7370696666653A2F2F61');
});
