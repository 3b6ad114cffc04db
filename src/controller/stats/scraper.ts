// The stats scraper: every interval, fetch each target's Prometheus text (bounded concurrency, a timeout each) into the aggregator.

import { Agent, request } from 'node:http';
import type { Clock, Timer } from '../../clock/clock';
import type { Logger } from '../../observability/logger';
import type { StatsAggregator } from './aggregator';
import type { StatsTarget, TargetSource } from './targets';

/** The last scrape of one target. */
export interface TargetHealth {
  readonly id: string;
  readonly address: string;
  readonly up: boolean;
  /** Why the last scrape failed (timeout, refused, HTTP status, too large). */
  readonly lastError: string | null;
  /** Wall time of the last attempt, ms since the epoch. */
  readonly lastScrapeAt: number;
  readonly durationMs: number;
  readonly bytes: number;
}

export interface ScraperOptions {
  readonly source: TargetSource;
  readonly aggregator: StatsAggregator;
  readonly clock: Clock;
  /** Between the starts of two ticks (default 5000). */
  readonly intervalMs?: number;
  /** Per scrape (default 2000). */
  readonly timeoutMs?: number;
  /** Scrapes in flight at once (default 16). */
  readonly concurrency?: number;
  /** A response larger than this is an error (default 8 MiB). */
  readonly maxBytes?: number;
  readonly logger?: Logger;
}

/** One GET of a target's metrics; rejects with a message naming what went wrong. */
export function fetchMetrics(target: StatsTarget, timeoutMs: number, maxBytes: number, clock: Clock, agent?: Agent): Promise<string> {
  const url = new URL(`http://${target.address}${target.path}`);
  return new Promise((resolve, reject) => {
    let timer: Timer | null = null;
    const req = request({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), path: url.pathname, method: 'GET', agent, headers: { accept: 'text/plain' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new Error(`HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          finish(new Error(`response larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish(null, Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => finish(err));
    });
    let done = false;
    const finish = (err: Error | null, body?: string): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      if (err) reject(err);
      else resolve(body!);
    };
    timer = clock.setTimeout(() => {
      req.destroy();
      finish(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => finish(err));
    req.end();
  });
}

export class StatsScraper {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  private readonly maxBytes: number;
  private readonly health = new Map<string, TargetHealth>();
  private readonly agent: Agent;
  private timer: Timer | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  /** Ticks completed. */
  ticks = 0;

  constructor(private readonly o: ScraperOptions) {
    this.intervalMs = o.intervalMs ?? 5000;
    this.timeoutMs = o.timeoutMs ?? 2000;
    this.concurrency = o.concurrency ?? 16;
    this.maxBytes = o.maxBytes ?? 8 * 1024 * 1024;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs: ${this.intervalMs} must be > 0`);
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs: ${this.timeoutMs} must be > 0`);
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new RangeError(`concurrency: ${this.concurrency} must be an integer >= 1`);
    // One kept-alive connection per target between ticks: a scrape is a request, not a handshake.
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  }

  /** Scrapes now, then every interval (a tick that overruns delays the next; ticks never overlap). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = (): void => {
      const started = this.o.clock.now();
      this.running = this.scrapeOnce().finally(() => {
        this.running = null;
        if (this.stopped) return;
        const wait = Math.max(0, this.intervalMs - (this.o.clock.now() - started));
        this.timer = this.o.clock.setTimeout(loop, wait);
        this.timer.unref();
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    this.agent.destroy();
  }

  /** One tick: every target once, then a snapshot in the aggregator. */
  async scrapeOnce(): Promise<void> {
    const agg = this.o.aggregator;
    const targets = this.o.source.targets();
    agg.setResolver(this.o.source.resolver());
    agg.retainTargets(new Set(targets.map((t) => t.id)));
    for (const id of this.health.keys()) if (!targets.some((t) => t.id === id)) this.health.delete(id);
    agg.beginTick();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const t = targets[next++];
        await this.scrapeTarget(t);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, targets.length) }, worker));
    agg.endTick(this.o.clock.now(), this.o.clock.wallNow());
    this.ticks++;
  }

  private async scrapeTarget(t: StatsTarget): Promise<void> {
    const clock = this.o.clock;
    const t0 = clock.now();
    const at = clock.wallNow();
    try {
      const text = await fetchMetrics(t, this.timeoutMs, this.maxBytes, clock, this.agent);
      this.o.aggregator.ingest(t.id, t.identity, text);
      this.health.set(t.id, { id: t.id, address: t.address, up: true, lastError: null, lastScrapeAt: at, durationMs: clock.now() - t0, bytes: Buffer.byteLength(text) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const before = this.health.get(t.id);
      if (before?.up !== false && this.o.logger?.enabled('warn')) this.o.logger.warn('stats scrape failed', { target: t.id, address: t.address, err: message });
      this.health.set(t.id, { id: t.id, address: t.address, up: false, lastError: message, lastScrapeAt: at, durationMs: clock.now() - t0, bytes: 0 });
    }
  }

  /** Each current target's last scrape, by id. */
  targetHealth(): TargetHealth[] {
    return [...this.health.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}
