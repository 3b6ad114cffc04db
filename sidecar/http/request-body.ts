// The downstream request body as the router sees it: streamed to the current attempt, and kept
// (up to a bound) so that a retry can replay it.

import type { Readable } from 'node:stream';

export interface BodySink {
  write(chunk: Buffer): void;
  end(): void;
  /** Back-pressure: the sink is full; the body pauses until `onceDrain` calls back. */
  backedUp(): boolean;
  onceDrain(cb: () => void): void;
}

export class RequestBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private sink: BodySink | null = null;
  /** False once the body outgrew the retry buffer: the request can no longer be retried. */
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

  get complete(): boolean {
    return this.ended;
  }

  private onData(c: Buffer): void {
    if (this.replayable) {
      this.size += c.length;
      if (this.size > this.bufferLimit) {
        this.replayable = false;
        this.chunks.length = 0;
      } else {
        this.chunks.push(c);
      }
    }
    const sink = this.sink;
    if (sink !== null) {
      sink.write(c);
      if (sink.backedUp() && !this.paused) {
        // Stream, don't buffer: stop reading the client until the upstream catches up.
        this.paused = true;
        this.source.pause();
        sink.onceDrain(() => this.unpause(sink));
      }
    }
  }

  private paused = false;

  private unpause(from: BodySink | null): void {
    if (!this.paused || (from !== null && from !== this.sink)) return;
    this.paused = false;
    this.source.resume();
  }

  private onEnd(): void {
    this.ended = true;
    this.sink?.end();
  }

  /** Sends everything kept so far to a new attempt, then streams the rest to it. */
  attach(sink: BodySink): boolean {
    if (this.sink !== null && !this.replayable) return false;
    this.sink = sink;
    for (const c of this.chunks) sink.write(c);
    if (this.ended) sink.end();
    return true;
  }

  detach(): void {
    this.sink = null;
    // A retry attaches again; never leave the client paused on an abandoned attempt.
    this.unpause(null);
  }
}
