// Multi-worker mode (`--concurrency N`): N worker processes share the listening sockets (the kernel
// spreads connections), and the primary runs the admin server over all of them.

import { systemClock } from '../clock/clock';
import cluster, { type Worker } from 'node:cluster';
import * as http from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import type { BootstrapConfig } from '../config/types';
import { rootLogger } from '../observability/logger';
import { Proxy } from '../../sidecar/proxy';
import { AdminServer, type AdminTarget } from '../../sidecar/admin/admin-server';
import { collectStartupGarbage } from './startup-gc';

type Msg =
  | { ferry: 'ready' }
  | { ferry: 'drain' }
  | { ferry: 'get-clusters'; id: number }
  | { ferry: 'get-metrics'; id: number }
  | { ferry: 'reply'; id: number; body: unknown };

export async function runWorker(cfg: BootstrapConfig, drainMs: number): Promise<number> {
  const proxy = new Proxy(cfg, { admin: false, drainTimeoutMs: drainMs });
  await proxy.start();
  collectStartupGarbage();
  process.send?.({ ferry: 'ready' } satisfies Msg);
  return new Promise<number>((resolve) => {
    const stop = (): void => void proxy.drainAndStop().then(() => resolve(0));
    process.on('message', (m: Msg) => {
      if (m.ferry === 'drain') stop();
      else if (m.ferry === 'get-clusters') process.send?.({ ferry: 'reply', id: m.id, body: proxy.clustersJson() } satisfies Msg);
      else if (m.ferry === 'get-metrics') {
        void proxy.metrics.registry.getMetricsAsJSON().then((body) => process.send?.({ ferry: 'reply', id: m.id, body } satisfies Msg));
      }
    });
    process.once('SIGTERM', stop);
    process.once('SIGINT', () => undefined); // the primary decides
  });
}

export async function runPrimary(cfg: BootstrapConfig, n: number, drainMs: number): Promise<number> {
  const log = rootLogger.child('primary');
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers: Worker[] = [];
  let ready = 0;
  let draining = false;
  let seq = 0;
  const pending = new Map<number, { left: number; parts: unknown[]; resolve: (v: unknown[]) => void }>();
  const allReady = new Promise<void>((resolve, reject) => {
    for (let i = 0; i < n; i++) {
      const w = cluster.fork();
      workers.push(w);
      w.on('message', (m: Msg) => {
        if (m.ferry === 'ready' && ++ready === n) resolve();
        else if (m.ferry === 'reply') {
          const p = pending.get(m.id);
          if (p) {
            p.parts.push(m.body);
            if (--p.left === 0) {
              pending.delete(m.id);
              p.resolve(p.parts);
            }
          }
        }
      });
      w.on('exit', (code) => {
        if (!draining) {
          log.error('worker exited', { worker: w.id, code });
          reject(new Error(`worker ${w.id} exited with code ${code}`));
        }
      });
    }
  });
  await allReady;
  let state: AdminTarget['state'] = 'LIVE';
  const ask = (what: 'get-clusters' | 'get-metrics'): Promise<unknown[]> =>
    new Promise((resolve) => {
      const id = ++seq;
      pending.set(id, { left: workers.length, parts: [], resolve });
      for (const w of workers) w.send({ ferry: what, id } satisfies Msg);
      systemClock.setTimeout(() => {
        const p = pending.get(id);
        if (p) {
          pending.delete(id);
          resolve(p.parts);
        }
      }, 2_000).unref();
    });
  let lastClusters: unknown[] = [];
  const stopAll = async (): Promise<void> => {
    draining = true;
    state = 'DRAINING';
    const exits = workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    for (const w of workers) if (!w.isDead()) w.send({ ferry: 'drain' } satisfies Msg);
    await Promise.race([Promise.all(exits), new Promise<void>((r) => systemClock.setTimeout(() => r(), drainMs + 2_000))]);
    for (const w of workers) if (!w.isDead()) w.kill('SIGKILL');
  };
  // Each worker's metrics, summed per series (counters and histograms add; gauges add too).
  const aggregated = async (): Promise<string> => {
    const parts = (await ask('get-metrics')) as Parameters<typeof AggregatorRegistry.aggregate>[0];
    return AggregatorRegistry.aggregate(parts).metrics();
  };
  const contentType = 'text/plain; version=0.0.4; charset=utf-8';
  const target: AdminTarget = {
    get state() {
      return state;
    },
    configDump: () => ({ bootstrap: cfg, workers: n }),
    clustersJson: () => ({ workers: lastClusters }),
    clustersText: () => JSON.stringify(lastClusters, null, 2) + '\n',
    metricsText: aggregated,
    metricsContentType: contentType,
    drainListeners: () => {
      state = 'DRAINING';
      for (const w of workers) w.send({ ferry: 'drain' } satisfies Msg);
    },
    quit: () => void stopAll().then(() => process.exit(0)),
  };
  const refresh = systemClock.setInterval(() => void ask('get-clusters').then((c) => (lastClusters = c)), 1_000);
  refresh.unref();
  lastClusters = await ask('get-clusters');
  const admin = cfg.admin ? new AdminServer(target, cfg.admin.address) : null;
  const port = admin ? await admin.listen() : 0;
  let stats: http.Server | null = null;
  if (cfg.statsAddress) {
    stats = http.createServer((req, res) => {
      void aggregated().then((body) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      });
    });
    stats.listen(cfg.statsAddress.port, cfg.statsAddress.host);
  }
  process.stdout.write(`ferry proxy: LIVE with ${n} workers (admin ${cfg.admin?.address.host}:${port})\n`);
  return new Promise<number>((resolve) => {
    const shutdown = (): void => {
      void stopAll().then(async () => {
        systemClock.clearInterval(refresh);
        await admin?.close();
        stats?.close();
        resolve(0);
      });
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
