// Header hygiene between hops: hop-by-hop removal, forwarding headers, and request ids.

import { randomUUID } from 'node:crypto';

/** Connection-specific headers that never cross a proxy (RFC 9110 §7.6.1, plus HTTP/2's rules). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
]);

type HeaderRecord = Record<string, string | string[] | undefined>;

/** Copies request headers for the upstream: no pseudo headers, no hop-by-hop, `te: trailers` kept. */
export function upstreamRequestHeaders(src: HeaderRecord, keepUpgrade: boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const conn = src.connection;
  let named: string[] | null = null;
  if (typeof conn === 'string' && conn.length > 0 && conn !== 'keep-alive' && conn !== 'close') {
    named = conn.toLowerCase().split(/\s*,\s*/);
  }
  for (const k in src) {
    if (k.charCodeAt(0) === 58 /* ':' */) continue;
    const v = src[k];
    if (v === undefined) continue;
    if (HOP_BY_HOP.has(k)) {
      if (k === 'te') {
        const s = Array.isArray(v) ? v.join(',') : v;
        if (/(^|,)\s*trailers\s*(,|$)/i.test(s)) out.te = 'trailers';
      } else if (keepUpgrade && (k === 'upgrade' || k === 'connection')) {
        out[k] = v;
      }
      continue;
    }
    if (named !== null && named.includes(k) && !(keepUpgrade && k === 'upgrade')) continue;
    if (k === 'host') continue;
    out[k] = v;
  }
  return out;
}

/** Copies response headers for the downstream: no hop-by-hop, no pseudo headers. */
export function downstreamResponseHeaders(src: HeaderRecord): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in src) {
    if (k.charCodeAt(0) === 58 || HOP_BY_HOP.has(k)) continue;
    const v = src[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function newRequestId(): string {
  return randomUUID();
}

export function headerValue(h: HeaderRecord, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}
