// An in-memory connection for driving a node:http server in-process: two cross-wired duplex ends.
//
// The server end carries what node:http and the connection manager use of a net.Socket (addresses,
// setTimeout/setNoDelay/setKeepAlive, destroySoon); bytes written on one end are read on the other,
// ending one end's writable side ends the other's readable side, and destroying one destroys both.

import { Duplex } from 'node:stream';

export class MemorySocket extends Duplex {
  peer: MemorySocket | null = null;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 15001;
  readonly encrypted = false;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    // Bytes are pushed by the peer as it writes them.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer !== null && !peer.destroyed) peer.push(chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer !== null && !peer.destroyed) peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = null;
    if (peer !== null) {
      peer.peer = null;
      if (!peer.destroyed) peer.destroy();
    }
    done(err);
  }

  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  /** As net.Socket: end the writable side, then destroy once it has finished. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }
}

/** A connected pair: [client end, server end]. */
export function memorySocketPair(): [MemorySocket, MemorySocket] {
  const a = new MemorySocket();
  const b = new MemorySocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
