// Deep-freezes translated config: objects, arrays, Sets and Maps (Buffers and RegExps are left alone).

function refuse(): never {
  throw new TypeError('frozen config: cannot modify');
}

export function deepFreeze<T>(value: T): T {
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    if (Buffer.isBuffer(v) || v instanceof RegExp || ArrayBuffer.isView(v)) return;
    seen.add(v);
    if (v instanceof Set) {
      for (const item of v) visit(item);
      for (const m of ['add', 'delete', 'clear']) Object.defineProperty(v, m, { value: refuse });
    } else if (v instanceof Map) {
      for (const [k, item] of v) {
        visit(k);
        visit(item);
      }
      for (const m of ['set', 'delete', 'clear']) Object.defineProperty(v, m, { value: refuse });
    }
    for (const key of Reflect.ownKeys(v)) visit((v as Record<PropertyKey, unknown>)[key]);
    Object.freeze(v);
  };
  visit(value);
  return value;
}
