// The open-loop HTTP/1.1 load client: requests leave on a fixed schedule whatever the answers, each one recorded with its status, response flag or error.
//
// Open loop means a slow or failing server never slows the sender down (no back-pressure hides a
// failure): every request is sent when it is due, over a keep-alive agent with no socket cap, and a
// request that gets no answer within its timeout counts as ETIMEDOUT. Latency runs from when a request
// was due, not from when it left, so a client that falls behind cannot hide a stall (each record also
// keeps its send lag).
//
// With `retryOnFreshConnection` a failed attempt that provably was not processed (fresh-retry.ts) is
// repeated on a new connection within the request's timeout, as well-behaved HTTP clients do; the
// record keeps the reason of each retry, so retries are counted apart from failures. Without it (the
// default) every request is one attempt.

import * as http from 'node:http';
import type { Clock } from '../../src/clock/clock';
import { freshRetryDelayMs, freshRetryReason } from './fresh-retry';
import type { RequestRecord } from './outcomes';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  /** Bytes of request body each request carries (Content-Length; default 0, none for a GET). */
  readonly bodyBytes?: number;
  /** Requests per second. */
  readonly rps: number;
  readonly durationMs: number;
  /** Per request; past it the request is destroyed and counted as ETIMEDOUT. */
  readonly timeoutMs: number;
  /** How often the scheduler looks for due requests (default 2 ms). */
  readonly tickMs?: number;
  /** Repeat attempts that provably were not processed on a new connection, within `timeoutMs` (default off). */
  readonly retryOnFreshConnection?: boolean;
}

/** How many requests are due `elapsedMs` after the start at `rps`, capped at the run's total (the first is due at 0). */
export function dueBy(elapsedMs: number, rps: number, durationMs: number): number {
  const total = totalRequests(rps, durationMs);
  if (elapsedMs < 0) return 0;
  return Math.min(total, Math.floor((elapsedMs * rps) / 1000) + 1);
}

/** The requests a run sends: rps × duration, rounded down. */
export function totalRequests(rps: number, durationMs: number): number {
  return Math.floor((rps * durationMs) / 1000);
}

export interface LoadRun {
  /** Resolves with every request once the last one has ended. */
  readonly done: Promise<RequestRecord[]>;
  /** The clock's `now()` at the start: `at` of each record is relative to it. */
  readonly startedAt: number;
  sent(): number;
}

/** Starts the load now. */
export function startLoad(o: LoadOptions, clock: Clock, random: () => number = Math.random): LoadRun {
  if (!(o.rps > 0)) throw new RangeError(`load: rps must be > 0, got ${o.rps}`);
  if (!(o.durationMs > 0)) throw new RangeError(`load: durationMs must be > 0, got ${o.durationMs}`);
  const total = totalRequests(o.rps, o.durationMs);
  if (total < 1) throw new RangeError(`load: ${o.rps} req/s for ${o.durationMs} ms sends no request`);
  const bodyBytes = o.bodyBytes ?? 0;
  if (!(Number.isInteger(bodyBytes) && bodyBytes >= 0 && bodyBytes <= 1 << 20)) throw new RangeError(`load: bodyBytes must be a whole number 0–1048576, got ${bodyBytes}`);
  // One body for every request; a POST always says its length, even 0.
  const body = Buffer.alloc(bodyBytes, 'x');
  const headers: http.OutgoingHttpHeaders = bodyBytes > 0 || o.method === 'POST' ? { 'content-length': String(bodyBytes) } : {};
  if (bodyBytes > 0) headers['content-type'] = 'application/octet-stream';
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const records: RequestRecord[] = [];
  const startedAt = clock.now();
  let sent = 0;
  let ended = 0;
  let finish: (r: RequestRecord[]) => void = () => undefined;
  const done = new Promise<RequestRecord[]>((r) => (finish = r));
  const interMs = 1000 / o.rps;

  const record = (r: RequestRecord): void => {
    records.push(r);
    if (++ended === total) {
      agent.destroy();
      finish(records.sort((a, b) => a.at - b.at));
    }
  };

  const send = (i: number): void => {
    const at = i * interMs;
    const due = startedAt + at;
    const lagMs = Math.max(0, clock.now() - due);
    const retries: string[] = [];
    let settled = false;
    let current: http.ClientRequest | null = null;
    let backoff: ReturnType<Clock['setTimeout']> | null = null;
    const settle = (status: number, flag: string, error: string): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      clock.clearTimeout(backoff);
      const r: RequestRecord = { at: Math.round(at * 10) / 10, latencyMs: Math.round((clock.now() - due) * 100) / 100, lagMs: Math.round(lagMs * 100) / 100, status, flag, error };
      record(retries.length ? { ...r, retries } : r);
    };
    // One deadline for the request, its retries included.
    const timer = clock.setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error('timed out');
      err.code = 'ETIMEDOUT';
      if (current && !current.destroyed) current.destroy(err);
      else settle(0, '', 'ETIMEDOUT');
    }, o.timeoutMs);
    const attempt = (fresh: boolean): void => {
      // A retry goes on a connection of its own (agent: false), never on another kept-alive one.
      const req = http.request({ host: o.host, port: o.port, path: o.path, method: o.method, agent: fresh ? false : agent, headers }, (res) => {
        const flagHeader = res.headers['x-ferry-response-flags'];
        const flag = Array.isArray(flagHeader) ? flagHeader.join(',') : flagHeader ?? '';
        res.resume();
        res.once('end', () => settle(res.statusCode ?? 0, flag, ''));
        res.once('error', (err: NodeJS.ErrnoException) => settle(0, flag, err.code ?? 'response error'));
      });
      current = req;
      // Bytes the connection had read before this attempt was written on it: any more is a response.
      let readBefore = -1;
      req.once('socket', (sock) => (readBefore = sock.bytesRead));
      req.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? err.message;
        const reason = o.retryOnFreshConnection
          ? freshRetryReason({ code, method: o.method, reusedConnection: req.reusedSocket, responseBytes: readBefore < 0 || !req.socket ? 0 : req.socket.bytesRead - readBefore })
          : null;
        const delay = reason === null ? 0 : freshRetryDelayMs(reason, retries.length + 1, random);
        if (reason === null || settled || clock.now() + delay >= due + o.timeoutMs) return settle(0, '', code);
        retries.push(reason);
        current = null;
        if (delay === 0) attempt(true);
        else backoff = clock.setTimeout(() => attempt(true), delay);
      });
      req.end(bodyBytes > 0 ? body : undefined);
    };
    attempt(false);
  };

  const tick = clock.setInterval(() => {
    const due = dueBy(clock.now() - startedAt, o.rps, o.durationMs);
    while (sent < due) send(sent++);
    if (sent >= total) clock.clearInterval(tick);
  }, o.tickMs ?? 2);

  return { done, startedAt, sent: () => sent };
}
