// Tests for the generated HAProxy configurations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyHttpHop, haproxyManyServices, haproxyTcpHop } from './haproxy-config';

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
