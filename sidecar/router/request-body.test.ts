// The request body's replay rule: every attempt receives the body from its first byte, whole, or
// the body refuses the attempt; nothing is dropped between attempts.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { seededRandom as rng } from '../lb/seeded-random.fixture';
import { RequestBody, type BodySink } from './request-body';

class RecordingSink implements BodySink {
  readonly chunks: Buffer[] = [];
  ended = false;
  full = false;
  private waiters: (() => void)[] = [];
  write(c: Buffer): void {
    this.chunks.push(Buffer.from(c));
  }
  end(): void {
    this.ended = true;
  }
  backedUp(): boolean {
    return this.full;
  }
  onceDrain(cb: () => void): void {
    this.waiters.push(cb);
  }
  drain(): void {
    this.full = false;
    for (const cb of this.waiters.splice(0)) cb();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RequestBody', () => {
  test('a body within the bound is replayed whole to a second attempt', async () => {
    const src = new PassThrough();
    const body = new RequestBody(src, 100, true);
    const a = new RecordingSink();
    assert.equal(body.attach(a), true);
    src.write(Buffer.alloc(40, 1));
    await tick();
    body.detach();
    src.end(Buffer.alloc(40, 2));
    await tick();
    const b = new RecordingSink();
    assert.equal(body.attach(b), true);
    assert.deepEqual(b.bytes, Buffer.concat([Buffer.alloc(40, 1), Buffer.alloc(40, 2)]));
    assert.equal(b.ended, true);
  });

  test('between attempts nothing is dropped: past the bound the client is paused until the next attempt', async () => {
    const src = new PassThrough();
    const body = new RequestBody(src, 100, true);
    const a = new RecordingSink();
    body.attach(a);
    src.write(Buffer.alloc(30, 1));
    await tick();
    body.detach(); // a retry's back-off
    src.write(Buffer.alloc(60, 2));
    src.write(Buffer.alloc(60, 3)); // passes the bound while no attempt is attached
    src.end(Buffer.alloc(10, 4));
    await tick();
    assert.equal(src.isPaused(), true, 'the client is paused at the bound');
    assert.equal(body.complete, false);
    const b = new RecordingSink();
    assert.equal(body.attach(b), true);
    await tick();
    await tick();
    const want = Buffer.concat([Buffer.alloc(30, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3), Buffer.alloc(10, 4)]);
    assert.deepEqual(b.bytes, want);
    assert.equal(b.ended, true);
    assert.equal(body.replayable, false, 'what passed the bound was not kept');
    assert.equal(body.attach(new RecordingSink()), false, 'a third attempt is refused');
  });

  test('outgrowing the bound while an attempt streams: it keeps streaming, a retry is refused', async () => {
    const src = new PassThrough();
    const body = new RequestBody(src, 100, true);
    const a = new RecordingSink();
    body.attach(a);
    src.write(Buffer.alloc(80, 1));
    src.end(Buffer.alloc(80, 2));
    await tick();
    assert.equal(a.bytes.length, 160);
    assert.equal(a.ended, true);
    assert.equal(body.replayable, false);
    body.detach();
    assert.equal(body.attach(new RecordingSink()), false);
  });

  test('back-pressure pauses the client and a drain resumes it; an abandoned attempt never leaves it paused', async () => {
    const src = new PassThrough();
    const body = new RequestBody(src, 1_000, true);
    const a = new RecordingSink();
    a.full = true;
    body.attach(a);
    src.write(Buffer.alloc(10, 1));
    await tick();
    assert.equal(src.isPaused(), true);
    a.drain();
    assert.equal(src.isPaused(), false);
    a.full = true;
    src.write(Buffer.alloc(10, 2));
    await tick();
    assert.equal(src.isPaused(), true);
    body.detach();
    assert.equal(src.isPaused(), false);
  });

  test('release resumes a held client and keeps nothing', async () => {
    const src = new PassThrough();
    const body = new RequestBody(src, 10, true);
    body.attach(new RecordingSink());
    body.detach();
    src.write(Buffer.alloc(20, 1));
    await tick();
    assert.equal(src.isPaused(), true);
    body.release();
    assert.equal(src.isPaused(), false);
    assert.equal(body.attach(new RecordingSink()), false);
  });

  test('random chunkings and attempt switches: each attempt gets the body from byte 0, and the last one gets all of it', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const bound = 50 + Math.floor(r() * 200);
      const total = Math.floor(r() * 600);
      const want = Buffer.alloc(total);
      for (let i = 0; i < total; i++) want[i] = Math.floor(r() * 256);
      const src = new PassThrough();
      const body = new RequestBody(src, bound, true);
      const attempts: RecordingSink[] = [];
      const attach = (): boolean => {
        const s = new RecordingSink();
        if (!body.attach(s)) return false;
        attempts.push(s);
        return true;
      };
      attach();
      let attached = true;
      let off = 0;
      let refused = false;
      while (off < total) {
        const n = Math.min(total - off, 1 + Math.floor(r() * 80));
        src.write(want.subarray(off, off + n));
        off += n;
        await tick();
        const p = r();
        if (attached && p < 0.15) {
          body.detach();
          attached = false;
        } else if (!attached && p < 0.6) {
          attached = attach();
          if (!attached) refused = true;
          if (refused) break;
        }
      }
      if (!refused) {
        src.end();
        await tick();
        if (!attached && !attach()) refused = true;
        await tick();
        await tick();
      }
      for (const [i, s] of attempts.entries()) {
        assert.deepEqual(s.bytes, want.subarray(0, s.bytes.length), `seed ${seed}: attempt ${i} got bytes that are not the body's prefix`);
      }
      if (!refused) {
        const last = attempts[attempts.length - 1];
        assert.equal(last.bytes.length, total, `seed ${seed}: the last attempt got ${last.bytes.length} of ${total} bytes`);
        assert.equal(last.ended, true, `seed ${seed}`);
      } else {
        // Refused only once bytes went to an attempt that streamed past the bound.
        assert.equal(body.replayable, false, `seed ${seed}`);
      }
    }
  });
});
