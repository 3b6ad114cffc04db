// Conversion between proto3-JSON-ish objects and protobufjs message objects, driven by the schema.
//
// Encoding accepts snake_case, lowerCamelCase and protobufjs spellings, durations as "1.5s" or
// {seconds, nanos}, wrappers as bare values or {value}, Struct as plain JSON and nested Any as
// {'@type', ...fields}; an unknown key, enum name or Any type is a ConfigError naming its path.
// Decoding yields proto3 JSON names with unset fields absent, enums as names, durations as
// {seconds, nanos}, wrappers as bare values, Struct as plain JSON and Any as {'@type', ...fields}.

import { Enum, Type, type Field, type Root } from 'protobufjs';
import { ConfigError, UnsupportedConfigError } from '../errors';

type Json = Record<string, unknown>;

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((n) => `.google.protobuf.${n}Value`),
);
const LONG_WRAPPERS = new Set(['.google.protobuf.Int64Value', '.google.protobuf.UInt64Value']);
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'a list' : 'an object';
}

function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** proto3 JSON name of a snake_case field. */
export function protoJsonName(snake: string): string {
  return snake.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
}

const spellingCache = new WeakMap<Type, Map<string, Field>>();

/** Every spelling of every field of `t`: snake_case, proto3 JSON name, protobufjs camelCase. */
function spellings(t: Type): Map<string, Field> {
  let m = spellingCache.get(t);
  if (m) return m;
  m = new Map();
  for (const f of t.fieldsArray) {
    m.set(f.name, f);
    m.set(protoJsonName(f.name), f);
    m.set(f.name.replace(/_([a-z])/g, (_x, c: string) => c.toUpperCase()), f);
  }
  spellingCache.set(t, m);
  return m;
}

/** Looks up the message type an Any's type URL names; UnsupportedConfigError if it is not loaded. */
export function typeForUrl(root: Root, typeUrl: unknown, path: string): Type {
  if (typeof typeUrl !== 'string' || !typeUrl) throw new ConfigError(at(path, '@type'), 'is required');
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  let t: unknown = null;
  try {
    t = root.lookup(name);
  } catch {
    t = null;
  }
  if (!(t instanceof Type)) throw new UnsupportedConfigError(at(path, '@type'), `unknown type ${typeUrl}`);
  return t;
}

// ───────────────────────────── encode ─────────────────────────────

/** proto3-JSON-ish object → an object protobufjs's `fromObject` reads exactly (snake_case keys). */
export function jsonToProto(root: Root, t: Type, v: unknown, path: string): unknown {
  const name = t.fullName;
  if (name === '.google.protobuf.Any') return anyToProto(root, v, path);
  if (name === '.google.protobuf.Duration') return durationToProto(v, path);
  if (name === '.google.protobuf.Struct') return structToProto(v, path);
  if (name === '.google.protobuf.Value') return valueToProto(v, path);
  if (name === '.google.protobuf.ListValue') {
    if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${describe(v)}`);
    return { values: v.map((x, i) => valueToProto(x, at(path, i))) };
  }
  if (WRAPPERS.has(name) && !isObject(v)) return { value: singleToProto(root, t.fields.value, v, path) };
  if (!isObject(v)) throw new ConfigError(path, `expected an object, got ${describe(v)}`);
  const fields = spellings(t);
  const out: Json = {};
  for (const [key, raw] of Object.entries(v)) {
    if (raw === null || raw === undefined) continue;
    const f = fields.get(key);
    if (!f) throw new ConfigError(at(path, key), 'unknown field');
    if (f.name in out) throw new ConfigError(at(path, key), `given twice (as ${f.name} and ${key})`);
    out[f.name] = fieldToProto(root, f, raw, at(path, key));
  }
  for (const o of t.oneofsArray) {
    const set = o.fieldsArray.filter((f) => f.name in out).map((f) => f.name);
    if (set.length > 1) throw new ConfigError(at(path, set[1]), `conflicts with ${set[0]} (only one of ${o.name} may be set)`);
  }
  return out;
}

function fieldToProto(root: Root, f: Field, v: unknown, path: string): unknown {
  if (f.map) {
    if (!isObject(v)) throw new ConfigError(path, `expected an object, got ${describe(v)}`);
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) out[k] = singleToProto(root, f, x, at(path, k));
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) throw new ConfigError(path, `expected a list, got ${describe(v)}`);
    return v.map((x, i) => singleToProto(root, f, x, at(path, i)));
  }
  return singleToProto(root, f, v, path);
}

function singleToProto(root: Root, f: Field, v: unknown, path: string): unknown {
  const rt = f.resolvedType;
  if (rt instanceof Type) return jsonToProto(root, rt, v, path);
  if (rt instanceof Enum) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && v in rt.values) return v;
    throw new ConfigError(path, `${describe(v)} is not a valid ${rt.name} (one of ${Object.keys(rt.values).join(', ')})`);
  }
  if (f.type === 'string' && typeof v !== 'string') throw new ConfigError(path, `expected a string, got ${describe(v)}`);
  if (f.type === 'bool' && typeof v !== 'boolean') throw new ConfigError(path, `expected a boolean, got ${describe(v)}`);
  if (f.type === 'bytes' && typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new ConfigError(path, `expected base64 bytes, got ${describe(v)}`);
  }
  if (/^(u?int|s?fixed|sint)(32|64)$|^(double|float)$/.test(f.type)) {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || Number.isNaN(n)) throw new ConfigError(path, `expected a number, got ${describe(v)}`);
    if (f.type.endsWith('64') && typeof v === 'string') return v;
    return n;
  }
  return v;
}

function anyToProto(root: Root, v: unknown, path: string): unknown {
  if (!isObject(v)) throw new ConfigError(path, `expected an object with @type, got ${describe(v)}`);
  if (v['@type'] === undefined && 'type_url' in v && 'value' in v) return v; // already encoded
  const inner = typeForUrl(root, v['@type'], path);
  const typeUrl = String(v['@type']);
  let body: unknown;
  if (isWellKnownJson(inner)) body = jsonToProto(root, inner, v.value, at(path, 'value'));
  else {
    const rest: Json = { ...v };
    delete rest['@type'];
    body = jsonToProto(root, inner, rest, path);
  }
  return { type_url: typeUrl, value: inner.encode(inner.fromObject(body as Json)).finish() };
}

function isWellKnownJson(t: Type): boolean {
  const n = t.fullName;
  return WRAPPERS.has(n) || n === '.google.protobuf.Duration' || n === '.google.protobuf.Struct' || n === '.google.protobuf.Value' || n === '.google.protobuf.ListValue';
}

function durationToProto(v: unknown, path: string): unknown {
  if (isObject(v)) {
    for (const k of Object.keys(v)) if (k !== 'seconds' && k !== 'nanos') throw new ConfigError(at(path, k), 'unknown field');
    return v;
  }
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  if (!m) throw new ConfigError(path, `${describe(v)} is not a valid duration (expected e.g. "0.25s")`);
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * (m[3] ? Number(m[3].padEnd(9, '0')) : 0) };
}

function structToProto(v: unknown, path: string): unknown {
  if (!isObject(v)) throw new ConfigError(path, `expected an object, got ${describe(v)}`);
  const fields: Json = {};
  for (const [k, x] of Object.entries(v)) fields[k] = valueToProto(x, at(path, k));
  return { fields };
}

// google.protobuf.Value's fields as protobufjs's built-in definition names them (camelCase).
const V_NULL = 'nullValue';
const V_NUMBER = 'numberValue';
const V_STRING = 'stringValue';
const V_BOOL = 'boolValue';
const V_STRUCT = 'structValue';
const V_LIST = 'listValue';

function valueToProto(v: unknown, path: string): unknown {
  if (v === null || v === undefined) return { [V_NULL]: 'NULL_VALUE' };
  if (typeof v === 'number') return { [V_NUMBER]: v };
  if (typeof v === 'string') return { [V_STRING]: v };
  if (typeof v === 'boolean') return { [V_BOOL]: v };
  if (Array.isArray(v)) return { [V_LIST]: { values: v.map((x, i) => valueToProto(x, at(path, i))) } };
  if (isObject(v)) return { [V_STRUCT]: structToProto(v, path) };
  throw new ConfigError(path, `${describe(v)} is not a JSON value`);
}

// ───────────────────────────── decode ─────────────────────────────

/** The output of protobufjs `toObject({json: true, defaults: false, ...})` → proto3 JSON. */
export function protoToJson(root: Root, t: Type, o: unknown): unknown {
  const name = t.fullName;
  const obj = (isObject(o) ? o : {}) as Json;
  if (name === '.google.protobuf.Any') return anyToJson(root, obj);
  if (name === '.google.protobuf.Duration' || name === '.google.protobuf.Timestamp') {
    return { seconds: Number(obj.seconds ?? 0), nanos: Number(obj.nanos ?? 0) };
  }
  if (name === '.google.protobuf.Struct') return structToJson(obj);
  if (name === '.google.protobuf.Value') return valueToJson(obj);
  if (name === '.google.protobuf.ListValue') return ((obj.values as Json[] | undefined) ?? []).map(valueToJson);
  if (WRAPPERS.has(name)) return obj.value ?? wrapperDefault(name);
  const out: Json = {};
  for (const [key, v] of Object.entries(obj)) {
    const f = t.fields[key];
    if (!f || v === undefined || v === null) continue;
    const conv = (x: unknown) => (f.resolvedType instanceof Type ? protoToJson(root, f.resolvedType, x) : x);
    let val: unknown;
    if (f.map) val = Object.fromEntries(Object.entries(v as Json).map(([k, x]) => [k, conv(x)]));
    else if (f.repeated) val = (v as unknown[]).map(conv);
    else val = conv(v);
    out[protoJsonName(f.name)] = val;
  }
  return out;
}

function wrapperDefault(name: string): unknown {
  if (name === '.google.protobuf.BoolValue') return false;
  if (name === '.google.protobuf.StringValue' || name === '.google.protobuf.BytesValue') return '';
  return LONG_WRAPPERS.has(name) ? '0' : 0;
}

function anyToJson(root: Root, obj: Json): unknown {
  const url = (obj['@type'] ?? obj.type_url) as string | undefined;
  if (!url) return {};
  let inner: Type;
  try {
    inner = typeForUrl(root, url, '');
  } catch {
    return { '@type': url, value: obj.value }; // a type Ferry does not load: left encoded (base64)
  }
  const rest: Json = { ...obj };
  delete rest['@type'];
  if (isWellKnownJson(inner)) return { '@type': url, value: protoToJson(root, inner, rest) };
  return { '@type': url, ...(protoToJson(root, inner, rest) as Json) };
}

function structToJson(obj: Json): Json {
  const out: Json = {};
  for (const [k, x] of Object.entries((obj.fields as Json | undefined) ?? {})) out[k] = valueToJson(x as Json);
  return out;
}

function valueToJson(v: Json): unknown {
  if (v[V_NUMBER] !== undefined) return v[V_NUMBER];
  if (v[V_STRING] !== undefined) return v[V_STRING];
  if (v[V_BOOL] !== undefined) return v[V_BOOL];
  if (v[V_STRUCT] !== undefined) return structToJson(v[V_STRUCT] as Json);
  if (v[V_LIST] !== undefined) return (((v[V_LIST] as Json).values as Json[] | undefined) ?? []).map(valueToJson);
  return null;
}

/**
 * The path of the first oneof with more than one member set in a decoded message, or null. The wire
 * format lets a sender put several members of a oneof in one message (the last one counts, for
 * protobuf); protobufjs keeps them all, and a reader would pick one arbitrarily. Reads the output of
 * `toObject({json: true})` (snake_case keys, Any expanded as {'@type', ...fields}).
 */
export function oneofConflict(root: Root, t: Type, o: unknown, path: string): { path: string; message: string } | null {
  if (!isObject(o)) return null;
  if (t.fullName === '.google.protobuf.Any') {
    let inner: Type;
    try {
      inner = typeForUrl(root, o['@type'], path);
    } catch {
      return null; // left encoded, not read
    }
    const rest: Json = { ...o };
    delete rest['@type'];
    return isWellKnownJson(inner) ? null : oneofConflict(root, inner, rest, path);
  }
  for (const one of t.oneofsArray) {
    const set = one.fieldsArray.filter((f) => o[f.name] !== undefined && o[f.name] !== null);
    if (set.length > 1) {
      return { path: at(path, protoJsonName(set[1].name)), message: `conflicts with ${protoJsonName(set[0].name)} (only one of ${one.name} may be set)` };
    }
  }
  for (const [key, v] of Object.entries(o)) {
    const f = t.fields[key];
    if (!f || !(f.resolvedType instanceof Type) || v === undefined || v === null) continue;
    const p = at(path, protoJsonName(f.name));
    const items: [unknown, string][] = f.map
      ? Object.entries(v as Json).map(([k, x]) => [x, at(p, k)])
      : f.repeated
        ? (v as unknown[]).map((x, i) => [x, at(p, i)])
        : [[v, p]];
    for (const [x, xp] of items) {
      const c = oneofConflict(root, f.resolvedType, x, xp);
      if (c !== null) return c;
    }
  }
  return null;
}
