// The push debouncer's state: fire after a quiet period, but never later than a bound after the first event.

/**
 * Pure: the caller passes `now` (ms) and arms one timer for `dueAt()`. Events closer together
 * than `quietMs` coalesce; a steady stream of events still fires `maxDelayMs` after the first.
 */
export class DebounceState {
  private firstAt: number | null = null;
  private lastAt = 0;

  constructor(
    readonly quietMs: number,
    readonly maxDelayMs: number,
  ) {
    if (!(quietMs >= 0) || !(maxDelayMs >= quietMs)) throw new RangeError('debounce: need 0 <= quietMs <= maxDelayMs');
  }

  /**
   * Records an event that happened at `at` (≤ now; `firstAt` when it stands for several, the
   * earliest); returns the new due time.
   */
  event(at: number, firstAt = at): number {
    if (this.firstAt === null) {
      this.firstAt = Math.min(firstAt, at);
      this.lastAt = at;
    } else {
      this.firstAt = Math.min(this.firstAt, firstAt);
      this.lastAt = Math.max(this.lastAt, at);
    }
    return this.dueAt()!;
  }

  /** When the pending events should be flushed, or null if none are pending. */
  dueAt(): number | null {
    if (this.firstAt === null) return null;
    return Math.min(this.lastAt + this.quietMs, this.firstAt + this.maxDelayMs);
  }

  get pending(): boolean {
    return this.firstAt !== null;
  }

  /** True (and reset) if the pending events are due at `now`. */
  fire(now: number): boolean {
    const due = this.dueAt();
    if (due === null || now < due) return false;
    this.firstAt = null;
    return true;
  }

  /** Time of the first pending event (for convergence measurement), or null. */
  get firstEventAt(): number | null {
    return this.firstAt;
  }
}
