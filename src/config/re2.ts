// Translates an RE2 pattern (Envoy's safe_regex) into an equivalent JavaScript RegExp, or rejects it.
//
// RE2 refuses what JS would silently accept (lookaround, backreferences), so those are errors
// here too. Supported RE2-only syntax is rewritten: (?P<name>…), \A, \z, \Q…\E, [[:class:]] and
// leading (?i)/(?s)/(?m) flag groups. Unicode classes (\p{…}), \C and (?U) are rejected.

import { ConfigError } from '../errors';

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

function escapeLiteral(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** RE2 source → JS source and flags (without anchoring). Throws ConfigError naming `path`. */
export function re2ToJs(re2: string, path: string): { source: string; flags: string } {
  let flags = '';
  let src = re2;
  // Leading global flag group, e.g. (?i) or (?is).
  const lead = /^\(\?([ims]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]) if (!flags.includes(f)) flags += f;
    src = src.slice(lead[0].length);
  }
  const fail = (what: string): never => {
    throw new ConfigError(path, `invalid regex ${JSON.stringify(re2)}: ${what}`);
  };
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) fail('trailing backslash');
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += escapeLiteral(lit);
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (/[1-9]/.test(n) && !inClass) fail(`backreference \\${n} is not supported by RE2`);
      if (n === 'A' && !inClass) { out += '(?<![\\s\\S])'; i++; continue; }
      if (n === 'z' && !inClass) { out += '(?![\\s\\S])'; i++; continue; }
      if (n === 'p' || n === 'P') fail('Unicode classes (\\p) are not supported by Ferry');
      if (n === 'C') fail('\\C is not supported');
      if (n === 'k') fail('named backreference is not supported by RE2');
      out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        if (!m || !(m[2] in POSIX)) fail(`unknown character class at ${i}`);
        if (m![1]) fail('negated POSIX classes are not supported by Ferry');
        out += POSIX[m![2]];
        i += m![0].length - 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') { out += '^'; i++; }
      if (src[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (rest.startsWith('P<')) { out += '(?<'; i += 3; continue; }
      if (rest.startsWith(':')) { out += '(?:'; i += 2; continue; }
      if (/^<[A-Za-z_]/.test(rest)) { out += '(?<'; i += 2; continue; }
      if (/^(=|!|<=|<!)/.test(rest)) fail('lookaround is not supported by RE2');
      fail(`inline flags are only supported at the start of the pattern`);
    }
    out += c;
  }
  if (inClass) fail('missing ]');
  try {
    new RegExp(out, flags);
  } catch (e) {
    fail((e as Error).message);
  }
  return { source: out, flags };
}

/** A RegExp matching the whole input, as Envoy's safe_regex does. */
export function fullMatchRegex(re2: string, path: string, extraFlags = ''): RegExp {
  const { source, flags } = re2ToJs(re2, path);
  return new RegExp(`^(?:${source})$`, mergeFlags(flags, extraFlags));
}

/** A RegExp for search-and-replace (regex_rewrite: every match is replaced). */
export function globalRegex(re2: string, path: string): RegExp {
  const { source, flags } = re2ToJs(re2, path);
  return new RegExp(source, mergeFlags(flags, 'g'));
}

function mergeFlags(a: string, b: string): string {
  let f = a;
  for (const c of b) if (!f.includes(c)) f += c;
  return f;
}

/** RE2 substitution (\0-\9 are groups) → String.prototype.replace form ($&, $1…, $$). */
export function re2Substitution(sub: string, path: string): string {
  let out = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i];
    if (c === '\\') {
      const n = sub[i + 1];
      if (n === undefined) throw new ConfigError(path, 'trailing backslash in substitution');
      if (/\d/.test(n)) out += n === '0' ? '$&' : `$${n}`;
      else if (n === '\\') out += '\\';
      else throw new ConfigError(path, `invalid escape \\${n} in substitution`);
      i++;
    } else if (c === '$') {
      out += '$$';
    } else {
      out += c;
    }
  }
  return out;
}
