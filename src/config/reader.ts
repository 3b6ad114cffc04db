// A path-tracking reader over one raw config object: typed getters, defaults, unknown-key rejection.
//
// Keys are looked up by their snake_case proto name and, failing that, by the lowerCamelCase
// proto3 JSON name, so YAML bootstraps and proto3 JSON from xDS read the same. `null` values
// count as absent (proto3 JSON with defaults emits them). `done()` rejects every key not read.

import { ConfigError, UnsupportedConfigError } from '../errors';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** proto3 JSON name of a snake_case field: drop each '_' and upper-case the next character. */
export function jsonName(snake: string): string {
  return snake.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'an object';
}

/**
 * The spellings a field may arrive in: snake_case (YAML), the proto3 JSON name
 * (`consecutive5xx`) and protobufjs's camelCase, which keeps '_' before a digit (`consecutive_5xx`).
 */
function spellings(snake: string): string[] {
  const out = [snake];
  for (const k of [jsonName(snake), snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())]) {
    if (!out.includes(k)) out.push(k);
  }
  return out;
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

export class Reader {
  readonly path: string;
  private readonly raw: Record<string, unknown>;
  private readonly used = new Set<string>();

  constructor(raw: unknown, path: string) {
    if (!isPlainObject(raw)) throw new ConfigError(path, `expected an object, got ${describe(raw)}`);
    this.raw = raw;
    this.path = path;
  }

  /** Path of a field of this object. */
  at(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private rawKey(key: string): string | null {
    let found: string | null = null;
    for (const k of spellings(key)) {
      if (!(k in this.raw)) continue;
      if (found !== null && this.raw[k] != null && this.raw[found] != null) {
        throw new ConfigError(this.at(key), `given twice (as ${found} and ${k})`);
      }
      if (found === null || this.raw[found] == null) found = k;
    }
    return found;
  }

  /** The raw value (undefined when absent or null); marks the key as read. */
  get(key: string): unknown {
    const k = this.rawKey(key);
    if (k === null) return undefined;
    this.used.add(k);
    const v = this.raw[k];
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    const k = this.rawKey(key);
    return k !== null && this.raw[k] != null;
  }

  /** Accept and ignore fields that do not change how traffic is handled (see README.md). */
  ignore(...keys: string[]): void {
    for (const k of keys) this.get(k);
  }

  /** Envoy fields Ferry does not implement: an error when present (and not at their zero value). */
  reject(...keys: string[]): void {
    for (const key of keys) {
      const v = this.get(key);
      if (v === undefined || v === false || v === '' || v === 0) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (isPlainObject(v) && Object.keys(v).length === 0) continue;
      throw new UnsupportedConfigError(this.at(key), 'is not supported by Ferry');
    }
  }

  str(key: string, def = ''): string {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v !== 'string') throw new ConfigError(this.at(key), `expected a string, got ${describe(v)}`);
    return v;
  }

  optStr(key: string): string | null {
    return this.has(key) ? this.str(key) : null;
  }

  requiredStr(key: string): string {
    const v = this.str(key);
    if (v === '') throw new ConfigError(this.at(key), 'is required');
    return v;
  }

  /** bool or BoolValue ({value: b}). */
  bool(key: string, def: boolean): boolean {
    let v = this.get(key);
    if (v === undefined) return def;
    if (isPlainObject(v) && Object.keys(v).every((k) => k === 'value')) v = v.value ?? false;
    if (typeof v !== 'boolean') throw new ConfigError(this.at(key), `expected true or false, got ${describe(v)}`);
    return v;
  }

  /** Integer (uint32/uint64/int64, number or decimal string, or a wrapper {value}), range-checked. */
  int(key: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (v === undefined) return def;
    return toInt(v, this.at(key), min, max);
  }

  optInt(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | null {
    return this.has(key) ? this.int(key, 0, min, max) : null;
  }

  /** double or DoubleValue. */
  num(key: string, def: number): number {
    let v = this.get(key);
    if (v === undefined) return def;
    if (isPlainObject(v) && Object.keys(v).every((k) => k === 'value')) v = v.value ?? 0;
    if (typeof v === 'string' && NUMERIC.test(v)) v = Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ConfigError(this.at(key), `expected a number, got ${describe(v)}`);
    }
    return v;
  }

  /** One of the enum's names (proto3 JSON with `enums: String` gives names too). */
  enumOf<T extends string>(key: string, allowed: readonly T[], def: T, what = key): T {
    const v = this.get(key);
    if (v === undefined) return def;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    throw new ConfigError(this.at(key), `${String(v)} is not a valid ${what}`);
  }

  obj(key: string): Reader | null {
    const v = this.get(key);
    return v === undefined ? null : new Reader(v, this.at(key));
  }

  /** A list; each element handed to `fn` with its path. */
  list<T>(key: string, fn: (item: unknown, path: string, index: number) => T): T[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new ConfigError(this.at(key), `expected a list, got ${describe(v)}`);
    return v.map((item, i) => fn(item, `${this.at(key)}[${i}]`, i));
  }

  objList<T>(key: string, fn: (r: Reader, index: number) => T): T[] {
    return this.list(key, (item, path, i) => fn(new Reader(item, path), i));
  }

  strList(key: string): string[] {
    return this.list(key, (item, path) => {
      if (typeof item !== 'string') throw new ConfigError(path, `expected a string, got ${describe(item)}`);
      return item;
    });
  }

  intList(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number[] {
    return this.list(key, (item, path) => toInt(item, path, min, max));
  }

  /** A map field (metadata, typed_per_filter_config): keys are data, not field names. */
  map(key: string): Record<string, unknown> {
    const v = this.get(key);
    if (v === undefined) return {};
    if (!isPlainObject(v)) throw new ConfigError(this.at(key), `expected a map, got ${describe(v)}`);
    return v;
  }

  /** Every key not yet read is an Envoy field Ferry does not implement. */
  rejectRest(): void {
    this.reject(...Object.keys(this.raw).filter((k) => !this.used.has(k)));
  }

  /** Rejects keys not read. A string naming a read key is a proto3 `oneofs: true` marker. */
  done(): void {
    for (const k of Object.keys(this.raw)) {
      if (this.used.has(k) || this.raw[k] === null || this.raw[k] === undefined) continue;
      const v = this.raw[k];
      if (typeof v === 'string' && spellings(v).some((k) => this.used.has(k))) continue;
      throw new ConfigError(this.at(k), 'unknown field');
    }
  }
}

export function toInt(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (isPlainObject(v) && Object.keys(v).every((k) => k === 'value')) v = v.value ?? 0;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) v = Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ConfigError(path, `expected an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new ConfigError(path, `${v} is out of range [${min}, ${max}]`);
  return v;
}
