// The request head check: what a decoded request head must be before it is routed (RFC 9110/9112), decided without I/O.
//
// The codecs (llhttp for HTTP/1.1, nghttp2 for HTTP/2) reject what they cannot parse; this check
// rejects what they let through but a proxy must not forward: HTTP versions other than 1.x,
// HTTP/1.1 without exactly one valid Host, request targets in no form the method allows,
// transfer codings other than a lone `chunked`, and more header fields than the limit. An
// absolute-form target is normalised to origin-form with the authority taken from it (§3.2.2).

/** The parts of a decoded request head the check reads (Node's IncomingMessage and Http2ServerRequest have them). */
export interface RequestHead {
  readonly method?: string;
  /** The request target as received. */
  readonly url?: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Every field line as received, `[name, value, name, value, …]` (HTTP/2: pseudo-headers included). */
  readonly rawHeaders: readonly string[];
}

export interface HeadLimits {
  /** `common_http_protocol_options.max_headers_count` (Envoy's default 100). */
  readonly maxHeadersCount: number;
  /** `max_request_headers_kb` × 1024, checked here for HTTP/2 (HTTP/1.1's is the codec's `maxHeaderSize`). */
  readonly maxHeadersBytes: number;
}

/** Accepted; `authority` and `path` are set when an absolute-form target replaces Host and the target. */
export interface HeadAccepted {
  readonly kind: 'accept';
  readonly authority: string | null;
  readonly path: string | null;
}

export interface HeadRejected {
  readonly kind: 'reject';
  readonly status: 400 | 426 | 431 | 501;
  /** Stable reason, the `code` label of the downstream protocol error counter. */
  readonly code: string;
  /** What was wrong, for the response body. */
  readonly message: string;
  /** HTTP/2: reset the stream instead of answering (as Envoy does past its header limits). */
  readonly reset: boolean;
}

export type HeadVerdict = HeadAccepted | HeadRejected;

const ACCEPT: HeadAccepted = Object.freeze({ kind: 'accept', authority: null, path: null });

/** uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): IP-literal, or reg-name/IPv4 characters. */
const HOST = /^(?:\[[0-9A-Za-z:._~%!$&'()*+,;=-]+\]|[0-9A-Za-z._~%!$&'()*+,;=-]*)(?::[0-9]*)?$/;
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/;

function reject(status: HeadRejected['status'], code: string, message: string, reset = false): HeadRejected {
  return { kind: 'reject', status, code, message, reset };
}

function clip(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** The transfer codings of all Transfer-Encoding lines in order, lower-cased (empty list elements dropped). */
function codings(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const c = part.trim().toLowerCase();
      if (c !== '') out.push(c);
    }
  }
  return out;
}

function checkTarget(head: RequestHead): HeadVerdict {
  const t = head.url ?? '';
  if (t.includes('#')) return reject(400, 'invalid_target', `request target ${clip(t)} has a fragment`);
  if (t.charCodeAt(0) === 47 /* '/' */) return ACCEPT;
  if (t === '*') {
    return head.method === 'OPTIONS' ? ACCEPT : reject(400, 'invalid_target', `request target "*" is only for OPTIONS, not ${head.method}`);
  }
  const m = ABSOLUTE.exec(t);
  if (m === null) return reject(400, 'invalid_target', `request target ${clip(t)} is not origin-form (/path) or absolute-form (http://host/path)`);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return reject(400, 'invalid_target', `request target ${clip(t)}: scheme ${scheme} is not http or https`);
  const authority = m[2];
  if (authority.includes('@')) return reject(400, 'invalid_target', `request target ${clip(t)} carries userinfo (RFC 9110 §4.2.4)`);
  if (authority === '' || !HOST.test(authority)) return reject(400, 'invalid_target', `request target ${clip(t)} has no valid host`);
  const rest = m[3];
  if (rest !== '' && rest.charCodeAt(0) !== 47 && rest.charCodeAt(0) !== 63 /* '?' */) {
    return reject(400, 'invalid_target', `request target ${clip(t)} has no valid path`);
  }
  return { kind: 'accept', authority, path: rest === '' || rest.charCodeAt(0) === 63 ? `/${rest}` : rest };
}

/** The verdict on one request head, decoded from HTTP/2 (`http2`) or HTTP/1.x. */
export function checkRequestHead(head: RequestHead, http2: boolean, limits: HeadLimits): HeadVerdict {
  const raw = head.rawHeaders;
  const count = raw.length >> 1;
  const h2 = http2;
  if (count > limits.maxHeadersCount) {
    return reject(431, 'too_many_headers', `${count} header fields, over the limit of ${limits.maxHeadersCount}`, h2);
  }
  if (h2) {
    // The header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2): 32 bytes per field.
    let bytes = count * 32;
    for (let i = 0; i < raw.length; i++) bytes += raw[i].length;
    if (bytes > limits.maxHeadersBytes) {
      return reject(431, 'headers_too_large', `a header list of ${bytes} bytes, over the limit of ${limits.maxHeadersBytes}`, true);
    }
    return ACCEPT;
  }

  if (head.httpVersionMajor !== 1) {
    return reject(426, 'http_version', `HTTP/${head.httpVersionMajor}.${head.httpVersionMinor} is not served here; use HTTP/1.1`);
  }
  let hosts = 0;
  let host = '';
  let te: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === 'host') {
      hosts++;
      host = raw[i + 1];
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      (te ??= []).push(raw[i + 1]);
    }
  }
  if (hosts > 1) return reject(400, 'multiple_host', `${hosts} Host header fields (RFC 9112 §3.2 allows one)`);
  if (hosts === 0 && head.httpVersionMinor >= 1) return reject(400, 'missing_host', 'HTTP/1.1 request without a Host header field (RFC 9112 §3.2)');
  if (hosts === 1 && !HOST.test(host)) return reject(400, 'invalid_host', `Host ${clip(host)} is not host[:port]`);
  if (te !== null) {
    if (head.httpVersionMinor === 0) return reject(400, 'invalid_transfer_encoding', 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)');
    const list = codings(te);
    if (list.length === 0 || list[list.length - 1] !== 'chunked') {
      return reject(400, 'invalid_transfer_encoding', `Transfer-Encoding ${clip(te.join(', '))}: chunked must be the final coding (RFC 9112 §6.3)`);
    }
    if (list.length > 1) return reject(501, 'unsupported_transfer_encoding', `Transfer-Encoding ${clip(te.join(', '))}: only chunked is implemented`);
  }
  return checkTarget(head);
}
