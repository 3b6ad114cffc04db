// Test support for `ferry up` tests: the command as a child process, its progress lines, its state.json, and cleanup even when a test fails.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { removeStaleRuns } from '../../src/os/run-record';
import { systemClock } from '../../src/clock/clock';
import { waitFor as sharedWaitFor } from '../support/wait';

export const REPO = resolve(__dirname, '..', '..', '..');
export const FERRY = join(REPO, 'bin', 'ferry');
export const SHOP = join(REPO, 'examples', 'shop');

export interface UpState {
  readonly dir: string;
  readonly mode: 'netns' | 'bind';
  readonly controller: { xds: string; admin: string; log: string };
  readonly services: { namespace: string; name: string; clusterIP: string; ports: number[] }[];
  readonly pods: {
    namespace: string;
    name: string;
    ip: string;
    netns: string | null;
    meshed: boolean;
    notMeshedBecause: string | null;
    ready: boolean;
    sidecar: { admin: string | null; stats: string; health: string } | null;
    appPorts: Record<string, number>;
    logs: Record<string, string>;
  }[];
}

export interface UpProcess {
  readonly proc: ChildProcess;
  readonly stateDir: string;
  output(): string;
  /** Resolves with the state once `ferry up: ready` is printed; rejects with the output if it exits first. */
  ready(timeoutMs?: number): Promise<UpState>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** A state folder for one test, removed (with whatever a run left) when the test ends. */
export function stateDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-up-test-'));
  t.after(() => {
    removeStaleRuns(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** `ferry up ARGS… --state-dir DIR`; SIGTERM (then SIGKILL) when the test ends. */
export function startUp(t: TestContext, dir: string, args: string[]): UpProcess {
  const proc = spawn(process.execPath, [FERRY, 'up', '--state-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  t.after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  return {
    proc,
    stateDir: dir,
    output: () => out,
    exited,
    ready: (timeoutMs = 45_000) =>
      new Promise((resolveReady, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          const m = /ferry up: ready .*; state (\S+)/.exec(out);
          if (m) {
            clearInterval(poll);
            resolveReady(JSON.parse(readFileSync(m[1], 'utf8')) as UpState);
          } else if (proc.exitCode !== null || Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error(`ferry up did not get ready (exit ${proc.exitCode}):\n${out}`));
          }
        }, 100);
      }),
  };
}

export interface Reply {
  readonly status: number;
  readonly body: string;
}

export function httpGet(host: string, port: number, path = '/', timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolveReply, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveReply({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export { sleep } from '../support/wait';

/** waitFor, polling every 200 ms (15 s unless told). */
export function waitFor<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 15_000): Promise<T> {
  return sharedWaitFor(what, probe, timeoutMs, systemClock, 200);
}

/** Whether `pid` still runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `ferry demo ARGS… --state-dir DIR` to its end (killed if the test ends first): exit code and output. */
export async function runDemo(t: TestContext, dir: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [FERRY, 'demo', ...args, '--state-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((done) => proc.on('exit', (c) => done(c)));
  return { code, out };
}
