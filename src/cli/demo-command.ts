// `ferry demo`: a Ferry proxy in front of three local demo upstreams, traffic through it, and a
// summary of what the proxy did, read back from its own metrics.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock/clock';
import { loadBootstrapFile } from '../config/bootstrap';
import { parsePrometheusText, sumWhere, histogramQuantile, type Sample } from '../observability/prom-text';
import { rootLogger } from '../observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { parseFlags } from '../flags/flags';

const TEMPLATE = path.resolve(__dirname, '..', '..', '..', 'examples', 'demo', 'bootstrap.yaml');

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.keepAliveTimeout = 60_000;
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function portOf(s: http.Server): number {
  return (s.address() as AddressInfo).port;
}

interface ClientResult {
  status: number;
  ms: number;
}

function request(port: number, p: string, agent: http.Agent, clock: Clock): Promise<ClientResult> {
  const start = clock.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: clock.now() - start }));
    });
    req.on('error', () => resolve({ status: 0, ms: clock.now() - start }));
  });
}

async function drive(port: number, p: string, total: number, concurrency: number, agent: http.Agent, clock: Clock): Promise<ClientResult[]> {
  const results: ClientResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      results.push(await request(port, p, agent, clock));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function demoCommand(argv: string[], clock: Clock = systemClock): Promise<number> {
  const { values } = parseFlags(argv, { requests: 'number', help: 'boolean' });
  if (values.help) {
    process.stdout.write('usage: ferry demo [--requests N]\n  Runs a proxy before three demo upstreams, sends traffic, prints what the proxy did.\n');
    return 0;
  }
  const n = typeof values.requests === 'number' ? values.requests : 400;
  rootLogger.setLevel('warn');

  // Three demo upstreams: steady, flaky (three of every five requests fail), slow (150 ms).
  let flakyCount = 0;
  const steady = await listen((_req, res) => res.end('steady\n'));
  const flaky = await listen((_req, res) => {
    flakyCount++;
    const phase = flakyCount % 5;
    if (phase >= 1 && phase <= 3) {
      res.statusCode = 503;
      res.end('flaky failure\n');
    } else res.end('flaky\n');
  });
  const slow = await listen((_req, res) => {
    clock.setTimeout(() => res.end('slow\n'), 150);
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-demo-'));
  const file = path.join(dir, 'bootstrap.yaml');
  const vars: Record<string, number> = {
    ADMIN_PORT: 0,
    LISTENER_PORT: 0,
    STEADY_PORT: portOf(steady),
    FLAKY_PORT: portOf(flaky),
    SLOW_PORT: portOf(slow),
  };
  fs.writeFileSync(file, fs.readFileSync(TEMPLATE, 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, k: string) => String(vars[k])));
  const proxy = new Proxy(loadBootstrapFile(file));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    await proxy.start();
    const port = proxy.listenerPort('demo_http');
    process.stdout.write(`Ferry demo: proxy listening on 127.0.0.1:${port}, admin on 127.0.0.1:${proxy.adminPort}\n`);
    process.stdout.write(`  upstreams: steady :${vars.STEADY_PORT}, flaky :${vars.FLAKY_PORT} (3 of every 5 requests 503), slow :${vars.SLOW_PORT} (150 ms)\n`);
    process.stdout.write(`Sending ${n} requests to /steady and /flaky (8 at a time) and ${Math.ceil(n / 40) * 8} to /slow (in bursts of 8)...\n\n`);
    const results: Record<string, ClientResult[]> = {};
    results['/steady'] = await drive(port, '/steady', n, 8, agent, clock);
    results['/flaky'] = await drive(port, '/flaky', n, 8, agent, clock);
    // The slow route gets bursts of 8 concurrent requests: more than its circuit breaker admits.
    results['/slow'] = [];
    for (let wave = 0; wave < Math.ceil(n / 40); wave++) results['/slow'].push(...(await drive(port, '/slow', 8, 8, agent, clock)));

    process.stdout.write('What the client saw:\n');
    process.stdout.write('  route     requests  2xx   503   other  p50 ms  p99 ms\n');
    for (const [route, rs] of Object.entries(results)) {
      const ok = rs.filter((r) => r.status >= 200 && r.status < 300).length;
      const s503 = rs.filter((r) => r.status === 503).length;
      const lat = rs.map((r) => r.ms).sort((a, b) => a - b);
      process.stdout.write(
        `  ${route.padEnd(9)} ${String(rs.length).padStart(8)} ${String(ok).padStart(4)} ${String(s503).padStart(5)} ${String(rs.length - ok - s503).padStart(6)}  ${pct(lat, 0.5).toFixed(1).padStart(6)}  ${pct(lat, 0.99).toFixed(1).padStart(6)}\n`,
      );
    }

    const metrics = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.adminPort, path: '/stats/prometheus' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    const samples: Sample[] = parsePrometheusText(metrics);
    process.stdout.write('\nWhat the proxy did (from its own metrics at /stats/prometheus):\n');
    for (const c of ['steady', 'flaky', 'slow']) {
      const where = { destination_cluster: c };
      const total = sumWhere(samples, 'ferry_requests_total', where);
      const p50 = histogramQuantile(samples, 'ferry_request_duration_seconds', 0.5, where) * 1000;
      const p99 = histogramQuantile(samples, 'ferry_request_duration_seconds', 0.99, where) * 1000;
      process.stdout.write(
        `  ${c.padEnd(7)} requests ${String(total).padStart(5)}  retries ${String(sumWhere(samples, 'ferry_upstream_rq_retry_total', { ...where, outcome: 'attempted' })).padStart(4)}` +
          `  ejections ${String(sumWhere(samples, 'ferry_upstream_ejections_total', where)).padStart(2)}` +
          `  overflow ${String(sumWhere(samples, 'ferry_upstream_rq_overflow_total', where)).padStart(4)}` +
          `  latency p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms\n`,
      );
    }
    const flags = new Map<string, number>();
    for (const s of samples) {
      if (s.name === 'ferry_requests_total' && s.labels.response_flags !== '-') {
        const k = `${s.labels.destination_cluster} ${s.labels.response_code} ${s.labels.response_flags}`;
        flags.set(k, (flags.get(k) ?? 0) + s.value);
      }
    }
    if (flags.size > 0) {
      process.stdout.write('  local replies (cluster, code, response flags):\n');
      for (const [k, v] of flags) process.stdout.write(`    ${k}: ${v}\n`);
    }
    process.stdout.write('\nThe retries turned the flaky upstream\'s 503s into 200s; the slow cluster\'s circuit breaker\n');
    process.stdout.write('answered the excess with 503 (flag UO) instead of queueing it. Demo done.\n');
    return 0;
  } finally {
    agent.destroy();
    await proxy.stop();
    for (const s of [steady, flaky, slow]) {
      s.closeAllConnections();
      s.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
