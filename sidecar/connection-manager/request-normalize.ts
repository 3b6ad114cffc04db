// Request normalization before routing: the path (RFC 3986 dot segments and percent-encoding, merged
// slashes) and the port of the host, as the connection manager's normalize_path, merge_slashes and
// strip_*_host_port ask. What comes out is what routes match and what the upstream receives.

import type { HttpConnectionManagerConfig } from '../../src/config/types';
import { stripPort } from '../router/route-table';

type PathOptions = Pick<HttpConnectionManagerConfig, 'normalizePath' | 'mergeSlashes'>;

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function unreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/**
 * Percent-encoding made canonical (RFC 3986 §6.2.2): encoded unreserved characters are decoded,
 * every other escape is upper-cased. A `%` not followed by two hex digits is left as it is.
 */
function canonicalEscapes(path: string): string {
  if (path.indexOf('%') < 0) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path.charCodeAt(i);
    if (ch === 0x25 && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        const v = hi * 16 + lo;
        out += unreserved(v) ? String.fromCharCode(v) : `%${HEX[hi]}${HEX[lo]}`;
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

/** RFC 3986 §5.2.4 remove_dot_segments, for an absolute path. */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is '' (the path starts with '/').
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 0) out.pop();
      // A trailing dot segment leaves the directory it names: "/a/b/.." is "/a/".
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

/**
 * The request target with its path normalized as configured; the query string is left untouched.
 * Targets that are not an absolute path (`*`, an authority) are returned as they are.
 */
export function normalizeRequestPath(target: string, opts: PathOptions): string {
  if (!opts.normalizePath && !opts.mergeSlashes) return target;
  if (target.charCodeAt(0) !== 0x2f /* / */) return target;
  const q = target.indexOf('?');
  let path = q < 0 ? target : target.slice(0, q);
  const rest = q < 0 ? '' : target.slice(q);
  if (opts.normalizePath) path = removeDotSegments(canonicalEscapes(path));
  if (opts.mergeSlashes) path = path.replace(/\/{2,}/g, '/');
  return path + rest;
}

/**
 * The authority with its port removed: any port for `any`, only the listener's own port for
 * `matching`, none for `none`. IPv6 literals keep their brackets.
 */
export function stripHostPort(authority: string, mode: HttpConnectionManagerConfig['stripPortMode'], listenerPort: number): string {
  if (mode === 'none') return authority;
  const bare = stripPort(authority);
  if (bare === authority || mode === 'any') return bare;
  return authority.slice(bare.length + 1) === String(listenerPort) ? bare : authority;
}
