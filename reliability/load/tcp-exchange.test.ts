import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock/clock';
import { startLoad } from './load-client';
import { failureReason } from './outcomes';
import { checkEcho, payloadFor } from './tcp-exchange';

/** A TCP server whose `i`-th connection is handled by `handle(sock, i)`; closed (with its connections) after the test. */
async function server(t: { after(fn: () => void): void }, handle: (sock: net.Socket, i: number) => void): Promise<number> {
  let n = 0;
  const socks = new Set<net.Socket>();
  const s = net.createServer((sock) => {
    socks.add(sock);
    sock.once('close', () => socks.delete(sock));
    sock.on('error', () => undefined);
    handle(sock, n++);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const x of socks) x.destroy();
    s.close();
  });
  return (s.address() as AddressInfo).port;
}

test('payloadFor: the same bytes for the same request, different ones for another', () => {
  assert.deepEqual(payloadFor(7, 64), payloadFor(7, 64));
  assert.notDeepEqual(payloadFor(7, 64), payloadFor(8, 64));
  assert.equal(payloadFor(0, 3).length, 3);
});

test('checkEcho: a matching prefix passes, a differing byte or a byte too many does not', () => {
  const want = Buffer.from('abcdef');
  assert.equal(checkEcho(want, 0, Buffer.from('abc')), '');
  assert.equal(checkEcho(want, 3, Buffer.from('def')), '');
  assert.equal(checkEcho(want, 3, Buffer.from('dXf')), 'EMISMATCH');
  assert.equal(checkEcho(want, 4, Buffer.from('efg')), 'EEXTRA');
});

test('tcp: an exact echo is ok; an altered byte, an extra byte or a short echo are failures by kind', async (t) => {
  // Connection i: 0–1 echo exactly (in two pieces), 2 flips a byte, 3 echoes one byte too many, 4 echoes half and closes.
  const port = await server(t, (sock, i) => {
    sock.on('data', (d: Buffer) => {
      if (i === 2) d[d.length - 1] ^= 1;
      if (i < 3) {
        sock.write(d.subarray(0, 10));
        sock.write(d.subarray(10));
      } else if (i === 3) sock.write(Buffer.concat([d, Buffer.from('!')]));
      else sock.end(d.subarray(0, d.length / 2));
    });
    sock.on('end', () => sock.end());
  });
  const run = startLoad({ protocol: 'tcp', host: '127.0.0.1', port, path: '/', method: 'GET', bodyBytes: 64, rps: 10, durationMs: 500, timeoutMs: 2000 }, systemClock);
  const records = await run.done;
  assert.equal(records.length, 5);
  assert.deepEqual(records.map((r) => (r.echoed ? 'ok' : failureReason(r))), ['ok', 'ok', 'EMISMATCH', 'EEXTRA', 'ESHORT']);
});

test('tcp: a server that never answers times out; a refused connection is counted by its error', async (t) => {
  const port = await server(t, () => undefined);
  const silent = await startLoad({ protocol: 'tcp', host: '127.0.0.1', port, path: '/', method: 'GET', bodyBytes: 8, rps: 10, durationMs: 200, timeoutMs: 150 }, systemClock).done;
  assert.deepEqual(silent.map(failureReason), ['ETIMEDOUT', 'ETIMEDOUT']);
  const refused = await new Promise<number>((r) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => r(p));
    });
  });
  const r = await startLoad({ protocol: 'tcp', host: '127.0.0.1', port: refused, path: '/', method: 'GET', bodyBytes: 8, rps: 10, durationMs: 100, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(r.map(failureReason), ['ECONNREFUSED']);
});

test('tcp: zero bytes per exchange is refused', () => {
  assert.throws(() => startLoad({ protocol: 'tcp', host: '127.0.0.1', port: 1, path: '/', method: 'GET', rps: 10, durationMs: 100, timeoutMs: 100 }, systemClock), /tcp needs bodyBytes ≥ 1/);
});

test('tcp reuse: exchanges share a kept connection; a free connection the server closes leaves the pool unnoticed; one cut under an exchange fails it, marked reused', async (t) => {
  // Connection 0 echoes three exchanges and then closes while free; connection 1 echoes two, then half of the next and closes.
  let conns = 0;
  const port = await server(t, (sock, i) => {
    conns++;
    let n = 0;
    sock.on('data', (d: Buffer) => {
      n++;
      if (i === 0) {
        sock.write(d);
        if (n === 3) sock.end();
      } else if (n <= 2) sock.write(d);
      else sock.end(d.subarray(0, 4));
    });
  });
  const records = await startLoad({ protocol: 'tcp', reuseConnections: true, host: '127.0.0.1', port, path: '/', method: 'GET', bodyBytes: 16, rps: 10, durationMs: 600, timeoutMs: 1000 }, systemClock).done;
  assert.deepEqual(records.map((r) => `${r.echoed ? 'ok' : failureReason(r)}${r.reused ? ' reused' : ''}`), ['ok', 'ok reused', 'ok reused', 'ok', 'ok reused', 'ESHORT reused']);
  assert.equal(conns, 2);
});

test('tcp reuse is for tcp only', () => {
  assert.throws(() => startLoad({ protocol: 'h2c', reuseConnections: true, host: '127.0.0.1', port: 1, path: '/', method: 'GET', rps: 10, durationMs: 100, timeoutMs: 100 }, systemClock), /reuseConnections is for tcp only, not h2c/);
});
