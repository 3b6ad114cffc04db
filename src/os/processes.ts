// Child processes with their output in a log file, optionally inside a network namespace and as another uid, stopped by pid.
//
// Each one starts in its own process group (detached), so a Ctrl-C at the terminal reaches only the
// parent, which then stops them in order; the pid is recorded before anything else happens.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Clock } from '../clock/clock';
import type { RunRecord } from './run-record';

export interface SpawnOptions {
  /** Network namespace to run in (`ip netns exec`; the pid is still the program's own, since it execs). */
  readonly netns?: string;
  /** Run as this uid (gid = uid, no supplementary groups) through setpriv. */
  readonly uid?: number;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
}

export class ManagedProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor(readonly name: string, argv: readonly string[], readonly opts: SpawnOptions, record: RunRecord) {
    let command = [...argv];
    if (opts.uid !== undefined) command = ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', ...command];
    if (opts.netns !== undefined) command = ['ip', 'netns', 'exec', opts.netns, ...command];
    const fd = openSync(opts.logFile, 'a');
    try {
      this.proc = spawn(command[0], command.slice(1), { stdio: ['ignore', fd, fd], env: opts.env, cwd: opts.cwd, detached: true });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve((this.exit = { code, signal })));
      this.proc.once('error', () => resolve((this.exit = { code: 127, signal: null })));
    });
    if (this.proc.pid !== undefined) record.addProcess(name, this.proc.pid);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** How it ended, or null while it runs. */
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exit;
  }

  /** The last `bytes` of its log. */
  tail(bytes = 2000): string {
    try {
      const text = readFileSync(this.opts.logFile, 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(clock: Clock, graceMs: number): Promise<void> {
    if (this.exit !== null || this.proc.pid === undefined) return;
    signal(this.proc.pid, 'SIGTERM');
    const timer = clock.setTimeout(() => signal(this.proc.pid!, 'SIGKILL'), graceMs);
    await this.exited;
    clock.clearTimeout(timer);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
