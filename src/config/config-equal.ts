// Structural equality of two translated *Config values: tells an unchanged part of a new resource from a changed one.

/**
 * True when `a` and `b` hold the same configuration: plain objects and arrays compared member by
 * member, RegExps by source and flags, Sets and Maps by their entries in order, Buffers and other
 * byte views by their bytes. Functions and class instances other than those are equal only when they
 * are the same object, so anything this cannot look into counts as changed.
 */
export function configEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => configEqual(x, b[i]));
  if (Array.isArray(b)) return false;
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.byteLength !== b.byteLength) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (a instanceof Set || b instanceof Set) return a instanceof Set && b instanceof Set && configEqual([...a], [...b]);
  if (a instanceof Map || b instanceof Map) return a instanceof Map && b instanceof Map && configEqual([...a], [...b]);
  const pa = Object.getPrototypeOf(a) as unknown;
  const pb = Object.getPrototypeOf(b) as unknown;
  if (pa !== pb || (pa !== Object.prototype && pa !== null)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && configEqual(ra[k], rb[k]));
}
