// Shared Envoy v3 value types: durations, percents, addresses, matchers, header options, data sources.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError, UnsupportedConfigError } from '../errors';
import type {
  CidrRange,
  Fraction,
  HeaderMatcherConfig,
  HeaderValueOption,
  SocketAddress,
  StringMatcherConfig,
} from './types';
import { describe, isPlainObject, Reader, toInt } from './reader';
import { fullMatchRegex } from './re2';

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_S = 315_576_000_000;

/** A google.protobuf.Duration ("0.25s" or {seconds, nanos}) in milliseconds. Negative is an error. */
export function toDurationMs(v: unknown, path: string): number {
  let seconds: number;
  let nanos: number;
  if (typeof v === 'string') {
    const m = DURATION.exec(v);
    if (!m) throw new ConfigError(path, `${JSON.stringify(v)} is not a valid duration (expected e.g. "0.25s")`);
    if (m[1]) throw new ConfigError(path, `duration must not be negative`);
    seconds = Number(m[2]);
    nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  } else if (isPlainObject(v)) {
    const r = new Reader(v, path);
    seconds = r.int('seconds', 0, -MAX_DURATION_S, MAX_DURATION_S);
    nanos = r.int('nanos', 0, -999_999_999, 999_999_999);
    r.done();
    if (seconds < 0 || nanos < 0) throw new ConfigError(path, `duration must not be negative`);
  } else {
    throw new ConfigError(path, `${describe(v)} is not a valid duration (expected e.g. "0.25s")`);
  }
  if (seconds > MAX_DURATION_S) throw new ConfigError(path, 'duration is too large');
  return seconds * 1000 + nanos / 1e6;
}

export function duration(r: Reader, key: string, defMs: number): number {
  const v = r.get(key);
  return v === undefined ? defMs : toDurationMs(v, r.at(key));
}

export function optDuration(r: Reader, key: string): number | null {
  const v = r.get(key);
  return v === undefined ? null : toDurationMs(v, r.at(key));
}

/** A duration that must be present and greater than zero. */
export function positiveDuration(r: Reader, key: string, defMs?: number): number {
  const v = r.get(key);
  if (v === undefined) {
    if (defMs !== undefined) return defMs;
    throw new ConfigError(r.at(key), 'is required');
  }
  const ms = toDurationMs(v, r.at(key));
  if (ms <= 0) throw new ConfigError(r.at(key), 'must be greater than 0');
  return ms;
}

/** envoy.type.v3.Percent ({value: 0..100}) → percent number. */
export function percent(r: Reader, key: string, def: number): number {
  const p = r.obj(key);
  if (!p) return def;
  const value = p.num('value', 0);
  p.done();
  if (value < 0 || value > 100) throw new ConfigError(p.at('value'), `${value} must be within 0-100`);
  return value;
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** envoy.type.v3.FractionalPercent → probability 0..1 (numerator above the denominator caps at 1). */
export function fractionalPercent(v: unknown, path: string): Fraction {
  const r = new Reader(v, path);
  const numerator = r.int('numerator', 0, 0, 0xffffffff);
  const denominator = r.enumOf('denominator', ['HUNDRED', 'TEN_THOUSAND', 'MILLION'], 'HUNDRED', 'denominator');
  r.done();
  return Math.min(1, numerator / DENOMINATORS[denominator]);
}

/** envoy.config.core.v3.RuntimeFractionalPercent: the default_value (runtime_key is only a name). */
export function runtimeFractionalPercent(r: Reader, key: string, def: Fraction): Fraction {
  const o = r.obj(key);
  if (!o) return def;
  const dv = o.get('default_value');
  if (dv === undefined) throw new ConfigError(o.at('default_value'), 'is required');
  const f = fractionalPercent(dv, o.at('default_value'));
  o.ignore('runtime_key');
  o.done();
  return f;
}

/** envoy.config.core.v3.Address with a socket_address (pipes and internal addresses are unsupported). */
export function socketAddress(v: unknown, path: string, opts: { requireIp?: boolean } = {}): SocketAddress {
  return socketAddressWithCompat(v, path, opts).address;
}

/**
 * The same, with ipv4_compat: whether an IPv6 any-address (`::`) also takes IPv4 connections
 * (it only matters for a listener bound to `::`).
 */
export function socketAddressWithCompat(v: unknown, path: string, opts: { requireIp?: boolean } = {}): { address: SocketAddress; ipv4Compat: boolean } {
  const a = new Reader(v, path);
  a.reject('pipe', 'envoy_internal_address');
  const s = a.obj('socket_address');
  if (!s) throw new ConfigError(a.at('socket_address'), 'is required');
  a.done();
  s.enumOf('protocol', ['TCP'], 'TCP', 'protocol (only TCP is supported)');
  const host = s.requiredStr('address');
  s.reject('named_port', 'resolver_name');
  const ipv4Compat = s.bool('ipv4_compat', false);
  const port = s.int('port_value', 0, 0, 65535);
  s.done();
  if (opts.requireIp && isIP(host) === 0) {
    throw new ConfigError(s.at('address'), `${host} is not an IP address`);
  }
  return { address: { host, port }, ipv4Compat };
}

/** envoy.config.core.v3.CidrRange. */
export function cidrRange(v: unknown, path: string): CidrRange {
  const r = new Reader(v, path);
  const address = r.requiredStr('address_prefix');
  const family = isIP(address);
  if (family === 0) throw new ConfigError(r.at('address_prefix'), `${address} is not an IP address`);
  const prefixLen = r.int('prefix_len', 0, 0, family === 4 ? 32 : 128);
  r.done();
  return { address, prefixLen };
}

/** envoy.type.matcher.v3.StringMatcher. */
export function stringMatcher(v: unknown, path: string): StringMatcherConfig {
  const r = new Reader(v, path);
  const ignoreCase = r.bool('ignore_case', false);
  const kinds = (['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const).filter((k) => r.has(k));
  r.reject('custom');
  if (kinds.length !== 1) {
    throw new ConfigError(path, 'exactly one of exact, prefix, suffix, contains, safe_regex is required');
  }
  const kind = kinds[0];
  let value: string;
  let regex: RegExp | null = null;
  if (kind === 'safe_regex') {
    const re = regexMatcher(r.get('safe_regex'), r.at('safe_regex'));
    value = re.source;
    regex = re.regex;
    if (ignoreCase) throw new ConfigError(r.at('ignore_case'), 'has no effect with safe_regex');
  } else {
    value = r.str(kind);
    if (value === '' && kind !== 'exact') throw new ConfigError(r.at(kind), 'must not be empty');
  }
  r.done();
  return { kind, value, regex, ignoreCase };
}

/** envoy.type.matcher.v3.RegexMatcher → anchored RegExp (full match). */
export function regexMatcher(v: unknown, path: string, extraFlags = ''): { source: string; regex: RegExp } {
  const r = new Reader(v, path);
  const g = r.obj('google_re2');
  if (g) {
    g.ignore('max_program_size');
    g.done();
  }
  const source = r.requiredStr('regex');
  const regex = fullMatchRegex(source, r.at('regex'), extraFlags);
  r.done();
  return { source, regex };
}

/** envoy.config.route.v3.HeaderMatcher. */
export function headerMatcher(v: unknown, path: string): HeaderMatcherConfig {
  const r = new Reader(v, path);
  const name = r.requiredStr('name').toLowerCase();
  const invertMatch = r.bool('invert_match', false);
  const treatMissingAsEmpty = r.bool('treat_missing_header_as_empty', false);
  const base = {
    name,
    value: '',
    regex: null as RegExp | null,
    ignoreCase: false,
    presentMatch: true,
    rangeStart: 0,
    rangeEnd: 0,
    invertMatch,
    treatMissingAsEmpty,
  };
  const specs = [
    'exact_match',
    'safe_regex_match',
    'range_match',
    'present_match',
    'prefix_match',
    'suffix_match',
    'contains_match',
    'string_match',
  ].filter((k) => r.has(k));
  if (specs.length > 1) throw new ConfigError(path, `only one of ${specs.join(', ')} may be given`);
  let out: HeaderMatcherConfig;
  const spec = specs[0];
  switch (spec) {
    case undefined:
      out = { ...base, kind: 'present' };
      break;
    case 'exact_match':
      out = { ...base, kind: 'exact', value: r.str(spec) };
      break;
    case 'prefix_match':
    case 'suffix_match':
    case 'contains_match': {
      const value = r.str(spec);
      if (value === '') throw new ConfigError(r.at(spec), 'must not be empty');
      out = { ...base, kind: spec.slice(0, -'_match'.length) as 'prefix' | 'suffix' | 'contains', value };
      break;
    }
    case 'safe_regex_match': {
      const re = regexMatcher(r.get(spec), r.at(spec));
      out = { ...base, kind: 'safe_regex', value: re.source, regex: re.regex };
      break;
    }
    case 'present_match':
      out = { ...base, kind: 'present', presentMatch: r.bool(spec, true) };
      break;
    case 'range_match': {
      const rr = r.obj(spec)!;
      const rangeStart = rr.int('start', 0, Number.MIN_SAFE_INTEGER);
      const rangeEnd = rr.int('end', 0, Number.MIN_SAFE_INTEGER);
      rr.done();
      if (rangeEnd <= rangeStart) throw new ConfigError(rr.path, 'end must be greater than start');
      out = { ...base, kind: 'range', rangeStart, rangeEnd };
      break;
    }
    default: {
      const sm = stringMatcher(r.get('string_match'), r.at('string_match'));
      out = { ...base, kind: sm.kind, value: sm.value, regex: sm.regex, ignoreCase: sm.ignoreCase };
    }
  }
  r.done();
  return out;
}

function checkHeaderName(name: string, path: string, verb: 'modified' | 'removed'): void {
  if (name === '') throw new ConfigError(path, 'header name is required');
  if (name.startsWith(':') || name === 'host') {
    throw new ConfigError(path, `:-prefixed or host headers may not be ${verb}`);
  }
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) throw new ConfigError(path, `${name} is not a valid header name`);
}

const APPEND_ACTIONS = [
  'APPEND_IF_EXISTS_OR_ADD',
  'ADD_IF_ABSENT',
  'OVERWRITE_IF_EXISTS_OR_ADD',
  'OVERWRITE_IF_EXISTS',
] as const;

/** envoy.config.core.v3.HeaderValueOption. */
export function headerValueOption(v: unknown, path: string): HeaderValueOption {
  const r = new Reader(v, path);
  const h = r.obj('header');
  if (!h) throw new ConfigError(r.at('header'), 'is required');
  const name = h.requiredStr('key').toLowerCase();
  checkHeaderName(name, h.at('key'), 'modified');
  if (h.has('value') && h.has('raw_value')) throw new ConfigError(h.path, 'only one of value and raw_value may be given');
  let value = h.str('value');
  const raw = h.get('raw_value');
  if (raw !== undefined) {
    if (typeof raw !== 'string') throw new ConfigError(h.at('raw_value'), 'expected base64 bytes');
    value = Buffer.from(raw, 'base64').toString('latin1');
  }
  h.done();
  if (/[\r\n\0]/.test(value)) throw new ConfigError(h.at('value'), 'must not contain CR, LF or NUL');
  if (r.has('append') && r.has('append_action')) {
    throw new ConfigError(path, 'append and append_action are mutually exclusive');
  }
  let action: HeaderValueOption['action'];
  if (r.has('append')) {
    action = r.bool('append', true) ? 'append' : 'overwrite';
  } else {
    const a = r.enumOf('append_action', APPEND_ACTIONS, 'APPEND_IF_EXISTS_OR_ADD', 'append_action');
    if (a === 'OVERWRITE_IF_EXISTS') throw new UnsupportedConfigError(r.at('append_action'), `${a} is not supported`);
    action = a === 'APPEND_IF_EXISTS_OR_ADD' ? 'append' : a === 'ADD_IF_ABSENT' ? 'add_if_absent' : 'overwrite';
  }
  if (r.bool('keep_empty_value', false)) throw new UnsupportedConfigError(r.at('keep_empty_value'), 'is not supported');
  r.done();
  return { name, value, action };
}

export function headersToAdd(r: Reader, key: string): HeaderValueOption[] {
  return r.list(key, headerValueOption);
}

export function headersToRemove(r: Reader, key: string): string[] {
  return r.list(key, (item, path) => {
    if (typeof item !== 'string') throw new ConfigError(path, `expected a header name, got ${describe(item)}`);
    const name = item.toLowerCase();
    checkHeaderName(name, path, 'removed');
    return name;
  });
}

/** envoy.config.core.v3.DataSource → bytes (filename is read now, relative to the process). */
export function dataSource(v: unknown, path: string): Buffer {
  const r = new Reader(v, path);
  const kinds = ['filename', 'inline_bytes', 'inline_string', 'environment_variable'].filter((k) => r.has(k));
  if (kinds.length !== 1) {
    throw new ConfigError(path, 'exactly one of filename, inline_bytes, inline_string is required');
  }
  r.reject('environment_variable', 'watched_directory');
  let out: Buffer;
  if (kinds[0] === 'filename') {
    const file = r.requiredStr('filename');
    try {
      out = readFileSync(file);
    } catch (e) {
      throw new ConfigError(r.at('filename'), `cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
  } else if (kinds[0] === 'inline_bytes') {
    const b = r.get('inline_bytes');
    if (Buffer.isBuffer(b)) out = Buffer.from(b);
    else if (typeof b === 'string') out = Buffer.from(b, 'base64');
    else throw new ConfigError(r.at('inline_bytes'), 'expected base64 bytes');
  } else {
    out = Buffer.from(r.str('inline_string'), 'utf8');
  }
  r.done();
  return out;
}

/** Node metadata / endpoint metadata: a plain JSON object, copied. */
export function metadataMap(r: Reader, key: string): Record<string, unknown> {
  return structuredClone(r.map(key));
}

export function uint32(v: unknown, path: string): number {
  return toInt(v, path, 0, 0xffffffff);
}
