// Network namespaces, a bridge and veth pairs through `ip`, each recorded before it exists so a crash leaves nothing behind.
//
// The bridge sits in the root namespace (like a container runtime's), so the host reaches every pod
// IP directly; each pod namespace has `lo` and an `eth0` whose peer is on the bridge, with a default
// route via the bridge. Nothing is routed further: no forwarding, no NAT.

import { spawnSync } from 'node:child_process';
import type { RunRecord } from './run-record';

/** Runs `cmd args…` to completion; throws with its output on failure. */
export function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${`${r.stderr}${r.stdout}`.trim()}`);
  return r.stdout;
}

/** `cmd args…` inside namespace `ns`. */
export function nsExec(ns: string, cmd: string, args: readonly string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** Whether a program is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0;
}

/** The IPv4 prefixes routed on this host (`ip -4 route`), to pick a pod subnet that clashes with none. */
export function routedPrefixes(): string[] {
  const r = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').map((l) => l.split(' ')[0]).filter((p) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(p));
}

export class NetworkNamespaces {
  constructor(private readonly record: RunRecord) {}

  /** A bridge in the root namespace holding `address/prefixLen`, up. */
  addBridge(name: string, address: string, prefixLen: number): void {
    this.record.addLink(name);
    sh('ip', ['link', 'add', name, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${address}/${prefixLen}`, 'dev', name]);
    sh('ip', ['link', 'set', name, 'up']);
  }

  /** Namespace `ns` with lo up and eth0 at `ip/prefixLen` on `bridge` (host end `hostSide`), default route via `gateway`. */
  addPod(ns: string, opts: { bridge: string; hostSide: string; ip: string; prefixLen: number; gateway: string }): void {
    this.record.addNamespace(ns);
    sh('ip', ['netns', 'add', ns]);
    nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    this.record.addLink(opts.hostSide);
    sh('ip', ['link', 'add', opts.hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['link', 'set', opts.hostSide, 'master', opts.bridge]);
    sh('ip', ['link', 'set', opts.hostSide, 'up']);
    nsExec(ns, 'ip', ['addr', 'add', `${opts.ip}/${opts.prefixLen}`, 'dev', 'eth0']);
    nsExec(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    nsExec(ns, 'ip', ['route', 'add', 'default', 'via', opts.gateway]);
  }
}

/** Namespaces and links whose name starts with `prefix` (to check that a run left none). */
export function listByPrefix(prefix: string): { namespaces: string[]; links: string[] } {
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  return {
    namespaces: ns.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix)),
    links: links.split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0]).filter((n) => n.startsWith(prefix)),
  };
}
