// How a local mesh is asked to stop: Ctrl-C, SIGTERM, a caller's promise (tests) or a deadline.

/** A stop asked for once, from any source; `dispose()` removes the signal handlers. */
export class StopRequest {
  requested = false;
  /** Resolves when a stop is asked for. */
  readonly stopped: Promise<void>;
  private wake: () => void = () => undefined;
  private readonly onSignal = (): void => this.request();

  constructor(extra?: Promise<void>) {
    this.stopped = new Promise<void>((r) => (this.wake = r));
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    void extra?.then(this.onSignal);
  }

  request(): void {
    this.requested = true;
    this.wake();
  }

  /** Rejects when a stop comes first, so a long start-up can be raced against it. */
  interrupts<T>(work: Promise<T>, what: string): Promise<T> {
    return Promise.race([work, this.stopped.then(() => Promise.reject(new Error(`interrupted ${what}`)))]);
  }

  dispose(): void {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }
}
