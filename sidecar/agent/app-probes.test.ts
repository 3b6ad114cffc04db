// Table tests for FERRY_APP_PROBES parsing, including the injector's own output.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors';
import { rewriteProbes } from '../../webhook/probes';
import { parseAppProbes, type AppProbeConfig } from './app-probes';

const parseOne = (entry: unknown, key = 'app/readiness'): AppProbeConfig => {
  const probes = parseAppProbes(JSON.stringify({ [key]: entry }));
  assert.equal(probes.size, 1);
  return probes.get(key)!;
};

test('valid entries become frozen probe configs', () => {
  const cases: { name: string; entry: unknown; want: AppProbeConfig }[] = [
    {
      name: 'httpGet with defaults (timeout 1 s, path /, HTTP)',
      entry: { httpGet: { port: 8080 } },
      want: { container: 'app', kind: 'readiness', timeoutMs: 1000, action: { type: 'http', port: 8080, path: '/', scheme: 'HTTP', headers: [] } },
    },
    {
      name: 'httpGet HTTPS with headers, path without slash, timeout',
      entry: { httpGet: { port: 8443, path: 'healthz', scheme: 'https', httpHeaders: [{ name: 'X-Probe', value: 'k8s' }] }, timeoutSeconds: 3 },
      want: {
        container: 'app',
        kind: 'readiness',
        timeoutMs: 3000,
        action: { type: 'http', port: 8443, path: '/healthz', scheme: 'HTTPS', headers: [['X-Probe', 'k8s']] },
      },
    },
    {
      name: 'tcpSocket with a numeric-string port',
      entry: { tcpSocket: { port: '5432' } },
      want: { container: 'app', kind: 'readiness', timeoutMs: 1000, action: { type: 'tcp', port: 5432 } },
    },
    {
      name: 'grpc without service checks the server ("")',
      entry: { grpc: { port: 9090 }, timeoutSeconds: 2 },
      want: { container: 'app', kind: 'readiness', timeoutMs: 2000, action: { type: 'grpc', port: 9090, service: '' } },
    },
    {
      name: 'grpc with service',
      entry: { grpc: { port: 9090, service: 'orders.v1.Orders' } },
      want: { container: 'app', kind: 'readiness', timeoutMs: 1000, action: { type: 'grpc', port: 9090, service: 'orders.v1.Orders' } },
    },
  ];
  for (const c of cases) {
    const got = parseOne(c.entry);
    assert.deepEqual(got, c.want, c.name);
    assert.ok(Object.isFrozen(got), `${c.name}: frozen`);
  }
});

test('a bad entry is kept as invalid with a message naming the field; others still parse', () => {
  const cases: { name: string; entry: unknown; message: RegExp }[] = [
    { name: 'no action', entry: { timeoutSeconds: 1 }, message: /FERRY_APP_PROBES\["app\/readiness"\]: must have exactly one of httpGet, tcpSocket, grpc \(has none\)/ },
    { name: 'two actions', entry: { httpGet: { port: 1 }, tcpSocket: { port: 1 } }, message: /has httpGet, tcpSocket/ },
    { name: 'named port the injector could not resolve', entry: { httpGet: { port: 'http' } }, message: /\.httpGet\.port: named port "http" was not resolved/ },
    { name: 'port out of range', entry: { tcpSocket: { port: 70000 } }, message: /\.tcpSocket\.port: must be a port number 1–65535, got 70000/ },
    { name: 'port zero', entry: { grpc: { port: 0 } }, message: /\.grpc\.port: must be a port number/ },
    { name: 'bad scheme', entry: { httpGet: { port: 80, scheme: 'FTP' } }, message: /\.httpGet\.scheme: must be HTTP or HTTPS/ },
    { name: 'bad header name', entry: { httpGet: { port: 80, httpHeaders: [{ name: 'a b', value: 'x' }] } }, message: /\.httpGet\.httpHeaders\[0\]\.name/ },
    { name: 'header value with CRLF', entry: { httpGet: { port: 80, httpHeaders: [{ name: 'a', value: 'x\r\nb: y' }] } }, message: /\.httpGet\.httpHeaders\[0\]\.value/ },
    { name: 'timeout zero', entry: { tcpSocket: { port: 80 }, timeoutSeconds: 0 }, message: /\.timeoutSeconds: must be an integer 1–3600, got 0/ },
    { name: 'grpc service not a string', entry: { grpc: { port: 80, service: 7 } }, message: /\.grpc\.service: must be a string/ },
    { name: 'entry not an object', entry: 'tcp:80', message: /FERRY_APP_PROBES\["app\/readiness"\]: must be an object/ },
  ];
  for (const c of cases) {
    const probes = parseAppProbes(JSON.stringify({ 'app/readiness': c.entry, 'app/liveness': { tcpSocket: { port: 80 } } }));
    const bad = probes.get('app/readiness')!;
    assert.ok('invalid' in bad, `${c.name}: invalid`);
    assert.match(bad.invalid, c.message, c.name);
    assert.ok('action' in probes.get('app/liveness')!, `${c.name}: the other probe still parses`);
  }
});

test('a malformed document is a ConfigError naming FERRY_APP_PROBES', () => {
  const cases: { text: string; message: RegExp }[] = [
    { text: '{not json', message: /^FERRY_APP_PROBES: is not JSON/ },
    { text: '[1,2]', message: /^FERRY_APP_PROBES: must be a JSON object/ },
    { text: '{"app":{"tcpSocket":{"port":1}}}', message: /FERRY_APP_PROBES\["app"\]: key must be "<container>\/<liveness\|readiness\|startup>"/ },
    { text: '{"app/ready":{"tcpSocket":{"port":1}}}', message: /FERRY_APP_PROBES\["app\/ready"\]: key must be/ },
    { text: '{"App_1/liveness":{"tcpSocket":{"port":1}}}', message: /FERRY_APP_PROBES\["App_1\/liveness"\]: key must be/ },
  ];
  for (const c of cases) {
    assert.throws(() => parseAppProbes(c.text), (e: unknown) => e instanceof ConfigError && c.message.test(e.message), c.text);
  }
});

test('unset or empty means no probes', () => {
  assert.equal(parseAppProbes(undefined).size, 0);
  assert.equal(parseAppProbes('  ').size, 0);
  assert.equal(parseAppProbes('{}').size, 0);
});

test("the injector's FERRY_APP_PROBES parses entry for entry (named ports already resolved)", () => {
  const { probes } = rewriteProbes([
    {
      name: 'web',
      ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9090 }],
      livenessProbe: { httpGet: { port: 'http', path: '/live', httpHeaders: [{ name: 'X-A', value: '1' }] }, timeoutSeconds: 4 },
      readinessProbe: { tcpSocket: { port: 8080 } },
      startupProbe: { grpc: { port: 9090, service: 'web' } },
    },
  ]);
  const parsed = parseAppProbes(JSON.stringify(probes));
  assert.deepEqual([...parsed.keys()].sort(), ['web/liveness', 'web/readiness', 'web/startup']);
  assert.deepEqual(parsed.get('web/liveness'), {
    container: 'web',
    kind: 'liveness',
    timeoutMs: 4000,
    action: { type: 'http', port: 8080, path: '/live', scheme: 'HTTP', headers: [['X-A', '1']] },
  });
  assert.deepEqual(parsed.get('web/readiness'), { container: 'web', kind: 'readiness', timeoutMs: 1000, action: { type: 'tcp', port: 8080 } });
  assert.deepEqual(parsed.get('web/startup'), { container: 'web', kind: 'startup', timeoutMs: 1000, action: { type: 'grpc', port: 9090, service: 'web' } });
});
