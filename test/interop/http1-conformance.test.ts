// Interop: the HTTP/1.1 conformance and smuggling corpus (./http1-cases.ts) sent as raw bytes to
// `ferry proxy` and to Envoy, both on the same bootstrap in front of one raw-TCP upstream that frames
// what it receives strictly. Ferry's outcome must be one the RFCs allow and, where they leave room,
// Envoy's; the upstream must never see a malformed or a smuggled request.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { closedPort, eventually, request } from '../integration/support';
import { header, rawExchange, type RawExchange } from '../support/raw-http-client';
import { RawHttpUpstream, type UpstreamRecord } from '../support/raw-http-upstream';
import { envoyMissing as envoyMissingOrCi, ENVOY_SKIP_REASON } from '../support/tools';
import { CASES, type Http1Case } from './http1-cases';

const envoyMissing = envoyMissingOrCi();
if (envoyMissing) console.log(`# skipping the HTTP/1.1 conformance corpus: ${ENVOY_SKIP_REASON}`);

const FERRY = resolve(__dirname, '..', '..', '..', 'bin', 'ferry');

/** The one bootstrap both proxies run; only the ports differ. */
function bootstrap(port: number, adminPort: number, upstreamPort: number): Record<string, unknown> {
  const addr = (p: number) => ({ socket_address: { address: '127.0.0.1', port_value: p } });
  return {
    admin: { address: addr(adminPort) },
    static_resources: {
      listeners: [
        {
          name: 'corpus',
          address: addr(port),
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'corpus',
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'raw' } }] }] },
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
          name: 'raw',
          connect_timeout: '1s',
          type: 'STATIC',
          load_assignment: { cluster_name: 'raw', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(upstreamPort) } }] }] },
        },
      ],
    },
  };
}

/**
 * `200 200`, `400 close` (closed, or the last response said `connection: close`), `closed` (closed
 * without a response) or `silent` (nothing at all).
 */
function outcome(x: RawExchange): string {
  if (x.responses.length === 0) return x.closed ? 'closed' : 'silent';
  const last = x.responses[x.responses.length - 1];
  const close = x.closed || /(^|,)\s*close\s*(,|$)/i.test(header(last, 'connection') ?? '');
  return `${x.responses.map((r) => r.status).join(' ')}${close ? ' close' : ''}`;
}

/** What is wrong with what the upstream saw for this case (empty when nothing is). */
function upstreamProblems(c: Http1Case, x: RawExchange, u: UpstreamRecord): string[] {
  const out: string[] = [...u.violations.map((v) => `upstream saw a malformed request: ${v}`)];
  const answered = x.responses.filter((r) => header(r, 'x-upstream') === 'raw').length;
  if (u.requests.length > answered) out.push(`upstream framed ${u.requests.length} requests, the client got ${answered} answers from it (smuggled?)`);
  for (const p of u.partial) if (!p.closed) out.push(`a half request (${p.bytes} bytes) was left open on upstream connection ${p.connection}`);
  const e = c.upstream;
  if (u.requests.length !== e.requests) out.push(`upstream framed ${u.requests.length} requests, expected ${e.requests}`);
  const first = u.requests[0];
  if (first !== undefined) {
    const headers = new Map<string, string[]>();
    for (const [n, v] of first.headers) headers.set(n, [...(headers.get(n) ?? []), v]);
    if (e.body !== undefined && first.body.toString('latin1') !== e.body) out.push(`upstream body ${JSON.stringify(first.body.toString('latin1'))}, expected ${JSON.stringify(e.body)}`);
    if (e.target !== undefined && first.target !== e.target) out.push(`upstream target ${first.target}, expected ${e.target}`);
    if (e.host !== undefined && headers.get('host')?.[0] !== e.host) out.push(`upstream host ${headers.get('host')?.[0]}, expected ${e.host}`);
    for (const n of e.without ?? []) if (headers.has(n)) out.push(`upstream got ${n}: ${headers.get(n)!.join(', ')}`);
    const tokens = (headers.get('connection') ?? []).flatMap((v) => v.toLowerCase().split(/\s*,\s*/));
    for (const t of e.withoutConnectionTokens ?? []) if (tokens.includes(t)) out.push(`upstream got the connection token ${t}`);
  }
  return out;
}

interface Row {
  readonly name: string;
  readonly ferry: string;
  readonly envoy: string;
  readonly expected: string;
}

function table(rows: readonly Row[]): string {
  const w = [Math.max(4, ...rows.map((r) => r.name.length)), 12, 12];
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w[0])}  ${b.padEnd(w[1])}  ${c.padEnd(w[2])}  ${d}`;
  return [line('case', 'Ferry', 'Envoy', 'expected (RFC 9110/9112)'), ...rows.map((r) => line(r.name, r.ferry, r.envoy, r.expected))].join('\n');
}

describe('HTTP/1.1 conformance and smuggling corpus: Ferry next to Envoy', { skip: envoyMissing ? ENVOY_SKIP_REASON : false, timeout: 180_000 }, () => {
  const upstream = new RawHttpUpstream();
  let dir = '';
  let ferry: ChildProcess | null = null;
  let envoy: ChildProcess | null = null;
  let ferryLog = '';
  let envoyLog = '';
  const ports = { ferry: 0, ferryAdmin: 0, envoy: 0, envoyAdmin: 0 };
  const rows: Row[] = [];

  before(async () => {
    await upstream.start();
    dir = mkdtempSync(join(tmpdir(), 'ferry-http1-corpus-'));
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await closedPort();
    const ferryFile = join(dir, 'ferry.json');
    const envoyFile = join(dir, 'envoy.json');
    writeFileSync(ferryFile, JSON.stringify(bootstrap(ports.ferry, ports.ferryAdmin, upstream.port), null, 2));
    writeFileSync(envoyFile, JSON.stringify(bootstrap(ports.envoy, ports.envoyAdmin, upstream.port), null, 2));
    ferry = spawn(process.execPath, [FERRY, 'proxy', '--config', ferryFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'error' } });
    ferry.stdout!.on('data', (d: Buffer) => (ferryLog += d.toString()));
    ferry.stderr!.on('data', (d: Buffer) => (ferryLog += d.toString()));
    const baseId = String(20_000 + (process.pid % 40_000));
    envoy = spawn('envoy', ['-c', envoyFile, '--disable-hot-restart', '--concurrency', '1', '-l', 'error', '--base-id', baseId], { stdio: ['ignore', 'pipe', 'pipe'] });
    envoy.stdout!.on('data', (d: Buffer) => (envoyLog += d.toString()));
    envoy.stderr!.on('data', (d: Buffer) => (envoyLog += d.toString()));
    const up = async (port: number) => (await request(port, '/').catch(() => null))?.status === 200;
    assert.ok(await eventually(() => up(ports.ferry), 15_000, 100), `ferry proxy did not start:\n${ferryLog.slice(-2000)}`);
    assert.ok(await eventually(() => up(ports.envoy), 20_000, 100), `envoy did not start:\n${envoyLog.slice(-2000)}`);
    upstream.take();
  });

  after(async () => {
    if (rows.length > 0) console.log(`\n${table(rows)}\n`);
    for (const p of [ferry, envoy]) {
      if (p && p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      }
    }
    await upstream.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Ferry's counters: protocol errors, and requests by (status, response flag). */
  async function counters(): Promise<(status: number, flag: string) => number> {
    const m = parsePrometheusText((await request(ports.ferryAdmin, '/stats/prometheus')).body);
    const errors = sumWhere(m, 'ferry_downstream_protocol_errors_total', {});
    return (status, flag) => errors + sumWhere(m, 'ferry_requests_total', { response_code: String(status), response_flags: flag });
  }

  async function run(port: number, c: Http1Case): Promise<{ x: RawExchange; u: UpstreamRecord }> {
    upstream.take();
    const x = await rawExchange(port, c.send, { finals: c.finals ?? 1, methods: c.methods, timeoutMs: c.timeoutMs ?? 2_000 });
    await new Promise((r) => setTimeout(r, 50));
    // A proxy that gave up on a request closes its upstream connection; give it a moment to.
    await eventually(() => upstream.halfOpen === 0, 1_000, 20);
    return { x, u: upstream.take() };
  }

  for (const c of CASES) {
    test(c.name, async () => {
      const before = await counters();
      const f = await run(ports.ferry, c);
      const after = await counters();
      const e = await run(ports.envoy, c);
      const fo = outcome(f.x);
      const eo = outcome(e.x);
      rows.push({ name: c.name, ferry: fo, envoy: eo, expected: `${c.rfc.join(' | ')}${c.differs ? ' (differs from Envoy)' : ''}` });
      const problems: string[] = [];
      if (!c.rfc.includes(fo)) problems.push(`Ferry answered ${fo}; ${c.why} allows ${c.rfc.join(' | ')}`);
      else if (c.differs === undefined && c.rfc.includes(eo) && fo !== eo) problems.push(`Ferry answered ${fo}, Envoy ${eo}: where the RFC leaves room Ferry answers as Envoy`);
      problems.push(...upstreamProblems(c, f.x, f.u));
      // Every local rejection says why (response flag) and is counted.
      const local = f.x.responses.filter((r) => r.status >= 400 && header(r, 'x-upstream') === undefined);
      for (const r of local) {
        const flag = header(r, 'x-ferry-response-flags');
        if (flag === undefined) problems.push(`Ferry's ${r.status} carries no x-ferry-response-flags`);
        else if (after(r.status, flag) <= before(r.status, flag)) problems.push(`Ferry's ${r.status} ${flag} was not counted (ferry_downstream_protocol_errors_total, ferry_requests_total)`);
      }
      const envoyUpstream = upstreamProblems({ ...c, upstream: { requests: e.u.requests.length } }, e.x, e.u);
      if (envoyUpstream.length > 0) console.log(`# Envoy, ${c.name}: ${envoyUpstream.join('; ')}`);
      assert.deepEqual(problems, [], `${c.name}\n  ferry: ${JSON.stringify(f.x.responses.map((r) => [r.status, r.body.slice(0, 80)]))}`);
    });
  }
});
