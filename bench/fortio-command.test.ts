// Tests for the fortio command lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fortioLoadArgs, fortioServerArgs } from './fortio-command';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

test('server listens only on loopback and disables grpc, redirect and udp', () => {
  const args = fortioServerArgs({ httpPort: 8080, tcpEchoPort: 8078 });
  assert.equal(args[0], 'server');
  assert.equal(flag(args, '-http-port'), '127.0.0.1:8080');
  assert.equal(flag(args, '-tcp-port'), '127.0.0.1:8078');
  for (const f of ['-grpc-port', '-redirect-port', '-udp-port']) assert.equal(flag(args, f), 'disabled');
});

test('load: rate, connections, duration, payload, percentiles, JSON path, URL last', () => {
  const args = fortioLoadArgs({ url: 'http://127.0.0.1:1/echo', qps: 1000, connections: 16, durationS: 30, payloadBytes: 1024, jsonPath: '/r.json', hostHeader: 'svc-1.bench.local' });
  assert.equal(args[0], 'load');
  assert.equal(flag(args, '-qps'), '1000');
  assert.equal(flag(args, '-c'), '16');
  assert.equal(flag(args, '-t'), '30s');
  assert.equal(flag(args, '-payload-size'), '1024');
  assert.equal(flag(args, '-p'), '50,90,99,99.9');
  assert.equal(flag(args, '-json'), '/r.json');
  assert.equal(flag(args, '-H'), 'Host: svc-1.bench.local');
  assert.equal(args.at(-1), 'http://127.0.0.1:1/echo');
});

test('warm-up writes no JSON and max rate is qps 0', () => {
  const args = fortioLoadArgs({ url: 'tcp://127.0.0.1:2', qps: 0, connections: 16, durationS: 1, payloadBytes: 16384, jsonPath: null });
  assert.equal(args.includes('-json'), false);
  assert.equal(flag(args, '-qps'), '0');
  assert.equal(args.includes('-H'), false);
});

test('webhook load: POSTs a payload file as JSON over HTTPS without verifying the self-signed certificate', () => {
  const args = fortioLoadArgs({
    url: 'https://127.0.0.1:3/inject', qps: 200, connections: 4, durationS: 5, payloadBytes: 1024, jsonPath: null,
    payloadFile: '/review.json', contentType: 'application/json', insecure: true,
  });
  assert.equal(flag(args, '-payload-file'), '/review.json');
  assert.equal(args.includes('-payload-size'), false);
  assert.equal(flag(args, '-content-type'), 'application/json');
  assert.equal(args.includes('-k'), true);
  assert.equal(args.at(-1), 'https://127.0.0.1:3/inject');
});
