// `ferry proxy` as a process: bad config exits non-zero naming the problem, SIGTERM drains in-flight
// requests, and --concurrency runs several workers behind one admin server.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { renderFixture } from '../fixtures/envoy/render';
import { closedPort, eventually, httpUpstream, request, type Upstream } from './support';

const FERRY = resolve(__dirname, '..', '..', '..', 'bin', 'ferry');

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn' } });
  const r: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((res) => child.once('exit', (code) => res(code))),
  };
  child.stdout!.on('data', (c) => (r.stdout += c));
  child.stderr!.on('data', (c) => (r.stderr += c));
  return r;
}

describe('ferry proxy (process)', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const upstreams: Upstream[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    for (const u of upstreams) await u.close();
  });

  test('malformed YAML exits 1 naming the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    dirs.push(dir);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'static_resources:\n  listeners:\n    - name: x\n   bad: [\n');
    const r = run(['proxy', '--config', file]);
    children.push(r.child);
    assert.equal(await r.exited, 1);
    assert.match(r.stderr, /bad\.yaml/);
    assert.match(r.stderr, /line \d+/);
  });

  test('an unsupported field exits 1 naming its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    dirs.push(dir);
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'static_resources:\n  clusters:\n  - name: a\n    connect_timeout: 1s\n  - name: b\n    connect_timeout: 1s\n    lb_policy: FANCY\n',
    );
    const r = run(['proxy', '--config', file]);
    children.push(r.child);
    assert.equal(await r.exited, 1);
    assert.match(r.stderr, /static_resources\.clusters\[1\]\.lb_policy/);
  });

  test('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const slow = await httpUpstream((_req, res) => setTimeout(() => res.end('finished'), 600));
    upstreams.push(slow);
    const port = await closedPort();
    const admin = await closedPort();
    const file = renderFixture('single-route', { PORT: port, ADMIN_PORT: admin, UPSTREAM_PORT: slow.port });
    dirs.push(dirname(file));
    const r = run(['proxy', '--config', file]);
    children.push(r.child);
    assert.ok(await eventually(() => r.stdout.includes('LIVE'), 10_000), `proxy did not start: ${r.stderr}`);
    const inflight = request(port, '/');
    await new Promise((res) => setTimeout(res, 150));
    r.child.kill('SIGTERM');
    const reply = await inflight;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'finished');
    assert.equal(await r.exited, 0);
  });

  test('--concurrency 2 serves through two workers and one admin server', async () => {
    const up = await httpUpstream((_req, res) => res.end(`pid`));
    upstreams.push(up);
    const port = await closedPort();
    const admin = await closedPort();
    const file = renderFixture('single-route', { PORT: port, ADMIN_PORT: admin, UPSTREAM_PORT: up.port });
    dirs.push(dirname(file));
    const r = run(['proxy', '--config', file, '--concurrency', '2']);
    children.push(r.child);
    assert.ok(await eventually(() => r.stdout.includes('LIVE with 2 workers'), 15_000), `proxy did not start: ${r.stderr}`);
    for (let i = 0; i < 20; i++) assert.equal((await request(port, '/')).status, 200);
    assert.equal((await request(admin, '/ready')).body.trim(), 'LIVE');
    const metrics = (await request(admin, '/stats/prometheus')).body;
    const m = /ferry_requests_total\{[^}]*response_code="200"[^}]*\} (\d+)/.exec(metrics);
    assert.ok(m, 'aggregated request counter present');
    assert.equal(Number(m[1]), 20);
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
  });
});
