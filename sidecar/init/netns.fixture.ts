// Test support: uniquely named network namespaces that are always removed, and tool checks.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestContextLike {
  after(fn: () => void | Promise<void>): void;
}

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why a namespace test cannot run here, or null when it can. Without root it skips; as root in CI
 * (env CI set) a missing tool is a failure, not a skip, so CI never passes by skipping.
 */
export function netnsSkipReason(tools: readonly string[]): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces + iptables)';
  const missing = ['ip', ...tools].filter((t) => !have(t));
  if (missing.length === 0) return null;
  const reason = `missing tools: ${missing.join(', ')} (Debian packages: iptables, iproute2)`;
  if (process.env.CI) throw new Error(`running as root in CI but ${reason}`);
  return reason;
}

/** Whether a program exists on PATH. */
export function hasTool(tool: string): boolean {
  return have(tool);
}

/** Creates `ferry-t-<random>` with lo up; it is deleted when the test ends, pass or fail. */
export function createNetns(t: TestContextLike): string {
  const name = `ferry-t-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
  t.after(() => {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });
  execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'pipe' });
  return name;
}

/** Runs a program inside the namespace; throws with its stderr on failure. */
export function inNetns(ns: string, cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} in ${ns} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}
