// When to renew a certificate: at half its lifetime, with jitter so a fleet issued together does not renew together.

/** Jitter as a fraction of the lifetime on either side of the half-life. */
export const DEFAULT_ROTATION_JITTER = 0.1;

/**
 * The time (ms) to start renewing a certificate valid from `notBefore` to `notAfter` (ms):
 * notBefore + lifetime × (0.5 ± jitter), `random` in [0, 1) choosing where in the window. Pure.
 */
export function nextRotationAt(
  notBefore: number,
  notAfter: number,
  random: () => number,
  jitter: number = DEFAULT_ROTATION_JITTER,
): number {
  if (!(notAfter > notBefore)) throw new RangeError(`nextRotationAt: notAfter (${notAfter}) must be after notBefore (${notBefore})`);
  if (!(jitter >= 0 && jitter < 0.5)) throw new RangeError(`nextRotationAt: jitter must be in [0, 0.5), got ${jitter}`);
  const lifetime = notAfter - notBefore;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(notBefore + lifetime * (0.5 + (2 * r - 1) * jitter));
}
