// `ferry init`: reads flags, env and an optional annotations file, then installs or removes the capture rules.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FerryError } from '../../src/errors';
import {
  ANNOTATION_EXCLUDE_INBOUND_PORTS,
  ANNOTATION_EXCLUDE_OUTBOUND_CIDRS,
  ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_INCLUDE_INBOUND_PORTS,
  ANNOTATION_INCLUDE_OUTBOUND_CIDRS,
} from '../../src/mesh/constants';
import { type IptablesMode, type Ipv6Mode, runInit } from './apply';
import { type RawCaptureOptions, parseCaptureOptions } from '../../src/mesh/capture-options';

const USAGE = `usage: ferry init [--dry-run] [--cleanup] [options]

Installs the nat rules that send the pod's TCP traffic through the Ferry sidecar.

  --dry-run                      print the iptables-restore payloads instead of applying them
  --cleanup                      remove Ferry's chains and jumps
  --exclude-inbound-ports LIST   ports reached directly, not through the sidecar (e.g. 8081,9000)
  --include-inbound-ports LIST   only these ports are captured inbound ("*" = all, "" = none)
  --exclude-outbound-ports LIST  destination ports never captured
  --exclude-outbound-cidrs LIST  destination CIDRs never captured
  --include-outbound-cidrs LIST  only these destinations are captured ("*" = all, "" = none)
  --annotations-file FILE        read the options above from a downward-API annotations file
  --proxy-uid N / --proxy-gid N  the proxy's ids (default 1337); --proxy-gid none exempts no group
  --iptables-mode auto|nft|legacy  backend (default auto: nft unless only legacy holds rules)
  --ipv6 auto|on|off             IPv6 rules (default auto: when the kernel has IPv6)

Each list option can also come from the environment: FERRY_EXCLUDE_INBOUND_PORTS,
FERRY_INCLUDE_INBOUND_PORTS, FERRY_EXCLUDE_OUTBOUND_PORTS, FERRY_EXCLUDE_OUTBOUND_CIDRS,
FERRY_INCLUDE_OUTBOUND_CIDRS. Precedence: flag, then environment, then annotations file.
`;

/** flag name ↔ annotation ↔ env var */
const LIST_OPTIONS = [
  ['exclude-inbound-ports', ANNOTATION_EXCLUDE_INBOUND_PORTS],
  ['include-inbound-ports', ANNOTATION_INCLUDE_INBOUND_PORTS],
  ['exclude-outbound-ports', ANNOTATION_EXCLUDE_OUTBOUND_PORTS],
  ['exclude-outbound-cidrs', ANNOTATION_EXCLUDE_OUTBOUND_CIDRS],
  ['include-outbound-cidrs', ANNOTATION_INCLUDE_OUTBOUND_CIDRS],
] as const;

export interface CommandIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: CommandIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

/** Parses a Kubernetes downward-API annotations file: one `key="value"` per line, Go-quoted. */
export function parseAnnotationsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^=\s]+)="(.*)"\s*$/.exec(line);
    if (!m) continue;
    out[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  return out;
}

function parseId(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new FerryError('FERRY_ERR_USAGE', `--${flag}: "${value}" is not a number`);
  return Number(value);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new FerryError('FERRY_ERR_USAGE', `--${flag}: "${value}" must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Entry point for `ferry init`; resolves to the process exit code. */
export async function initCommand(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'dry-run': { type: 'boolean' },
        cleanup: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'annotations-file': { type: 'string' },
        'proxy-uid': { type: 'string' },
        'proxy-gid': { type: 'string' },
        'iptables-mode': { type: 'string' },
        ipv6: { type: 'string' },
        ...Object.fromEntries(LIST_OPTIONS.map(([flag]) => [flag, { type: 'string' as const }])),
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    io.stderr(`ferry init: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  let run;
  try {
    const fromFile = typeof values['annotations-file'] === 'string'
      ? parseAnnotationsFile(readFileSync(values['annotations-file'], 'utf8'))
      : {};
    const raw: Record<string, string | undefined> = {};
    for (const [flag, annotation] of LIST_OPTIONS) {
      const envName = `FERRY_${flag.toUpperCase().replace(/-/g, '_')}`;
      const flagValue = values[flag];
      raw[annotation] = typeof flagValue === 'string' ? flagValue : io.env[envName] ?? fromFile[annotation];
    }
    const gidText = values['proxy-gid'] as string | undefined;
    const capture = parseCaptureOptions(raw as RawCaptureOptions, {
      proxyUid: parseId('proxy-uid', values['proxy-uid'] as string | undefined),
      proxyGid: gidText === 'none' ? null : parseId('proxy-gid', gidText),
    });
    run = {
      capture,
      dryRun: values['dry-run'] === true,
      cleanup: values.cleanup === true,
      mode: oneOf<IptablesMode>('iptables-mode', values['iptables-mode'] as string | undefined, ['auto', 'nft', 'legacy'], 'auto'),
      ipv6: oneOf<Ipv6Mode>('ipv6', values.ipv6 as string | undefined, ['auto', 'on', 'off'], 'auto'),
      log: (line: string) => io.stderr(`${line}\n`),
    };
  } catch (err) {
    io.stderr(`ferry init: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const result = await runInit(run);
    if (run.dryRun) {
      for (const [name, payload] of [['IPv4', result.applied.ipv4], ['IPv6', result.applied.ipv6]] as const) {
        if (payload !== null) io.stdout(`# ${name}\n${payload}${payload.endsWith('\n') ? '' : '\n'}`);
      }
    }
    return 0;
  } catch (err) {
    io.stderr(`ferry init: ${(err as Error).message}\n`);
    return 1;
  }
}
