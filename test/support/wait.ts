// Waiting for a condition in tests and harnesses: a probe polled until it gives a value, bounded in time.

import { systemClock, type Clock } from '../../src/clock/clock';

export function sleep(ms: number, clock: Clock = systemClock): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it returns something other than null/false; throws after `timeoutMs`, with the last error. */
export async function waitFor<T>(what: string, probe: () => T | null | false | Promise<T | null | false>, timeoutMs = 15_000, clock: Clock = systemClock, everyMs = 100): Promise<T> {
  const end = clock.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== false) return v;
    } catch (err) {
      last = String(err);
    }
    if (clock.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(everyMs, clock);
  }
}
