// Applies (or removes) the capture rules with iptables-restore: nft backend first, legacy as fallback.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { FerryError } from '../../src/errors';
import type { CaptureOptions } from '../../src/mesh/capture-options';
import { buildRules } from './iptables-rules';
import { cleanupPayload, installPayload } from './restore-payload';

export type IptablesMode = 'auto' | 'nft' | 'legacy';
export type Ipv6Mode = 'auto' | 'on' | 'off';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
/** Runs a program with optional stdin; never rejects for a non-zero exit (code -1 if it could not start). */
export type Runner = (cmd: string, args: readonly string[], input?: string) => Promise<RunResult>;

export interface InitRunOptions {
  readonly capture: CaptureOptions;
  readonly dryRun?: boolean;
  readonly cleanup?: boolean;
  readonly mode?: IptablesMode;
  readonly ipv6?: Ipv6Mode;
  readonly log?: (line: string) => void;
  readonly runner?: Runner;
  /** Whether the kernel has IPv6 (default: /proc/net/if_inet6 exists). */
  readonly ipv6Available?: boolean;
}

export interface Backend {
  readonly name: 'nft' | 'legacy' | 'default';
  readonly save: string;
  readonly restore: string;
}

export interface InitResult {
  readonly backend: Backend['name'] | null;
  /** The payloads given to (or, with dryRun, that would be given to) iptables-restore. */
  readonly applied: { readonly ipv4: string | null; readonly ipv6: string | null };
}

export const runCommand: Runner = (cmd, args, input) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: -1, stdout: '', stderr: String(err) });
      return;
    }
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: stderr + String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });

function backendFor(name: Backend['name'], family: 4 | 6): Backend {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  const mid = name === 'default' ? '' : `-${name}`;
  return { name, save: `${base}${mid}-save`, restore: `${base}${mid}-restore` };
}

function countRules(save: string): number {
  return save.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/**
 * Picks the backend: nft when its tools work, unless only legacy already holds rules in this
 * network namespace (mixing backends splits the rules and both half-apply); legacy when nft is
 * unavailable; the distribution's default `iptables-restore` as the last resort.
 */
export async function detectBackend(mode: IptablesMode, run: Runner): Promise<Backend> {
  const probe = async (name: Backend['name']) => {
    const b = backendFor(name, 4);
    const r = await run(b.save, ['-t', 'nat']);
    return r.code === 0 ? { name, rules: countRules(r.stdout), stderr: r.stderr } : { name, rules: -1, stderr: r.stderr };
  };
  if (mode === 'nft' || mode === 'legacy') {
    const p = await probe(mode);
    if (p.rules < 0) throw new FerryError('FERRY_ERR_IPTABLES', `iptables ${mode} backend unavailable: ${p.stderr.trim()}`);
    return backendFor(mode, 4);
  }
  const nft = await probe('nft');
  const legacy = await probe('legacy');
  if (nft.rules >= 0 && !(nft.rules === 0 && legacy.rules > 0)) return backendFor('nft', 4);
  if (legacy.rules >= 0) return backendFor('legacy', 4);
  const plain = await probe('default');
  if (plain.rules >= 0) return backendFor('default', 4);
  throw new FerryError(
    'FERRY_ERR_IPTABLES',
    `no working iptables found (tried iptables-nft-save, iptables-legacy-save, iptables-save): ${nft.stderr.trim()}`,
  );
}

/** Installs (or with `cleanup` removes) the rules; idempotent. */
export async function runInit(opts: InitRunOptions): Promise<InitResult> {
  const log = opts.log ?? (() => {});
  const rules = buildRules(opts.capture);
  if (opts.dryRun && !opts.cleanup) {
    return { backend: null, applied: { ipv4: rules.ipv4, ipv6: opts.ipv6 === 'off' ? null : rules.ipv6 } };
  }
  const run = opts.runner ?? runCommand;
  const backend = await detectBackend(opts.mode ?? 'auto', run);
  log(`ferry init: using iptables ${backend.name} backend`);
  const ipv6Available = opts.ipv6Available ?? existsSync('/proc/net/if_inet6');
  const families: (4 | 6)[] = [4];
  const ipv6 = opts.ipv6 ?? 'auto';
  if (ipv6 === 'on' || (ipv6 === 'auto' && ipv6Available)) families.push(6);
  else log('ferry init: IPv6 skipped (not available or turned off)');

  const applied: { ipv4: string | null; ipv6: string | null } = { ipv4: null, ipv6: null };
  for (const family of families) {
    const b = backendFor(backend.name, family);
    const saved = await run(b.save, ['-t', 'nat']);
    if (saved.code !== 0) {
      if (family === 6 && ipv6 === 'auto') {
        log(`ferry init: IPv6 skipped (${b.save} failed: ${saved.stderr.trim()})`);
        continue;
      }
      throw new FerryError('FERRY_ERR_IPTABLES', `${b.save} -t nat failed: ${saved.stderr.trim()}`);
    }
    const payload = opts.cleanup
      ? cleanupPayload(saved.stdout)
      : installPayload(family === 4 ? rules.ipv4 : rules.ipv6, saved.stdout);
    if (family === 4) applied.ipv4 = payload;
    else applied.ipv6 = payload;
    if (payload === null) {
      log(`ferry init: IPv${family}: nothing to remove`);
      continue;
    }
    if (opts.dryRun) continue;
    const r = await run(b.restore, ['--noflush'], payload);
    if (r.code !== 0) {
      throw new FerryError('FERRY_ERR_IPTABLES', `${b.restore} --noflush failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    log(`ferry init: IPv${family} rules ${opts.cleanup ? 'removed' : 'installed'}`);
  }
  return { backend: backend.name, applied };
}
