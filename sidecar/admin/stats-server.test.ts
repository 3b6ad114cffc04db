// Tests for the stats server on loopback: which paths serve metrics, with what type, and what a failure answers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { StatsServer, type MetricsSource } from './stats-server';

function get(port: number, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
      })
      .on('error', reject);
  });
}

const TYPE = 'text/plain; version=0.0.4; charset=utf-8';

test('metrics at /metrics and /stats/prometheus; every other path is 404 pointing there', async (t) => {
  const source: MetricsSource = { metricsText: async () => 'ferry_up 1\n', metricsContentType: TYPE };
  const server = new StatsServer(source, { host: '127.0.0.1', port: 0 });
  const port = await server.listen();
  t.after(() => server.close());
  const cases: { path: string; status: number; type: string; body: string }[] = [
    { path: '/metrics', status: 200, type: TYPE, body: 'ferry_up 1\n' },
    { path: '/stats/prometheus', status: 200, type: TYPE, body: 'ferry_up 1\n' },
    { path: '/', status: 404, type: 'text/plain', body: 'metrics are at /metrics\n' },
    { path: '/metrics/', status: 404, type: 'text/plain', body: 'metrics are at /metrics\n' },
    { path: '/metrics?x=1', status: 404, type: 'text/plain', body: 'metrics are at /metrics\n' },
    { path: '/stats', status: 404, type: 'text/plain', body: 'metrics are at /metrics\n' },
  ];
  for (const c of cases) {
    const r = await get(port, c.path);
    assert.deepEqual(r, { status: c.status, type: c.type, body: c.body }, c.path);
  }
});

test('a registry that fails to render answers 500 with no body', async (t) => {
  const source: MetricsSource = { metricsText: () => Promise.reject(new Error('collect failed')), metricsContentType: TYPE };
  const server = new StatsServer(source, { host: '127.0.0.1', port: 0 });
  const port = await server.listen();
  t.after(() => server.close());
  const r = await get(port, '/metrics');
  assert.equal(r.status, 500);
  assert.equal(r.body, '');
});

test('an address in use is refused at listen; close before listen is a no-op', async (t) => {
  const source: MetricsSource = { metricsText: async () => '', metricsContentType: TYPE };
  const first = new StatsServer(source, { host: '127.0.0.1', port: 0 });
  const port = await first.listen();
  t.after(() => first.close());
  const second = new StatsServer(source, { host: '127.0.0.1', port });
  await assert.rejects(second.listen(), /EADDRINUSE/);
  await new StatsServer(source, { host: '127.0.0.1', port: 0 }).close();
});
