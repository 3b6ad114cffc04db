// The downstream request body as the router sees it: streamed to the current attempt, and kept
// (up to a bound) so that a retry can replay it whole.
//
// The rule this module holds: an attempt receives exactly the bytes the client sent, from the first
// one, or the request is not retried. While no attempt is attached (a retry's back-off) nothing is
// dropped: the body is kept, and once the kept bytes reach the bound the client is paused until the
// next attempt takes them. Bytes streamed to an attempt past the bound are not kept, so from then on
// the request cannot be replayed and `attach()` refuses a further attempt.

import type { Readable } from 'node:stream';

export interface BodySink {
  write(chunk: Buffer): void;
  end(): void;
  /** Back-pressure: the sink is full; the body pauses until `onceDrain` calls back. */
  backedUp(): boolean;
  onceDrain(cb: () => void): void;
}

/** Told of the body's progress (the connection manager's stream idle timer, the router's timers). */
export interface BodyObserver {
  onBodyProgress(): void;
  onBodyComplete(): void;
}

/** Default bound of the retry buffer (Envoy's per-request buffer limit). */
export const RETRY_BUFFER_LIMIT_BYTES = 1 << 20;

export class RequestBody {
  private chunks: Buffer[] = [];
  /** Bytes received from the client so far. */
  private received = 0;
  private ended = false;
  private sink: BodySink | null = null;
  /** Paused because the upstream is backed up. */
  private drainPaused = false;
  /** Paused because no attempt is attached and the kept bytes reached the bound. */
  private holdPaused = false;
  private observer: BodyObserver | null = null;
  /** False once bytes went to an attempt without being kept: the request can no longer be retried. */
  replayable = true;

  constructor(
    private readonly source: Readable,
    private readonly bufferLimit: number,
    hasBody: boolean,
  ) {
    if (!hasBody) {
      this.ended = true;
      return;
    }
    source.on('data', (c: Buffer) => this.onData(c));
    source.on('end', () => this.onEnd());
  }

  /** The client has sent the whole body. */
  get complete(): boolean {
    return this.ended;
  }

  /** Bytes of the body received from the client so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Tells `o` when bytes arrive and when the body is complete (not called for a body already complete). */
  observe(o: BodyObserver): void {
    this.observer = o;
  }

  private onData(c: Buffer): void {
    this.received += c.length;
    this.observer?.onBodyProgress();
    const sink = this.sink;
    if (this.replayable) {
      if (this.received <= this.bufferLimit || sink === null) {
        // Kept for a replay; with no attempt attached this may pass the bound by what is in flight,
        // and the client is paused until an attempt takes it.
        this.chunks.push(c);
        if (sink === null) {
          if (this.received >= this.bufferLimit && !this.holdPaused) {
            this.holdPaused = true;
            this.source.pause();
          }
          return;
        }
      } else {
        // Outgrew the retry buffer while an attempt streams: it keeps streaming, no retry after it.
        this.replayable = false;
        this.chunks = [];
      }
    } else if (sink === null) {
      // Not replayable and no attempt: the request has failed and is being answered; drop.
      return;
    }
    sink!.write(c);
    if (sink!.backedUp() && !this.drainPaused) {
      // Stream, don't buffer: stop reading the client until the upstream catches up.
      this.drainPaused = true;
      this.source.pause();
      sink!.onceDrain(() => this.onSinkDrain(sink!));
    }
  }

  private onSinkDrain(from: BodySink): void {
    if (!this.drainPaused || from !== this.sink) return;
    this.drainPaused = false;
    this.source.resume();
  }

  private onEnd(): void {
    this.ended = true;
    this.sink?.end();
    this.observer?.onBodyComplete();
  }

  /**
   * Sends everything kept so far to a new attempt, then streams the rest to it. Returns false when
   * the body can no longer be replayed whole (bytes went to an earlier attempt and were not kept).
   */
  attach(sink: BodySink): boolean {
    if (!this.replayable) return false;
    this.sink = sink;
    for (const c of this.chunks) sink.write(c);
    if (this.received > this.bufferLimit) {
      // What was held during the back-off is out; what comes next streams without being kept.
      this.replayable = false;
      this.chunks = [];
    }
    if (this.ended) sink.end();
    if (this.holdPaused) {
      this.holdPaused = false;
      if (!this.drainPaused) this.source.resume();
    }
    if (!this.ended && sink.backedUp() && !this.drainPaused) {
      this.drainPaused = true;
      this.source.pause();
      sink.onceDrain(() => this.onSinkDrain(sink));
    }
    return true;
  }

  /**
   * The current attempt is abandoned. The body keeps being received and kept for the next attempt
   * (the client is paused only once the bound is reached).
   */
  detach(): void {
    this.sink = null;
    if (this.drainPaused) {
      this.drainPaused = false;
      if (!this.holdPaused) this.source.resume();
    }
    if (this.replayable && this.received >= this.bufferLimit && !this.ended && !this.holdPaused) {
      this.holdPaused = true;
      this.source.pause();
    }
  }

  /** The request is over (answered or failed): stop keeping bytes and never pause the client again. */
  release(): void {
    this.sink = null;
    this.replayable = false;
    this.chunks = [];
    this.observer = null;
    if (this.drainPaused || this.holdPaused) {
      this.drainPaused = false;
      this.holdPaused = false;
      this.source.resume();
    }
  }
}
