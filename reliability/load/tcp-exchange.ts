// The load client's opaque TCP exchanges: each request writes N bytes on a connection and must read back exactly those N bytes.
//
// The bytes are made from the request's number (payloadFor), so an echo of another exchange's bytes
// is caught as surely as a flipped bit. A request is ok only when all N bytes came back in order
// (`echoed`); a differing byte is EMISMATCH, more bytes than written EEXTRA, and a connection that
// closed before all came back ESHORT: data that is altered, duplicated or cut never passes.
//
// Without `reuse` each exchange is a connection of its own, closed once its bytes came back. With
// it connections are kept and reused as a keep-alive pool does (the most recently freed first, a new
// one when none is free), one exchange at a time each; a free connection the server closes just
// leaves the pool, and an exchange on a reused connection is marked `reused`, so a connection cut
// under an exchange (the server closing while bytes were on their way) is told apart from a new
// connection that failed.

import * as net from 'node:net';
import type { Exchange, Exchanger } from './exchange';
import { failed } from './exchange';

export interface TcpOptions {
  readonly host: string;
  readonly port: number;
  /** Bytes each request writes and expects back (≥ 1). */
  readonly bytes: number;
  /** Keep connections open and reuse them, one exchange at a time each (default: a connection per exchange). */
  readonly reuse?: boolean;
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
  /** Free connections, the most recently freed last. */
  const free: net.Socket[] = [];
  /** The exchange each busy connection carries: its data handler, and how to end it when the connection goes. */
  const busy = new Map<net.Socket, { onData(chunk: Buffer): void; onGone(code: string): void }>();

  const connect = (): net.Socket => {
    const sock = net.connect({ host: o.host, port: o.port });
    open.add(sock);
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => {
      const x = busy.get(sock);
      // Bytes on a connection with no exchange: the server sent what nobody wrote.
      if (x) x.onData(chunk);
      else sock.destroy();
    });
    let code = 'ESHORT';
    sock.once('error', (err: NodeJS.ErrnoException) => (code = err.code ?? 'socket error'));
    sock.once('close', () => {
      open.delete(sock);
      const i = free.indexOf(sock);
      if (i >= 0) free.splice(i, 1);
      busy.get(sock)?.onGone(code);
      busy.delete(sock);
    });
    return sock;
  };

  /** The most recently freed connection still open both ways, or null. */
  const takeFree = (): net.Socket | null => {
    for (let s = free.pop(); s !== undefined; s = free.pop()) if (s.writable && !s.destroyed) return s;
    return null;
  };

  return {
    send(x: Exchange) {
      const want = payloadFor(x.index, o.bytes);
      let got = 0;
      const kept = o.reuse ? takeFree() : null;
      const reused = kept !== null;
      const sock = kept ?? connect();
      const fail = (code: string): void => x.settle(reused ? { ...failed(code), reused: true } : failed(code));
      busy.set(sock, {
        onData(chunk) {
          const bad = checkEcho(want, got, chunk);
          got += chunk.length;
          if (bad) {
            fail(bad);
            sock.destroy();
          } else if (got === want.length) {
            x.settle(reused ? { status: 0, flag: '', error: '', echoed: true, reused: true } : { status: 0, flag: '', error: '', echoed: true });
            busy.delete(sock);
            if (o.reuse && !sock.destroyed && sock.writable) free.push(sock);
            else sock.end();
          }
        },
        // Closed before every byte came back (ESHORT), or by its error.
        onGone: fail,
      });
      if (reused) sock.write(want);
      else sock.once('connect', () => sock.write(want));
      return () => {
        busy.delete(sock);
        sock.destroy();
      };
    },
    close() {
      for (const s of open) s.destroy();
    },
  };
}
