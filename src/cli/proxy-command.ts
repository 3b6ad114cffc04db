// `ferry proxy --config FILE`: loads an Envoy v3 bootstrap and serves it with N workers.

import cluster from 'node:cluster';
import { loadBootstrapFile } from '../config/bootstrap';
import type { BootstrapConfig } from '../config/types';
import { rootLogger, type LogLevel } from '../observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { parseFlags, parseHostPort, UsageError } from '../flags/flags';
import { runPrimary, runWorker } from './workers';
import { collectStartupGarbage } from './startup-gc';
import { isPodProxy, podProxyCommand } from '../../sidecar/agent/pod-proxy';

export const PROXY_USAGE = `usage: ferry proxy --config FILE [--concurrency N] [--admin-address HOST:PORT]
                   [--stats-address HOST:PORT] [--drain-time-s S] [--log-level LEVEL]
  --config FILE            Envoy v3 bootstrap (YAML or JSON)
  --concurrency N          worker processes sharing the listeners (default 1)
  --admin-address A        admin server address when the bootstrap has none (default 127.0.0.1:15000)
  --stats-address A        also serve Prometheus metrics at http://A/metrics (e.g. 0.0.0.0:15090)
  --drain-time-s S         how long SIGTERM waits for in-flight requests (default 5)
  --log-level LEVEL        debug | info | warn | error (default info)
`;

export function loadProxyConfig(values: Record<string, string | boolean | number>): BootstrapConfig {
  const file = values.config;
  if (typeof file !== 'string') throw new UsageError('ferry proxy needs --config FILE');
  let cfg = loadBootstrapFile(file);
  const adminFlag = values['admin-address'];
  if (cfg.admin === null) {
    const address = parseHostPort('admin-address', typeof adminFlag === 'string' ? adminFlag : '127.0.0.1:15000');
    cfg = { ...cfg, admin: Object.freeze({ address: Object.freeze(address) }) };
  }
  const stats = values['stats-address'];
  if (typeof stats === 'string') cfg = { ...cfg, statsAddress: Object.freeze(parseHostPort('stats-address', stats)) };
  return Object.freeze(cfg);
}

export async function proxyCommand(argv: string[]): Promise<number> {
  // In a pod (no --config, FERRY_* env from the injector): bootstrap from the environment.
  if (isPodProxy(process.env, argv)) return podProxyCommand(argv, process.env);
  const { values } = parseFlags(argv, {
    config: 'string',
    concurrency: 'number',
    'admin-address': 'string',
    'stats-address': 'string',
    'drain-time-s': 'number',
    'log-level': 'string',
    help: 'boolean',
  }, { c: 'config' });
  if (values.help) {
    process.stdout.write(PROXY_USAGE);
    return 0;
  }
  if (typeof values['log-level'] === 'string') rootLogger.setLevel(values['log-level'] as LogLevel);
  const concurrency = typeof values.concurrency === 'number' ? values.concurrency : 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw new UsageError(`flag --concurrency: must be an integer 1–256, got ${concurrency}`);
  }
  const drainMs = (typeof values['drain-time-s'] === 'number' ? values['drain-time-s'] : 5) * 1000;
  const cfg = loadProxyConfig(values);
  if (cluster.isWorker) return runWorker(cfg, drainMs);
  if (concurrency > 1) return runPrimary(cfg, concurrency, drainMs);

  const proxy = new Proxy(cfg, { drainTimeoutMs: drainMs });
  await proxy.start();
  collectStartupGarbage();
  process.stdout.write(`ferry proxy: LIVE (admin ${cfg.admin?.address.host}:${proxy.adminPort})\n`);
  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      void proxy.drainAndStop().then(() => resolve(0));
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
