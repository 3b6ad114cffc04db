// What every fuzz target shares: the invariant error, expected-error filtering and a byte reader.

/**
 * A broken invariant: the one thing, with an unexpected exception type, that a target reports as a
 * crash. Expected validation errors are caught by the targets and never reach the fuzzer.
 */
export class FuzzInvariantError extends Error {
  override readonly name = 'FuzzInvariantError';
}

export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new FuzzInvariantError(message);
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `fn`; an error of one of `expected` classes is returned, any other is rethrown (a crash). */
export function expectOnly<T>(fn: () => T, ...expected: ErrorClass[]): { value: T; error: null } | { value: null; error: Error } {
  try {
    return { value: fn(), error: null };
  } catch (err) {
    if (expected.some((c) => err instanceof c)) return { value: null, error: err as Error };
    throw err;
  }
}

/** `expectOnly` for a promise. */
export async function expectOnlyAsync<T>(fn: () => Promise<T>, ...expected: ErrorClass[]): Promise<{ value: T; error: null } | { value: null; error: Error }> {
  try {
    return { value: await fn(), error: null };
  } catch (err) {
    if (expected.some((c) => err instanceof c)) return { value: null, error: err as Error };
    throw err;
  }
}

/**
 * Whether `v` and everything reachable from it is frozen, as src/config/freeze.ts promises: objects,
 * arrays, Maps and Sets (their contents too); Buffers, typed arrays and RegExps are left alone.
 */
export function isDeepFrozen(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v !== 'object' || v === null || seen.has(v)) return true;
  if (Buffer.isBuffer(v) || v instanceof RegExp || ArrayBuffer.isView(v)) return true;
  seen.add(v);
  if (!Object.isFrozen(v)) return false;
  const children: unknown[] = [];
  if (v instanceof Set) children.push(...v);
  if (v instanceof Map) for (const [k, item] of v) children.push(k, item);
  for (const k of Reflect.ownKeys(v)) children.push((v as Record<string | symbol, unknown>)[k]);
  return children.every((c) => isDeepFrozen(c, seen));
}

/** Reads structure out of fuzz bytes; past the end every read returns zeros, so any input is valid. */
export class ByteReader {
  private pos = 0;
  constructor(private readonly data: Buffer) {}

  get remaining(): number {
    return this.data.length - this.pos;
  }

  u8(): number {
    return this.pos < this.data.length ? this.data[this.pos++] : 0;
  }

  u16(): number {
    return (this.u8() << 8) | this.u8();
  }

  bool(): boolean {
    return (this.u8() & 1) === 1;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.u16() % n;
  }

  bytes(n: number): Buffer {
    const out = this.data.subarray(this.pos, Math.min(this.data.length, this.pos + n));
    this.pos += out.length;
    return out;
  }

  /** A string of up to `max` latin1 characters, length-prefixed by one byte. */
  str(max = 255): string {
    return this.bytes(Math.min(max, this.u8())).toString('latin1');
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }
}
