// The Go xDS simulator (bench/xdssim) from the harness's side: build it, start a shard, talk to it in JSON lines.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FerryError } from '../src/errors';

/** Wall-clock ms with sub-ms resolution: the simulator reports ACK times on the same clock. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The bytes of `address` as SocketAddress.address (field 2, length-delimited) is encoded: tag,
 * length, text. The length byte makes the match exact (10.250.0.1 does not match inside 10.250.0.12).
 * The simulator looks for them in each stream's EDS responses.
 */
export function addressMarker(address: string): Buffer {
  const text = Buffer.from(address, 'utf8');
  if (text.length > 127) throw new RangeError(`address "${address}" is too long for a one-byte length`);
  return Buffer.concat([Buffer.from([(2 << 3) | 2, text.length]), text]);
}

/** The simulator's Go module, relative to the repository root. */
export const SIMULATOR_MODULE = path.join('bench', 'xdssim');

/**
 * Builds the simulator into `outPath` with the Go toolchain (`go build -C bench/xdssim`, run from
 * `repoRoot`; modules come from the Go module proxy, the build cache makes rebuilds fast).
 */
export function buildSimulator(repoRoot: string, outPath: string, timeoutMs = 300_000): Promise<void> {
  const args = ['build', '-C', SIMULATOR_MODULE, '-buildvcs=false', '-o', path.resolve(outPath), '.'];
  return new Promise((resolve, reject) => {
    execFile('go', args, { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const output = `${stdout}${stderr}`.trim();
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'go is not on PATH (install Go 1.26 or later)' : err.message.split('\n')[0];
      reject(new FerryError('FERRY_ERR_BENCH_XDS_SIM_BUILD', `building the xDS simulator failed: \`go ${args.join(' ')}\` in ${repoRoot}: ${why}${output ? `\n${output}` : ''}`, { cause: err }));
    });
  });
}

export type ShardMessage =
  | { type: 'synced' }
  | { type: 'armed'; id: number }
  | { type: 'converged'; id: number; first: number; last: number }
  | { type: 'error'; message: string };

export interface ShardOptions {
  /** The built simulator. */
  readonly binary: string;
  /** The ADS server, host:port. */
  readonly target: string;
  readonly from: number;
  readonly count: number;
  /** Services in the registry (the node ids depend on it). */
  readonly services: number;
  /** CPU to pin the shard to with taskset; null = not pinned. */
  readonly cpu: number | null;
  readonly tasksetPath: string | null;
}

/** One simulator process and a queue of the messages it wrote. */
export class ShardProcess {
  readonly child: ChildProcess;
  readonly name: string;
  private readonly inbox: ShardMessage[] = [];
  private waiters: (() => void)[] = [];
  private exitError: string | null = null;
  private readonly closed: Promise<void>;

  constructor(opts: ShardOptions, index: number) {
    this.name = `simulator shard ${index} (streams ${opts.from}–${opts.from + opts.count - 1})`;
    const args = [`--target=${opts.target}`, `--from=${opts.from}`, `--count=${opts.count}`, `--services=${opts.services}`];
    const pinned = opts.cpu !== null && opts.tasksetPath !== null;
    const stdio: ['pipe', 'pipe', 'inherit'] = ['pipe', 'pipe', 'inherit'];
    this.child = pinned ? spawn(opts.tasksetPath!, ['-c', String(opts.cpu), opts.binary, ...args], { stdio }) : spawn(opts.binary, args, { stdio });
    // Written after the child has gone: the failure is reported by 'close'.
    this.child.stdin!.on('error', () => {});
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    this.closed = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.exitError = `${this.name}: could not start ${opts.binary}: ${err.message}`;
        this.wake();
        resolve();
      });
      // 'close' comes after stdout has ended, so every line the shard wrote is in the inbox.
      this.child.on('close', (code, signal) => {
        this.exitError ??= `${this.name} exited (${signal ?? code})`;
        this.wake();
        resolve();
      });
    });
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let m: ShardMessage;
    try {
      m = JSON.parse(line) as ShardMessage;
    } catch {
      m = { type: 'error', message: `not a JSON line: ${JSON.stringify(line.slice(0, 200))}` };
    }
    this.inbox.push(m);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * The next message of `type` (for change `id`, when given); earlier ones of other types or
   * changes are dropped (a late answer to a timed-out change). Fails on an error, exit or timeout.
   */
  async next<T extends ShardMessage['type']>(type: T, timeoutMs: number, id?: number): Promise<Extract<ShardMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        if (m.type === 'error') throw new FerryError('FERRY_ERR_BENCH_XDS', `${this.name}: ${m.message}`);
        if (m.type === type && (id === undefined || !('id' in m) || m.id === id)) return m as Extract<ShardMessage, { type: T }>;
      }
      if (this.exitError) throw new FerryError('FERRY_ERR_BENCH_XDS', this.exitError);
      const left = deadline - Date.now();
      if (left <= 0) throw new FerryError('FERRY_ERR_BENCH_XDS', `${this.name}: no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Writes one command line (`expect`, `stop`) to the shard. */
  send(m: Record<string, unknown>): void {
    const stdin = this.child.stdin!;
    if (!stdin.destroyed && stdin.writable) stdin.write(`${JSON.stringify(m)}\n`);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.exitError === null;
  }

  /** Asks the shard to stop (and closes its stdin); kills it if it has not exited within 3 s. */
  async stop(): Promise<void> {
    if (this.running) {
      this.send({ cmd: 'stop' });
      this.child.stdin!.end();
    }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.closed;
    clearTimeout(t);
  }
}
