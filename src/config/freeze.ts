// Deep-freezes translated config: objects, arrays, Sets and Maps (Buffers and RegExps are left alone).
//
// An object that is already frozen is taken as deeply frozen and not walked again: the controller
// freezes shared resources once and then every proxy's snapshot that holds them, so re-walking would
// cost as much as the mesh is large, per proxy.

function refuse(): never {
  throw new TypeError('frozen config: cannot modify');
}

export function deepFreeze<T>(value: T): T {
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || Object.isFrozen(v)) return;
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
