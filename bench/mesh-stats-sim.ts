// The mesh-stats benchmark's two child processes: `serve N FILE` (N simulated sidecars' metrics on N loopback ports)
// and `scrape PORTS_FILE TICKS CONCURRENCY RESULT_FILE` (the controller's scraper and aggregator over them, measured).
//
// Each simulated sidecar is a real ProxyMetrics registry, so the text is what a Ferry sidecar serves:
// inbound requests from 3 callers × 2 response codes and outbound to 3 services, each with its 20-bucket
// duration histogram, plus TCP counters; every scrape first records a few more requests, so the
// aggregator sees moving counters. Run with --expose-gc for the memory figure.

import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../src/clock/clock';
import { StatsAggregator } from '../src/controller/stats/aggregator';
import { NO_RESOLVER } from '../src/controller/stats/classify';
import { StatsScraper } from '../src/controller/stats/scraper';
import { STATS_PATH, type StatsTarget, type TargetSource } from '../src/controller/stats/targets';
import { ProxyMetrics } from '../src/observability/metrics';

const CALLERS = ['frontend', 'cart', 'loadgen'];
const CODES = ['200', '503'];
const SERVICES = ['catalog', 'ledger', 'store'];

/** One simulated sidecar's metrics: the label children it would resolve, and a step of traffic. */
function sidecar(i: number): { text: () => Promise<string> } {
  const m = new ProxyMetrics({ defaultMetrics: false });
  const self = `app-${i % 50}`;
  const base = { destination_cluster: 'inbound|8080||', request_protocol: 'http', grpc_response_status: '-', response_flags: '-' };
  const inbound = CALLERS.flatMap((c) =>
    CODES.map((code) => {
      const labels = {
        ...base, reporter: 'destination', source_workload: 'unknown', source_workload_namespace: 'bench', source_principal: `spiffe://cluster.local/ns/bench/sa/${c}`,
        destination_service: `${self}.bench.svc.cluster.local`, destination_service_name: self, destination_service_namespace: 'bench', response_code: code, connection_security_policy: 'mutual_tls',
      };
      return { count: m.requestsTotal.labels(labels), duration: m.requestDuration.labels(labels) };
    }),
  );
  const outbound = SERVICES.map((s) => {
    const labels = {
      ...base, reporter: 'source', source_workload: self, source_workload_namespace: 'bench', source_principal: 'unknown', destination_service: `${s}.bench.svc.cluster.local`,
      destination_service_name: s, destination_service_namespace: 'bench', destination_cluster: `outbound|80||${s}.bench.svc.cluster.local`, response_code: '200', connection_security_policy: 'none',
    };
    return { count: m.requestsTotal.labels(labels), duration: m.requestDuration.labels(labels) };
  });
  const tcpLabels = { reporter: 'destination', source_workload: 'unknown', source_workload_namespace: 'bench', source_principal: 'unknown', destination_service: `${self}.bench.svc.cluster.local`, destination_service_name: self, destination_service_namespace: 'bench', destination_cluster: 'inbound|5432||', connection_security_policy: 'mutual_tls' };
  const opened = m.tcpOpened.labels(tcpLabels);
  const sent = m.tcpSentBytes.labels(tcpLabels);
  let n = 0;
  return {
    text: () => {
      for (const [k, c] of [...inbound, ...outbound].entries()) {
        const times = k % 2 === 0 ? 5 : 1;
        for (let j = 0; j < times; j++) {
          c.count.inc();
          c.duration.observe(((n++ % 97) + 1) / 1000);
        }
      }
      opened.inc();
      sent.inc(4096);
      return m.registry.metrics();
    },
  };
}

async function serve(count: number, file: string): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = sidecar(i);
    const server = createServer((req, res) => {
      if (req.url !== STATS_PATH) {
        res.writeHead(404).end();
        return;
      }
      s.text().then((body) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body), () => res.writeHead(500).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    ports.push((server.address() as AddressInfo).port);
  }
  writeFileSync(file, JSON.stringify(ports));
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1e6;
}

async function scrape(portsFile: string, ticks: number, concurrency: number, resultFile: string): Promise<void> {
  const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as number[];
  const targets: StatsTarget[] = ports.map((p, i) => ({ id: `bench/sidecar-${i}`, address: `127.0.0.1:${p}`, path: STATS_PATH, identity: { namespace: 'bench', pod: `sidecar-${i}`, workload: `app-${i % 50}` } }));
  const source: TargetSource = { targets: () => targets, pods: () => [], resolver: () => NO_RESOLVER };
  const heapBefore = heapMb();
  const aggregator = new StatsAggregator({ windowSize: 60 });
  const scraper = new StatsScraper({ source, aggregator, clock: systemClock, concurrency, timeoutMs: 5000 });
  // Warm-up: connections, JIT, and the aggregator's groups; then a full ring so memory is at its bound.
  for (let i = 0; i < 3; i++) await scraper.scrapeOnce();
  const tickMs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < ticks; i++) {
    const t0 = systemClock.now();
    await scraper.scrapeOnce();
    tickMs.push(systemClock.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  for (let i = ticks + 3; i < aggregator.windowSize + 1; i++) await scraper.scrapeOnce();
  const heapFull = heapMb();
  const health = scraper.targetHealth();
  const view = aggregator.view({ windowMs: 60_000 });
  // Without the scraper's kept-alive sockets: what the aggregator alone holds.
  await scraper.stop();
  await new Promise((r) => setTimeout(r, 100));
  const heapAggregator = heapMb();
  writeFileSync(resultFile, JSON.stringify({
    tickMs,
    cpuS: (cpu.user + cpu.system) / 1e6,
    scrapes: ticks * targets.length,
    down: health.filter((h) => !h.up).length,
    bytesPerScrape: health.reduce((s, h) => s + h.bytes, 0) / Math.max(1, health.length),
    heapMb: heapAggregator - heapBefore,
    scraperHeapMb: heapFull - heapBefore,
    groups: aggregator.groupCount,
    workloadRps: view.filter((v) => v.kind === 'workload').reduce((s, v) => s + v.stats.rps, 0),
    groupsKept: aggregator.groupCount,
  }));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'serve') void serve(Number(args[0]), args[1]);
else if (mode === 'scrape') void scrape(args[0], Number(args[1]), Number(args[2]), args[3]).then(() => process.exit(0));
else {
  process.stderr.write('usage: mesh-stats-sim.js serve N PORTS_FILE | scrape PORTS_FILE TICKS CONCURRENCY RESULT_FILE\n');
  process.exit(2);
}
