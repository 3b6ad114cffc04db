// A small flag parser for the ferry command: `--name value`, `--name=value`, booleans, and errors
// that name the flag.

import { FerryError } from '../errors';

export class UsageError extends FerryError {
  constructor(message: string) {
    super('FERRY_ERR_USAGE', message);
  }
}

export interface FlagSpec {
  readonly [name: string]: 'string' | 'boolean' | 'number';
}

export interface ParsedFlags {
  readonly values: Record<string, string | boolean | number>;
  readonly positional: string[];
}

export function parseFlags(argv: readonly string[], spec: FlagSpec, aliases: Record<string, string> = {}): ParsedFlags {
  const values: Record<string, string | boolean | number> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    let name = arg.replace(/^--?/, '');
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = aliases[name] ?? name;
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag --${name}`);
    if (kind === 'boolean') {
      values[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`flag --${name} needs a value`);
    if (kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new UsageError(`flag --${name}: ${JSON.stringify(v)} is not a number`);
      values[name] = n;
    } else values[name] = v;
  }
  return { values, positional };
}

/** Parses "host:port" (IPv6 as "[::1]:15000"). */
export function parseHostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]*):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`flag --${flag}: ${JSON.stringify(v)} is not host:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`flag --${flag}: port ${port} is out of range`);
  return { host: m[1] || '0.0.0.0', port };
}
