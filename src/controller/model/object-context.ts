// Helpers shared by the object validators: the `Kind ns/name` prefix on errors, metadata, durations.

import { isIP } from 'node:net';
import { ConfigError } from '../../errors';
import { isPlainObject, Reader } from '../../config/reader';

/** `Kind ns/name` (or `Kind name` for cluster-scoped objects). */
export function objectId(kind: string, namespace: string, name: string): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** Runs fn; a ConfigError's path gets the object's id in front: `TrafficPolicy default/foo: spec.retries.attemps`. */
export function inObject<T>(id: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError && !e.path.startsWith(id)) {
      const bare = e.path ? e.message.slice(e.path.length + 2) : e.message;
      const err = new ConfigError(e.path ? `${id}: ${e.path}` : id, bare, { cause: e });
      (err as { code: string }).code = e.code;
      throw err;
    }
    throw e;
  }
}

export interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly createdMs: number;
}

/** metadata.name (required), namespace (default `defaultNamespace`), labels, creationTimestamp. */
export function readMeta(obj: Record<string, unknown>, kind: string, namespaced: boolean, defaultNamespace = 'default'): Meta {
  const m = obj.metadata;
  if (!isPlainObject(m)) throw new ConfigError(`${kind} (unnamed)`, 'metadata: is required');
  const name = m.name;
  if (typeof name !== 'string' || name === '') throw new ConfigError(`${kind} (unnamed)`, 'metadata.name: is required');
  let namespace = '';
  if (namespaced) {
    const ns = m.namespace;
    if (ns !== undefined && ns !== null && (typeof ns !== 'string' || ns === '')) {
      throw new ConfigError(objectId(kind, '?', name), 'metadata.namespace: expected a non-empty string');
    }
    namespace = (ns as string | undefined) ?? defaultNamespace;
  }
  const id = objectId(kind, namespace, name);
  const labels = stringMap(m.labels, `${id}: metadata.labels`);
  const ts = m.creationTimestamp;
  let createdMs = 0;
  if (ts instanceof Date) createdMs = ts.getTime();
  else if (typeof ts === 'string') createdMs = Date.parse(ts) || 0;
  return { name, namespace, labels, createdMs };
}

export function stringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw new ConfigError(path, 'expected a map of strings');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ConfigError(`${path}.${k}`, 'expected a string');
    out[k] = val;
  }
  return out;
}

const UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const DURATION = /^([0-9]{1,5}(h|ms|m|s)){1,4}$/;

/** A Gateway API duration (GEP-2257): `10s`, `1m30s`, `500ms`, `0s`. */
export function parseDuration(v: unknown, path: string): number {
  if (typeof v !== 'string' || !DURATION.test(v)) {
    throw new ConfigError(path, `${JSON.stringify(v)} is not a valid duration (expected e.g. "10s", "500ms", "1m30s")`);
  }
  let ms = 0;
  for (const m of v.matchAll(/([0-9]+)(h|ms|m|s)/g)) ms += Number(m[1]) * UNITS[m[2]];
  return ms;
}

export function optDurationField(r: Reader, key: string): number | null {
  const v = r.get(key);
  return v === undefined ? null : parseDuration(v, r.at(key));
}

export function positiveDurationField(r: Reader, key: string, def: number): number {
  const v = r.get(key);
  if (v === undefined) return def;
  const ms = parseDuration(v, r.at(key));
  if (ms <= 0) throw new ConfigError(r.at(key), 'must be greater than 0');
  return ms;
}

export function ipField(v: unknown, path: string): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw new ConfigError(path, `${JSON.stringify(v)} is not an IP address`);
  return v;
}
