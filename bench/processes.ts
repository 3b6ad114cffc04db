// Starts, health-checks and stops the benchmark's child processes (proxies, upstream, load generator).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { FerryError } from '../src/errors';
import { exitReason } from './exit-reason';
import { parseCpuTicks, parseRssMb } from './proc-stats';

/** Every process still running, so an interrupted run can kill them all by pid. */
const live = new Set<ManagedProcess>();

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** CPU to pin to with taskset; null = not pinned. */
  readonly cpu: number | null;
  /** File receiving stdout and stderr. */
  readonly logPath: string;
  readonly tasksetPath: string | null;
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private exitInfo: { code: number | null; signal: string | null } | null = null;
  private tail = '';
  private readonly child: ChildProcess;

  constructor(opts: StartOptions) {
    this.name = opts.name;
    const pinned = opts.cpu !== null && opts.tasksetPath !== null;
    // taskset execs the command, so the pid is the proxy's own.
    const command = pinned ? opts.tasksetPath! : opts.command;
    const args = pinned ? ['-c', String(opts.cpu), opts.command, ...opts.args] : [...opts.args];
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(opts.logPath);
    const keep = (chunk: Buffer): void => {
      log.write(chunk);
      this.tail = (this.tail + chunk.toString('utf8')).slice(-8000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.tail += `\nspawn failed: ${err.message}`;
        this.exitInfo = { code: -1, signal: null };
        live.delete(this);
        log.end();
        resolve(this.exitInfo);
      });
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        // Let the pipes drain before the tail is read.
        setImmediate(() => log.end());
        resolve(this.exitInfo);
      });
    });
    this.pid = this.child.pid ?? -1;
    live.add(this);
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** Why the process is gone, with the end of its output, for a failed run's `error`. */
  describeExit(): string {
    const info = this.exitInfo;
    const how = info === null ? 'is running' : info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    const out = exitReason(this.tail);
    return `${this.name} ${how}${out ? `: ${out}` : ''}`;
  }

  /** SIGTERM by pid, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.hasExited || this.pid < 0) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function startProcess(opts: StartOptions): ManagedProcess {
  return new ManagedProcess(opts);
}

/** Stops every process this module started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Synchronous last resort on exit: SIGKILL by pid. */
export function killAllNow(): void {
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function assertAlive(procs: readonly ManagedProcess[]): void {
  for (const p of procs) {
    if (p.hasExited) throw new FerryError('FERRY_ERR_BENCH_PROCESS', p.describeExit());
  }
}

/** One attempt of `check`, bounded by `timeoutMs`; resolves true on success. */
type Check = () => Promise<boolean>;

async function waitFor(what: string, check: Check, timeoutMs: number, procs: readonly ManagedProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    assertAlive(procs);
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      assertAlive(procs);
      throw new FerryError('FERRY_ERR_BENCH_HEALTH', `${what} did not answer within ${timeoutMs} ms (${last})`);
    }
    await sleep(100);
  }
}

function tcpConnect(port: number, payload: Buffer | null): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), 1000);
    let received = Buffer.alloc(0);
    socket.on('connect', () => {
      if (payload === null) {
        clearTimeout(timer);
        socket.destroy();
        resolve(true);
      } else {
        socket.write(payload);
      }
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (payload !== null && received.length >= payload.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received.subarray(0, payload.length).equals(payload));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Waits until 127.0.0.1:port accepts a connection. */
export function waitForPort(port: number, timeoutMs: number, procs: readonly ManagedProcess[]): Promise<void> {
  return waitFor(`127.0.0.1:${port}`, () => tcpConnect(port, null), timeoutMs, procs);
}

/** Waits until a TCP echo through 127.0.0.1:port comes back intact. */
export function waitForEcho(port: number, timeoutMs: number, procs: readonly ManagedProcess[]): Promise<void> {
  return waitFor(`TCP echo via 127.0.0.1:${port}`, () => tcpConnect(port, Buffer.from('ferry-bench-probe\n')), timeoutMs, procs);
}

/** GET http://127.0.0.1:port{path} with an optional Host header; resolves to the status code. */
export function httpGet(port: number, path: string, host?: string, agent?: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (host !== undefined) headers['host'] = host;
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: agent ?? false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Waits until GET through 127.0.0.1:port answers 200 (the whole chain is wired). */
export function waitForHttp200(port: number, timeoutMs: number, procs: readonly ManagedProcess[], host?: string): Promise<void> {
  return waitFor(
    `HTTP via 127.0.0.1:${port}`,
    async () => {
      const status = await httpGet(port, '/echo', host);
      if (status !== 200) throw new Error(`status ${status}`);
      return true;
    },
    timeoutMs,
    procs,
  );
}

export interface CommandResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion (killed after `timeoutMs`), pinned like the others. */
export async function runToCompletion(opts: StartOptions & { readonly timeoutMs: number }): Promise<CommandResult> {
  const p = startProcess(opts);
  const timer = setTimeout(() => void p.stop(1000), opts.timeoutMs);
  const info = await p.exited;
  clearTimeout(timer);
  return { code: info.code, output: p.describeExit() };
}

/** User + system CPU seconds of the processes with these pids so far (from /proc/<pid>/stat). */
export function cpuSecondsOf(pids: readonly number[], clockTicks: number): number {
  let sum = 0;
  for (const pid of pids) sum += parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return sum / clockTicks;
}

/** Summed VmRSS of the processes with these pids, in MB (from /proc/<pid>/status). */
export function rssMbOf(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) sum += parseRssMb(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return sum;
}
