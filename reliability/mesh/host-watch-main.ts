// Watches one upstream host in a sidecar's admin /clusters page, as a program run inside the pod's network namespace (the admin listens on its loopback).
//
// Usage: node dist/reliability/mesh/host-watch-main.js --admin 127.0.0.1:PORT --cluster NAME --host IP:PORT [--interval-ms 100]
// Prints one JSON line per event ({"kind":"ejected","at":<epoch ms>}, see host-tracker.ts), and
// {"kind":"error",…} when the page cannot be read; runs until it is stopped.

import * as http from 'node:http';
import { systemClock } from '../../src/clock/clock';
import { parseFlags, parseHostPort, UsageError } from '../../src/flags/flags';
import { HostTracker, type HostRow } from './host-tracker';

interface ClustersPage {
  readonly clusters: { readonly name: string; readonly hosts: (HostRow & { readonly address: string })[] }[];
}

function readClusters(host: string, port: number, timeoutMs: number): Promise<ClustersPage> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/clusters?format=json', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`/clusters: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body) as ClustersPage);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('/clusters: timed out')));
    req.on('error', reject);
  });
}

async function main(argv: string[]): Promise<void> {
  const { values, positional } = parseFlags(argv, { admin: 'string', cluster: 'string', host: 'string', 'interval-ms': 'number' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof values.admin !== 'string' || typeof values.cluster !== 'string' || typeof values.host !== 'string') throw new UsageError('--admin, --cluster and --host are required');
  const admin = parseHostPort('admin', values.admin);
  const interval = typeof values['interval-ms'] === 'number' ? values['interval-ms'] : 100;
  if (!(interval >= 10 && interval <= 10_000)) throw new UsageError(`flag --interval-ms: must be 10–10000, got ${interval}`);
  const tracker = new HostTracker();
  const print = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  print({ kind: 'watching', at: systemClock.wallNow() });
  for (;;) {
    const started = systemClock.wallNow();
    try {
      const page = await readClusters(admin.host, admin.port, 2000);
      const row = page.clusters.find((c) => c.name === values.cluster)?.hosts.find((h) => h.address === values.host) ?? null;
      for (const e of tracker.sample(row, systemClock.wallNow())) print(e);
    } catch (err) {
      print({ kind: 'error', at: systemClock.wallNow(), message: (err as Error).message });
    }
    await new Promise((r) => systemClock.setTimeout(() => r(undefined), Math.max(0, interval - (systemClock.wallNow() - started))));
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`host-watch: ${err.message}\n`);
  process.exit(2);
});
