// The load client's opaque TCP exchanges: each request a short connection that writes N bytes and must read back exactly those N bytes.
//
// The bytes are made from the request's number (payloadFor), so an echo of another connection's bytes
// is caught as surely as a flipped bit. A request is ok only when all N bytes came back in order
// (`echoed`); a differing byte is EMISMATCH, more bytes than written EEXTRA, and a connection that
// closed before all came back ESHORT: data that is altered, duplicated or cut never passes.

import * as net from 'node:net';
import type { Exchange, Exchanger } from './exchange';
import { failed } from './exchange';

export interface TcpOptions {
  readonly host: string;
  readonly port: number;
  /** Bytes each request writes and expects back (≥ 1). */
  readonly bytes: number;
}

/** Request `index`'s payload: `bytes` pseudo-random bytes seeded by the index (xorshift32), the same on every call. */
export function payloadFor(index: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let x = Math.imul(index + 1, 0x9e3779b1) || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Checks `chunk`, read at offset `got` of the echo, against `want`: '' while it matches, else the failure code. */
export function checkEcho(want: Buffer, got: number, chunk: Buffer): '' | 'EMISMATCH' | 'EEXTRA' {
  const n = Math.min(chunk.length, want.length - got);
  if (want.compare(chunk, 0, n, got, got + n) !== 0) return 'EMISMATCH';
  return chunk.length > n ? 'EEXTRA' : '';
}

export function tcpExchanger(o: TcpOptions): Exchanger {
  if (!(Number.isInteger(o.bytes) && o.bytes >= 1)) throw new RangeError(`load: tcp needs bodyBytes ≥ 1 (the bytes each exchange writes and reads back), got ${o.bytes}`);
  const open = new Set<net.Socket>();
  return {
    send(x: Exchange) {
      const want = payloadFor(x.index, o.bytes);
      let got = 0;
      const sock = net.connect({ host: o.host, port: o.port });
      open.add(sock);
      sock.setNoDelay(true);
      sock.once('connect', () => sock.write(want));
      sock.on('data', (chunk: Buffer) => {
        if (x.settled()) return;
        const bad = checkEcho(want, got, chunk);
        got += chunk.length;
        if (bad) {
          x.settle(failed(bad));
          sock.destroy();
        } else if (got === want.length) {
          x.settle({ status: 0, flag: '', error: '', echoed: true });
          sock.end();
        }
      });
      sock.once('error', (err: NodeJS.ErrnoException) => x.settle(failed(err.code ?? 'socket error')));
      sock.once('close', () => {
        open.delete(sock);
        // Closed before every byte came back (the error event, if any, settled it first).
        x.settle(failed('ESHORT'));
      });
      return () => {
        sock.destroy();
      };
    },
    close() {
      for (const s of open) s.destroy();
    },
  };
}
