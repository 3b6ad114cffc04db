// The storm's accounting: what opened, what the proxy closed and after how long, what was left open.

import * as net from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/clock/clock';
import { peakOpen, runStorm, stormFigures, type StormConnection } from './storm';
import { softNofile } from './storm-main';

const conn = (over: Partial<StormConnection>): StormConnection => ({ kind: 'idle', startedMs: 0, openedMs: 0, closedByPeerMs: null, error: '', sent: 0, received: 0, ...over });

test('stormFigures: counts per kind; close times run from open to the peer\'s close', () => {
  const conns = [
    conn({ openedMs: 10, closedByPeerMs: 10_010 }),
    conn({ openedMs: 20, closedByPeerMs: 15_020 }),
    conn({ openedMs: 30 }),
    conn({ openedMs: null, error: 'ECONNREFUSED' }),
    conn({ kind: 'slowloris', openedMs: 5, closedByPeerMs: 18_005, error: 'ECONNRESET' }),
  ];
  const idle = stormFigures(conns, 'idle');
  assert.deepEqual(idle, { started: 4, opened: 3, connectFailed: 1, closedByPeer: 2, stillOpen: 1, closeP50Ms: 10_000, closeMaxMs: 15_000, errors: { ECONNREFUSED: 1 } });
  const slow = stormFigures(conns, 'slowloris');
  assert.equal(slow.closedByPeer, 1);
  assert.equal(slow.closeMaxMs, 18_000);
  assert.deepEqual(slow.errors, { ECONNRESET: 1 });
  const none = stormFigures(conns, 'tls-stall');
  assert.equal(none.started, 0);
  assert.equal(none.closeP50Ms, null);
  assert.equal(none.closeMaxMs, null);
});

test('softNofile: the soft limit of open files, unlimited as Infinity, a missing line an error', () => {
  const limits = (soft: string): string => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                65536                files\n`;
  assert.equal(softNofile(limits('1024')), 1024);
  assert.equal(softNofile(limits('unlimited')), Infinity);
  assert.throws(() => softNofile('Max processes 10 10 processes\n'), /no "Max open files" line/);
});

test('runStorm on real sockets: idle ones stay silent, slowloris sends a byte at a time, a TLS stall a record header; peer closes are recorded', async (t) => {
  // The peer closes a connection that sent a plaintext head's second byte; the rest are left to the storm's end.
  const server = net.createServer((s) => {
    let got = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got[0] !== 0x16) s.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const conns = await runStorm({ targets: [{ ip: '127.0.0.1', port }], counts: { idle: 3, slowloris: 2, 'tls-stall': 1 }, openPerSecond: 200, byteIntervalMs: 50, durationMs: 600 }, systemClock);
  const idle = stormFigures(conns, 'idle');
  const slow = stormFigures(conns, 'slowloris');
  const stall = stormFigures(conns, 'tls-stall');
  assert.deepEqual([idle.opened, idle.closedByPeer, idle.stillOpen], [3, 0, 3]);
  assert.deepEqual([slow.opened, slow.closedByPeer], [2, 2]);
  assert.ok(slow.closeMaxMs !== null && slow.closeMaxMs >= 90, `the slow ones sent two bytes 50 ms apart first (closed after ${slow.closeMaxMs} ms)`);
  assert.deepEqual([stall.opened, stall.closedByPeer, stall.stillOpen], [1, 0, 1]);
  assert.deepEqual(conns.filter((c) => c.kind === 'tls-stall').map((c) => c.sent), [5]);
  assert.deepEqual(conns.filter((c) => c.kind === 'idle').map((c) => c.sent), [0, 0, 0]);
});

test('peakOpen: the most connections open at once; never-opened ones do not count, still-open ones until the end', () => {
  const conns = [
    conn({ openedMs: 0, closedByPeerMs: 100 }),
    conn({ openedMs: 50, closedByPeerMs: 150 }),
    conn({ openedMs: 100, closedByPeerMs: 200 }), // opens as the first closes: two at once, not three
    conn({ openedMs: null }),
    conn({ openedMs: 180 }), // still open at the end: with the third, two
  ];
  assert.equal(peakOpen(conns, 1000), 2);
  assert.equal(peakOpen([...conns, conn({ openedMs: 60, closedByPeerMs: 90 })], 1000), 3);
  assert.equal(peakOpen([conn({ openedMs: 0 }), conn({ openedMs: 500 })], 400), 1, 'the end closes what was still open');
  assert.equal(peakOpen([], 1000), 0);
});
