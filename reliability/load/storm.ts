// A connection storm: idle connections (opened, left silent), slowloris connections (one byte of a
// request head every few seconds, never finished) and TLS stalls (a TLS record header, then nothing),
// each recorded with when it opened and when the peer closed it.

import * as net from 'node:net';
import type { Clock, Timer } from '../../src/clock/clock';
import { percentile } from './outcomes';

export type StormKind = 'idle' | 'slowloris' | 'tls-stall';

export interface StormPlan {
  /** Addresses the connections go to, round-robin. */
  readonly targets: readonly { readonly ip: string; readonly port: number }[];
  readonly counts: Readonly<Record<StormKind, number>>;
  /** New connections per second while opening. */
  readonly openPerSecond: number;
  /** Slowloris: one byte every this many ms. */
  readonly byteIntervalMs: number;
  /** How long the storm holds its connections after the first opened (ms); then it closes the rest. */
  readonly durationMs: number;
}

/** One storm connection: ms since the storm started. */
export interface StormConnection {
  readonly kind: StormKind;
  /** When the connect was started. */
  readonly startedMs: number;
  /** When the connect completed, or null if it never did. */
  openedMs: number | null;
  /** When the peer closed or reset it, or null when it was still open at the end (the storm closed it). */
  closedByPeerMs: number | null;
  /** The socket error (ECONNRESET, ECONNREFUSED, EMFILE, …), or ''. */
  error: string;
  /** Bytes the storm sent on it. */
  sent: number;
  /** Bytes the peer sent back (a 408 or a TLS alert, say). */
  received: number;
}

/** A request head, sent a byte at a time and never finished (no blank line). */
const SLOW_HEAD = Buffer.from('GET /items HTTP/1.1\r\nHost: catalog\r\nX-Storm: ' + 'a'.repeat(4096));
/** A TLS handshake record header announcing a ClientHello that never comes. */
const TLS_RECORD_HEADER = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]);

/** Runs the storm; resolves with every connection once the storm has ended and closed what was left. */
export async function runStorm(plan: StormPlan, clock: Clock): Promise<StormConnection[]> {
  const now = (): number => clock.now();
  const t0 = now();
  const order: StormKind[] = [];
  // Interleave the kinds, so each target sees some of every kind while the storm opens.
  const left = { ...plan.counts };
  while (left.idle + left.slowloris + left['tls-stall'] > 0) {
    for (const k of ['idle', 'slowloris', 'tls-stall'] as const) {
      if (left[k] > 0) {
        order.push(k);
        left[k]--;
      }
    }
  }
  const conns: StormConnection[] = [];
  const sockets: net.Socket[] = [];
  const timers: Timer[] = [];
  // Set before the storm closes what is left: closes after it are the storm's, not the peer's.
  let ended = false;
  const gapMs = 1000 / plan.openPerSecond;
  for (let i = 0; i < order.length; i++) {
    const due = i * gapMs;
    const wait = due - (now() - t0);
    if (wait >= 1) await new Promise<void>((r) => clock.setTimeout(r, wait));
    const kind = order[i];
    const target = plan.targets[i % plan.targets.length];
    const c: StormConnection = { kind, startedMs: now() - t0, openedMs: null, closedByPeerMs: null, error: '', sent: 0, received: 0 };
    conns.push(c);
    const s = net.connect({ host: target.ip, port: target.port });
    sockets.push(s);
    s.on('connect', () => {
      c.openedMs = now() - t0;
      if (kind === 'tls-stall') {
        s.write(TLS_RECORD_HEADER);
        c.sent += TLS_RECORD_HEADER.length;
      } else if (kind === 'slowloris') {
        const t = clock.setInterval(() => {
          if (c.sent >= SLOW_HEAD.length || s.destroyed) return clock.clearInterval(t);
          s.write(SLOW_HEAD.subarray(c.sent, c.sent + 1));
          c.sent++;
        }, plan.byteIntervalMs);
        timers.push(t);
      }
    });
    s.on('data', (d: Buffer) => (c.received += d.length));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (c.error === '') c.error = err.code ?? err.message;
    });
    s.on('close', () => {
      if (!ended && c.closedByPeerMs === null) c.closedByPeerMs = now() - t0;
    });
  }
  const endAt = plan.durationMs - (now() - t0);
  if (endAt > 0) await new Promise<void>((r) => clock.setTimeout(r, endAt));
  for (const t of timers) clock.clearInterval(t);
  ended = true;
  for (const s of sockets) s.destroy();
  return conns;
}

export interface StormKindFigures {
  readonly started: number;
  readonly opened: number;
  /** Connects that failed (refused, EMFILE, timed out). */
  readonly connectFailed: number;
  /** Opened, then closed or reset by the peer before the storm ended. */
  readonly closedByPeer: number;
  /** Still open when the storm ended. */
  readonly stillOpen: number;
  /** From open to the peer's close, ms (closed ones only); null if none closed. */
  readonly closeP50Ms: number | null;
  readonly closeMaxMs: number | null;
  /** Errors by code. */
  readonly errors: Readonly<Record<string, number>>;
}

/** The storm's figures for one kind of connection. */
export function stormFigures(conns: readonly StormConnection[], kind: StormKind): StormKindFigures {
  const of = conns.filter((c) => c.kind === kind);
  const opened = of.filter((c) => c.openedMs !== null);
  const closed = opened.filter((c) => c.closedByPeerMs !== null);
  const lifetimes = closed.map((c) => (c.closedByPeerMs as number) - (c.openedMs as number));
  const errors: Record<string, number> = {};
  for (const c of of) if (c.error !== '') errors[c.error] = (errors[c.error] ?? 0) + 1;
  return {
    started: of.length,
    opened: opened.length,
    connectFailed: of.length - opened.length,
    closedByPeer: closed.length,
    stillOpen: opened.length - closed.length,
    closeP50Ms: percentile(lifetimes, 50),
    closeMaxMs: lifetimes.length > 0 ? Math.round(Math.max(...lifetimes)) : null,
    errors,
  };
}

/** The most storm connections open at once (opened, not yet closed by the peer or by the storm's end at `endMs`). */
export function peakOpen(conns: readonly StormConnection[], endMs: number): number {
  const events: [number, number][] = [];
  for (const c of conns) {
    if (c.openedMs === null) continue;
    events.push([c.openedMs, 1], [c.closedByPeerMs ?? endMs, -1]);
  }
  // Closes before opens at the same instant: a connection replaced at once is not two.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of events) {
    open += d;
    peak = Math.max(peak, open);
  }
  return peak;
}
