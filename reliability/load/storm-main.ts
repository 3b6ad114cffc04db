// The connection storm as a program, a process of its own so it does not slow the load client; run
// inside a pod's network namespace (`ip netns exec NS …`) its connections leave through that pod's sidecar.
//
// Usage: node dist/reliability/load/storm-main.js --targets IP:PORT[,IP:PORT…] [--idle N] [--slowloris N]
//          [--tls-stall N] [--open-per-s N] [--byte-interval-ms MS] --duration-ms MS --out FILE
// Needs a descriptor limit above its connection count (start it under `prlimit --nofile=…`); prints
// `storm: started at <epoch ms>`, and at the end
// writes every connection to FILE as JSON ({ startedAtWall, connections }) and prints `storm: done`.

import { readFileSync, writeFileSync } from 'node:fs';
import { systemClock } from '../../src/clock/clock';
import { parseFlags, parseHostPort, UsageError } from '../../src/flags/flags';
import { runStorm, type StormConnection } from './storm';

export interface StormFile {
  /** Epoch ms when the storm started: the connections' times are relative to it. */
  readonly startedAtWall: number;
  readonly connections: StormConnection[];
}

/** Descriptors the storm may hold beyond its connections (stdio, the event loop, the out file). */
const SPARE_FDS = 64;

/** The soft limit on open files from /proc/self/limits ('unlimited' as Infinity). */
export function softNofile(limits: string): number {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (!m) throw new Error('/proc/self/limits has no "Max open files" line');
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

function count(v: unknown, flag: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UsageError(`flag --${flag}: must be a whole number >= 0`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const { values, positional } = parseFlags(argv, { targets: 'string', idle: 'number', slowloris: 'number', 'tls-stall': 'number', 'open-per-s': 'number', 'byte-interval-ms': 'number', 'duration-ms': 'number', out: 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof values.targets !== 'string') throw new UsageError('flag --targets IP:PORT[,IP:PORT…] is required');
  if (typeof values.out !== 'string') throw new UsageError('flag --out FILE is required');
  if (typeof values['duration-ms'] !== 'number' || !(values['duration-ms'] > 0)) throw new UsageError('flag --duration-ms: must be a number > 0');
  const targets = values.targets.split(',').map((t) => { const { host, port } = parseHostPort('targets', t); return { ip: host, port }; });
  const counts = { idle: count(values.idle, 'idle'), slowloris: count(values.slowloris, 'slowloris'), 'tls-stall': count(values['tls-stall'], 'tls-stall') };
  const total = counts.idle + counts.slowloris + counts['tls-stall'];
  const limit = softNofile(readFileSync('/proc/self/limits', 'utf8'));
  if (limit < total + SPARE_FDS) {
    throw new Error(`the descriptor limit is ${limit}, the storm needs ${total + SPARE_FDS}: start it under \`prlimit --nofile=${total + SPARE_FDS + 1024}\` (as root if above the hard limit)`);
  }
  const openPerSecond = typeof values['open-per-s'] === 'number' && values['open-per-s'] > 0 ? values['open-per-s'] : 2000;
  const byteIntervalMs = typeof values['byte-interval-ms'] === 'number' && values['byte-interval-ms'] > 0 ? values['byte-interval-ms'] : 2000;
  const startedAtWall = systemClock.wallNow();
  process.stdout.write(`storm: started at ${startedAtWall}\n`);
  const connections = await runStorm({ targets, counts, openPerSecond, byteIntervalMs, durationMs: values['duration-ms'] }, systemClock);
  const file: StormFile = { startedAtWall, connections };
  writeFileSync(values.out, JSON.stringify(file));
  process.stdout.write(`storm: done, ${connections.length} connections\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`storm: ${err.message}\n`);
    process.exit(2);
  });
}
