// Envoy's string and header matchers, compiled once from config and evaluated without allocating.
//
// Used by route matching, the fault filter's header gate and (for retriable_headers) the retry
// policy. Header semantics follow Envoy's HeaderMatcher: several values of one header are joined
// with ','; a missing header fails every matcher (inverted or not) except `present_match: false`
// and `invert_match` on `present_match: true`, unless `treat_missing_header_as_empty` is set, in
// which case the matcher runs against ''. `safe_regex` is a full match and ignores `ignore_case`.

import type { HeaderMatcherConfig, StringMatcherConfig, StringMatchKind } from '../config/types';

export type HeaderRecord = Record<string, string | string[] | undefined>;

/** Where a header matcher reads its value: a regular header or one of the HTTP/2 pseudo-headers. */
const enum Source {
  Header,
  Method,
  Path,
  Authority,
  Scheme,
}

/** The request as header matchers see it; pseudo-headers come from the named fields. */
export interface MatchableRequest {
  readonly method: string;
  /** Path with query. */
  readonly path: string;
  readonly headers: HeaderRecord;
  /** `:authority`; when absent the `host` header is used. */
  readonly authority?: string;
  readonly scheme?: string;
}

/** A string matcher with its lower-cased value computed once. */
export class StringMatcher {
  readonly kind: StringMatchKind;
  private readonly value: string;
  private readonly regex: RegExp | null;
  private readonly ignoreCase: boolean;

  constructor(config: StringMatcherConfig) {
    this.kind = config.kind;
    this.ignoreCase = config.ignoreCase && config.kind !== 'safe_regex';
    this.value = this.ignoreCase ? config.value.toLowerCase() : config.value;
    this.regex = config.kind === 'safe_regex' ? anchored(config.regex, config.value) : null;
  }

  match(input: string): boolean {
    return matchString(this.kind, this.value, this.regex, this.ignoreCase, input);
  }
}

/** A header matcher compiled from its config; `match(req)` answers Envoy's matchHeaders. */
export class HeaderMatcher {
  readonly config: HeaderMatcherConfig;
  private readonly source: Source;
  private readonly value: string;
  private readonly regex: RegExp | null;
  private readonly ignoreCase: boolean;

  constructor(config: HeaderMatcherConfig) {
    this.config = config;
    this.source = sourceOf(config.name);
    this.ignoreCase = config.ignoreCase && config.kind !== 'safe_regex';
    this.value = this.ignoreCase ? config.value.toLowerCase() : config.value;
    this.regex = config.kind === 'safe_regex' ? anchored(config.regex, config.value) : null;
  }

  /** Matches against a header record only (no pseudo-headers other than those in the record). */
  matchHeaders(headers: HeaderRecord): boolean {
    return this.matchValue(joined(headers[this.config.name]));
  }

  match(req: MatchableRequest): boolean {
    let value: string | undefined;
    switch (this.source) {
      case Source.Header:
        value = joined(req.headers[this.config.name]);
        break;
      case Source.Method:
        value = req.method;
        break;
      case Source.Path:
        value = req.path;
        break;
      case Source.Authority:
        value = req.authority ?? joined(req.headers[':authority'] ?? req.headers.host);
        break;
      case Source.Scheme:
        value = req.scheme ?? joined(req.headers[':scheme']);
        break;
    }
    return this.matchValue(value);
  }

  /** Envoy's rules for one (joined) header value; `undefined` means the header is absent. */
  matchValue(value: string | undefined): boolean {
    const c = this.config;
    if (value === undefined) {
      if (!c.treatMissingAsEmpty) {
        if (c.kind !== 'present') return false;
        return c.invertMatch ? c.presentMatch : !c.presentMatch;
      }
      value = '';
    }
    let matched: boolean;
    switch (c.kind) {
      case 'present':
        matched = c.presentMatch;
        break;
      case 'range':
        matched = inRange(value, c.rangeStart, c.rangeEnd);
        break;
      default:
        matched = matchString(c.kind, this.value, this.regex, this.ignoreCase, value);
    }
    return matched !== c.invertMatch;
  }
}

/** All matchers must match (an empty list matches). */
export function matchAllHeaders(matchers: readonly HeaderMatcher[], req: MatchableRequest): boolean {
  for (let i = 0; i < matchers.length; i++) {
    if (!matchers[i].match(req)) return false;
  }
  return true;
}

export function compileHeaderMatchers(configs: readonly HeaderMatcherConfig[]): HeaderMatcher[] {
  return configs.map((c) => new HeaderMatcher(c));
}

function matchString(
  kind: StringMatchKind,
  value: string,
  regex: RegExp | null,
  ignoreCase: boolean,
  input: string,
): boolean {
  if (kind === 'safe_regex') return regex !== null && regex.test(input);
  const subject = ignoreCase ? input.toLowerCase() : input;
  switch (kind) {
    case 'exact':
      return subject === value;
    case 'prefix':
      return subject.startsWith(value);
    case 'suffix':
      return subject.endsWith(value);
    case 'contains':
      return subject.includes(value);
  }
  return false;
}

/** Several values of one header, joined with ',' as Envoy does; undefined when absent. */
function joined(v: string | string[] | undefined): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  return v.length === 0 ? undefined : v.length === 1 ? v[0] : v.join(',');
}

const INTEGER = /^[+-]?[0-9]+$/;

function inRange(value: string, start: number, end: number): boolean {
  if (!INTEGER.test(value)) return false;
  const n = Number(value);
  return n >= start && n < end;
}

/**
 * The config promises an anchored full-match RegExp; if one arrives unanchored (or only the pattern
 * is known), anchor it here so a partial match never counts. Sticky/global flags are dropped so
 * `test` holds no state between calls.
 */
function anchored(regex: RegExp | null, pattern: string): RegExp {
  const source = regex ? regex.source : pattern;
  const flags = regex ? regex.flags.replace(/[gy]/g, '') : '';
  if (source.startsWith('^(?:') && source.endsWith(')$')) {
    return regex && regex.flags === flags ? regex : new RegExp(source, flags);
  }
  return new RegExp(`^(?:${source})$`, flags);
}

export { anchored as anchorRegex };

function sourceOf(name: string): Source {
  switch (name) {
    case ':method':
      return Source.Method;
    case ':path':
      return Source.Path;
    case ':authority':
      return Source.Authority;
    case ':scheme':
      return Source.Scheme;
    default:
      return Source.Header;
  }
}
