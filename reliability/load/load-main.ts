// The load client as a program, for running inside a pod's network namespace (`ip netns exec NS node …`) so its sidecar captures it.
//
// Usage: node dist/reliability/load/load-main.js --target HOST:PORT [--protocol http1|h2c|grpc|tcp]
//          [--path /] [--method GET|POST] [--body-bytes N] --rps N --duration-ms MS [--timeout-ms MS]
//          [--retry-fresh] [--tcp-reuse] --out FILE
// SIGUSR2 ends the run early: nothing more is sent, the requests already sent are awaited and written.
// (--protocol: what one request is, load-client.ts; --retry-fresh: http1 only, repeat attempts that
// provably were not processed on a fresh connection, fresh-retry.ts; --tcp-reuse: tcp only, reuse
// connections instead of one per exchange)
// Prints `load: started at <epoch ms>` when the first request is due, then writes every request to FILE
// as JSON ({ startedAtWall, records }) and prints `load: done`.

import { writeFileSync } from 'node:fs';
import { systemClock } from '../../src/clock/clock';
import { parseFlags, parseHostPort, UsageError } from '../../src/flags/flags';
import { LOAD_PROTOCOLS, type LoadProtocol } from './exchange';
import { startLoad } from './load-client';

export interface LoadFile {
  /** Epoch ms when the first request was due: `at` of each record is relative to it. */
  readonly startedAtWall: number;
  readonly records: import('./outcomes').RequestRecord[];
}

async function main(argv: string[]): Promise<void> {
  const { values, positional } = parseFlags(argv, { target: 'string', protocol: 'string', path: 'string', method: 'string', rps: 'number', 'duration-ms': 'number', 'timeout-ms': 'number', 'body-bytes': 'number', 'retry-fresh': 'boolean', 'tcp-reuse': 'boolean', out: 'string' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof values.target !== 'string') throw new UsageError('flag --target HOST:PORT is required');
  if (typeof values.out !== 'string') throw new UsageError('flag --out FILE is required');
  if (typeof values.rps !== 'number' || !(values.rps > 0)) throw new UsageError('flag --rps: must be a number > 0');
  if (typeof values['duration-ms'] !== 'number' || !(values['duration-ms'] > 0)) throw new UsageError('flag --duration-ms: must be a number > 0');
  const method = typeof values.method === 'string' ? values.method : 'GET';
  if (method !== 'GET' && method !== 'POST') throw new UsageError(`flag --method: ${JSON.stringify(method)} is not GET or POST`);
  const bodyBytes = typeof values['body-bytes'] === 'number' ? values['body-bytes'] : 0;
  if (!(Number.isInteger(bodyBytes) && bodyBytes >= 0 && bodyBytes <= 1 << 20)) throw new UsageError('flag --body-bytes: must be a whole number 0–1048576');
  const protocol = typeof values.protocol === 'string' ? values.protocol : 'http1';
  if (!LOAD_PROTOCOLS.includes(protocol as LoadProtocol)) throw new UsageError(`flag --protocol: ${JSON.stringify(protocol)} is not one of ${LOAD_PROTOCOLS.join(', ')}`);
  if (protocol === 'tcp' && bodyBytes < 1) throw new UsageError('flag --body-bytes: tcp needs at least 1 (the bytes each exchange writes and reads back)');
  if (values['retry-fresh'] === true && protocol !== 'http1') throw new UsageError(`flag --retry-fresh: for http1 only, not ${protocol}`);
  if (values['tcp-reuse'] === true && protocol !== 'tcp') throw new UsageError(`flag --tcp-reuse: for tcp only, not ${protocol}`);
  const { host, port } = parseHostPort('target', values.target);
  const startedAtWall = systemClock.wallNow();
  const run = startLoad({ protocol: protocol as LoadProtocol, host, port, path: typeof values.path === 'string' ? values.path : '/', method, bodyBytes, rps: values.rps, durationMs: values['duration-ms'], timeoutMs: typeof values['timeout-ms'] === 'number' ? values['timeout-ms'] : 5000, retryOnFreshConnection: values['retry-fresh'] === true, reuseConnections: values['tcp-reuse'] === true }, systemClock);
  process.stdout.write(`load: started at ${startedAtWall}\n`);
  process.once('SIGUSR2', () => {
    process.stdout.write(`load: stopping after ${run.sent()} requests\n`);
    run.stop();
  });
  const records = await run.done;
  const file: LoadFile = { startedAtWall, records };
  writeFileSync(values.out, JSON.stringify(file));
  process.stdout.write(`load: done, ${records.length} requests\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`load: ${err.message}\n`);
  process.exit(2);
});
