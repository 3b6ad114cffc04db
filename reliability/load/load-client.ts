// The open-loop load client: requests leave on a fixed schedule whatever the answers, each one recorded with its status, response flag or error.
//
// Open loop means a slow or failing server never slows the sender down (no back-pressure hides a
// failure): every request is sent when it is due and a request that gets no answer within its
// timeout counts as ETIMEDOUT. Latency runs from when a request was due, not from when it left, so a
// client that falls behind cannot hide a stall (each record also keeps its send lag).
//
// The protocol decides what one request is: an HTTP/1.1 request on a keep-alive agent with no socket
// cap (http1-exchange.ts, the default), a stream on a shared HTTP/2 prior-knowledge connection
// (h2c-exchange.ts), a unary gRPC call (grpc-exchange.ts), or an opaque TCP exchange whose bytes must
// come back exactly, on a connection of its own or on a reused one (tcp-exchange.ts).
//
// With `retryOnFreshConnection` (http1 only) a failed attempt that provably was not processed
// (fresh-retry.ts) is repeated on a new connection within the request's timeout, as well-behaved HTTP
// clients do; the record keeps the reason of each retry, so retries are counted apart from failures.
// Without it (the default) every request is one attempt.

import type { Clock } from '../../src/clock/clock';
import type { Exchange, Exchanger, LoadProtocol, Outcome } from './exchange';
import { failed } from './exchange';
import { grpcExchanger } from './grpc-exchange';
import { h2cExchanger } from './h2c-exchange';
import { http1Exchanger } from './http1-exchange';
import type { RequestRecord } from './outcomes';
import { tcpExchanger } from './tcp-exchange';

export interface LoadOptions {
  /** What one request is (default http1). */
  readonly protocol?: LoadProtocol;
  readonly host: string;
  readonly port: number;
  /** The HTTP path; for grpc the method, `/package.Service/Method`; unused for tcp. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  /** Bytes of request body each request carries (default 0, none for a GET); for grpc the message, for tcp the bytes written and read back (≥ 1). */
  readonly bodyBytes?: number;
  /** Requests per second. */
  readonly rps: number;
  readonly durationMs: number;
  /** Per request; past it the request is abandoned and counted as ETIMEDOUT. */
  readonly timeoutMs: number;
  /** How often the scheduler looks for due requests (default 2 ms). */
  readonly tickMs?: number;
  /** Repeat attempts that provably were not processed on a new connection, within `timeoutMs` (http1 only; default off). */
  readonly retryOnFreshConnection?: boolean;
  /** tcp only: keep connections and reuse them, one exchange at a time each (default: a connection per exchange). */
  readonly reuseConnections?: boolean;
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
  /** Sends nothing more: `done` resolves once the requests already sent have ended. */
  stop(): void;
}

function exchangerFor(o: LoadOptions, body: Buffer, clock: Clock, random: () => number): Exchanger {
  const protocol = o.protocol ?? 'http1';
  if (o.retryOnFreshConnection && protocol !== 'http1') throw new RangeError(`load: retryOnFreshConnection is for http1 only, not ${protocol}`);
  if (o.reuseConnections && protocol !== 'tcp') throw new RangeError(`load: reuseConnections is for tcp only, not ${protocol}`);
  switch (protocol) {
    case 'http1':
      return http1Exchanger({ host: o.host, port: o.port, path: o.path, method: o.method, body, retryOnFreshConnection: o.retryOnFreshConnection === true }, clock, random);
    case 'h2c':
      return h2cExchanger({ host: o.host, port: o.port, path: o.path, method: o.method, body });
    case 'grpc':
      return grpcExchanger({ host: o.host, port: o.port, path: o.path, bytes: body.length });
    case 'tcp':
      return tcpExchanger({ host: o.host, port: o.port, bytes: body.length, reuse: o.reuseConnections === true });
  }
}

/** Starts the load now. */
export function startLoad(o: LoadOptions, clock: Clock, random: () => number = Math.random): LoadRun {
  if (!(o.rps > 0)) throw new RangeError(`load: rps must be > 0, got ${o.rps}`);
  if (!(o.durationMs > 0)) throw new RangeError(`load: durationMs must be > 0, got ${o.durationMs}`);
  const total = totalRequests(o.rps, o.durationMs);
  if (total < 1) throw new RangeError(`load: ${o.rps} req/s for ${o.durationMs} ms sends no request`);
  const bodyBytes = o.bodyBytes ?? 0;
  if (!(Number.isInteger(bodyBytes) && bodyBytes >= 0 && bodyBytes <= 1 << 20)) throw new RangeError(`load: bodyBytes must be a whole number 0–1048576, got ${bodyBytes}`);
  // One body for every HTTP request (gRPC and TCP make theirs from the request's number).
  const exchanger = exchangerFor(o, Buffer.alloc(bodyBytes, 'x'), clock, random);
  const records: RequestRecord[] = [];
  const startedAt = clock.now();
  let sent = 0;
  let ended = 0;
  let finish: (r: RequestRecord[]) => void = () => undefined;
  const done = new Promise<RequestRecord[]>((r) => (finish = r));
  const interMs = 1000 / o.rps;

  /** How many requests the run sends: all of them, or those sent before a stop. */
  let limit = total;
  const end = (): void => {
    exchanger.close();
    finish(records.sort((a, b) => a.at - b.at));
  };
  const record = (r: RequestRecord): void => {
    records.push(r);
    if (++ended === limit) end();
  };

  const send = (i: number): void => {
    const at = i * interMs;
    const due = startedAt + at;
    const lagMs = Math.max(0, clock.now() - due);
    let settled = false;
    const x: Exchange = {
      index: i,
      due,
      deadline: due + o.timeoutMs,
      retries: [],
      settled: () => settled,
      settle(out: Outcome) {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        const r: RequestRecord = { at: Math.round(at * 10) / 10, latencyMs: Math.round((clock.now() - due) * 100) / 100, lagMs: Math.round(lagMs * 100) / 100, ...out };
        record(x.retries.length ? { ...r, retries: x.retries } : r);
      },
    };
    // One deadline for the request, its retries included.
    const timer = clock.setTimeout(() => {
      abandon();
      x.settle(failed('ETIMEDOUT'));
    }, o.timeoutMs);
    const abandon = exchanger.send(x);
  };

  const tick = clock.setInterval(() => {
    const due = dueBy(clock.now() - startedAt, o.rps, o.durationMs);
    while (sent < due) send(sent++);
    if (sent >= total) clock.clearInterval(tick);
  }, o.tickMs ?? 2);

  const stop = (): void => {
    if (limit === sent) return;
    clock.clearInterval(tick);
    limit = sent;
    if (ended === limit) end();
  };

  return { done, startedAt, sent: () => sent, stop };
}
