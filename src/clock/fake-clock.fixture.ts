// A hand-driven Clock for tests: time moves only when advance() is called, and timers fire in due order
// as it passes them (an interval re-arms itself). The wall clock moves with the monotonic one.

import type { Clock, Timer } from './clock';

interface Pending {
  at: number;
  fn: () => void;
  every: number | null;
}

class FakeTimer implements Timer {
  constructor(readonly id: number) {}
  unref(): Timer {
    return this;
  }
}

export class FakeClock implements Clock {
  /** Monotonic time, ms. */
  t: number;
  private readonly wallOffset: number;
  private readonly timers = new Map<number, Pending>();
  private nextId = 0;

  constructor(start = 1_000_000, wallStart = Date.UTC(2026, 0, 1)) {
    this.t = start;
    this.wallOffset = wallStart - start;
  }

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t + this.wallOffset;
  }
  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, null);
  }
  setTimeoutWith<A>(fn: (arg: A) => void, ms: number, arg: A): Timer {
    return this.add(() => fn(arg), ms, null);
  }
  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }
  clearTimeout(t: Timer | null | undefined): void {
    if (t instanceof FakeTimer) this.timers.delete(t.id);
  }
  clearInterval(t: Timer | null | undefined): void {
    this.clearTimeout(t);
  }
  /** Timers still pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, Pending] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (due === null || e[1].at < due[1].at)) due = e;
      if (due === null) break;
      const [id, p] = due;
      this.t = Math.max(this.t, p.at);
      if (p.every === null) this.timers.delete(id);
      else p.at += p.every;
      p.fn();
    }
    this.t = end;
  }

  private add(fn: () => void, ms: number, every: number | null): Timer {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every });
    return new FakeTimer(id);
  }
}
