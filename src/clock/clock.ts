// The one source of time for Ferry's code: the monotonic clock for durations and deadlines, the wall clock
// for timestamps and certificate validity, and timers. Production code takes a Clock (default `systemClock`)
// instead of calling Date.now(), performance.now() or the global timers, so tests can drive time by hand
// (src/clock/fake-clock.fixture.ts).

/** A pending timer. `unref` lets the process exit while it is pending (Node's semantics). */
export interface Timer {
  unref(): Timer;
}

export interface Clock {
  /** Monotonic milliseconds from an arbitrary origin: measure durations and set deadlines with this. */
  now(): number;
  /** Milliseconds since the Unix epoch: timestamps, certificate validity, anything shown to a user. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  /** setTimeout without a closure: `fn(arg)` when due (for per-request timers on the data path). */
  setTimeoutWith<A>(fn: (arg: A) => void, ms: number, arg: A): Timer;
  clearTimeout(t: Timer | null | undefined): void;
  setInterval(fn: () => void, ms: number): Timer;
  clearInterval(t: Timer | null | undefined): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setTimeoutWith: (fn, ms, arg) => setTimeout(fn, ms, arg),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t as NodeJS.Timeout | undefined),
};
