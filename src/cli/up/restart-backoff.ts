// A container's restart back-off under restartPolicy Always, as the kubelet does it: 1 s doubling to 30 s, back to 1 s once the container ran 10 minutes.

/** How long a container must have run for its next exit to start the back-off over (the kubelet's 10 minutes). */
export const BACKOFF_RESET_AFTER_MS = 10 * 60_000;
const FIRST_MS = 1000;
const MAX_MS = 30_000;

/**
 * The delay before restarting a container that exited after running `ranMs`, and the back-off step
 * to keep: a container that crashes at once waits longer each time; one that ran 10 minutes is
 * restarted as promptly as the first time (a rolling restart an hour later is not a crash loop).
 */
export function nextRestart(step: number, ranMs: number): { delayMs: number; step: number } {
  const s = ranMs >= BACKOFF_RESET_AFTER_MS ? 0 : step;
  return { delayMs: Math.min(MAX_MS, FIRST_MS * 2 ** Math.min(5, s)), step: s + 1 };
}
