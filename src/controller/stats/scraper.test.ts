// The scraper against real HTTP servers on loopback: a counter reset, a target that hangs, one that is gone, one that fails, bounded concurrency.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { systemClock } from '../../clock/clock';
import { StatsAggregator } from './aggregator';
import { NO_RESOLVER } from './classify';
import { StatsScraper } from './scraper';
import { STATS_PATH, type StatsTarget, type TargetSource } from './targets';

async function serve(t: TestContext, handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; address: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function target(id: string, address: string): StatsTarget {
  return { id, address, path: STATS_PATH, identity: { namespace: 'shop', pod: id, workload: 'web' } };
}

function staticSource(targets: StatsTarget[]): TargetSource {
  return { targets: () => targets, pods: () => [], resolver: () => NO_RESOLVER };
}

function metricsText(requests: number): string {
  return [
    '# HELP ferry_requests_total HTTP/gRPC requests handled, by outcome.',
    '# TYPE ferry_requests_total counter',
    `ferry_requests_total{reporter="destination",source_principal="spiffe://cluster.local/ns/shop/sa/frontend",destination_service_name="web",destination_service_namespace="shop",response_code="200",connection_security_policy="mutual_tls"} ${requests}`,
    '',
  ].join('\n');
}

test('scraper: a counter reset between scrapes counts as rate() does; a hung, a dead and a failing target are reported down and do not stall the tick', async (t) => {
  const values = [100, 150, 20];
  let served = 0;
  const paths: string[] = [];
  const good = await serve(t, (req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(metricsText(values[Math.min(served++, values.length - 1)]));
  });
  const hung = await serve(t, () => undefined); // accepts, never answers
  const failing = await serve(t, (_req, res) => {
    res.writeHead(500);
    res.end('boom');
  });
  const gone = await serve(t, () => undefined);
  await new Promise<void>((r) => gone.server.close(() => r()));

  const agg = new StatsAggregator();
  const scraper = new StatsScraper({
    source: staticSource([target('web-0', good.address), target('hung', hung.address), target('gone', gone.address), target('failing', failing.address)]),
    aggregator: agg,
    clock: systemClock,
    timeoutMs: 300,
    concurrency: 4,
  });
  t.after(() => scraper.stop());
  for (let i = 0; i < 3; i++) await scraper.scrapeOnce();

  assert.deepEqual(paths, [STATS_PATH, STATS_PATH, STATS_PATH]);
  const w = agg.view({ kind: 'workload', windowMs: 3_600_000 }).find((g) => g.key === 'shop/web');
  assert.ok(w, 'the workload group exists');
  assert.equal(w.stats.requests, 50 + 20, '100 → 150 (+50), reset → 20 (+20)');
  assert.equal(w.stats.mtlsShare, 1);

  const health = new Map(scraper.targetHealth().map((h) => [h.id, h]));
  assert.equal(health.get('web-0')?.up, true);
  assert.equal(health.get('hung')?.up, false);
  assert.match(health.get('hung')!.lastError!, /timed out after 300 ms/);
  assert.match(health.get('gone')!.lastError!, /ECONNREFUSED/);
  assert.equal(health.get('failing')?.lastError, 'HTTP 500');
  assert.equal(scraper.ticks, 3);
});

test('scraper: no more scrapes in flight than the concurrency bound; every target is scraped each tick', async (t) => {
  let inFlight = 0;
  let maxInFlight = 0;
  let total = 0;
  const targets: StatsTarget[] = [];
  for (let i = 0; i < 6; i++) {
    const s = await serve(t, (_req, res) => {
      inFlight++;
      total++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Answer on a later turn so scrapes overlap if the scraper let them.
      setImmediate(() => {
        inFlight--;
        res.end(metricsText(1));
      });
    });
    targets.push(target(`web-${i}`, s.address));
  }
  const scraper = new StatsScraper({ source: staticSource(targets), aggregator: new StatsAggregator(), clock: systemClock, concurrency: 2 });
  t.after(() => scraper.stop());
  await scraper.scrapeOnce();
  await scraper.scrapeOnce();
  assert.equal(total, 12);
  assert.ok(maxInFlight <= 2, `${maxInFlight} scrapes were in flight at once`);
  assert.ok(scraper.targetHealth().every((h) => h.up));
});

test('scraper: options are checked by name', () => {
  const base = { source: staticSource([]), aggregator: new StatsAggregator(), clock: systemClock };
  assert.throws(() => new StatsScraper({ ...base, intervalMs: 0 }), /intervalMs: 0 must be > 0/);
  assert.throws(() => new StatsScraper({ ...base, timeoutMs: -1 }), /timeoutMs: -1 must be > 0/);
  assert.throws(() => new StatsScraper({ ...base, concurrency: 1.5 }), /concurrency: 1.5 must be an integer >= 1/);
});
