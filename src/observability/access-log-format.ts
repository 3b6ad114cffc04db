// Access-log formats: Envoy's command operators (%REQ(:METHOD)%, %RESPONSE_FLAGS%, …) compiled once,
// then applied to one finished request or connection. Text formats give one line; JSON formats give one
// object per line with typed values (numbers stay numbers, an absent value is null).

import { ConfigError, UnsupportedConfigError } from '../errors';

/** What the proxy knows about one finished HTTP request or TCP connection. Absent = not known. */
export interface AccessLogRecord {
  /** Wall-clock time the request (or connection) started, ms since the epoch. */
  readonly startTimeMs: number;
  /** Total duration, ms (request start to last byte sent downstream, or connection close). */
  readonly durationMs: number;
  /** Time from start until the response headers were sent downstream, ms. */
  readonly responseHeadersMs?: number;
  /** `HTTP/1.1`, `HTTP/2`; absent for TCP. */
  readonly protocol?: string;
  /** 0 when no response was sent (Envoy's convention). */
  readonly responseCode?: number;
  /** Envoy's short response flags joined by ',', or '' for none. */
  readonly responseFlags: string;
  readonly responseCodeDetails?: string;
  /** Body bytes received from downstream (TCP: bytes received). */
  readonly bytesReceived: number;
  /** Body bytes sent downstream (TCP: bytes sent). */
  readonly bytesSent: number;
  /** Request header (lower-case name; `:method`, `:path`, `:authority`, `:scheme` too). */
  readonly requestHeader?: (name: string) => string | undefined;
  readonly responseHeader?: (name: string) => string | undefined;
  readonly responseTrailer?: (name: string) => string | undefined;
  readonly upstreamHost?: string;
  readonly upstreamCluster?: string;
  readonly upstreamLocalAddress?: string;
  readonly upstreamTransportFailureReason?: string;
  readonly upstreamRequestAttemptCount?: number;
  readonly downstreamRemoteAddress?: string;
  readonly downstreamLocalAddress?: string;
  readonly downstreamPeerUriSan?: string;
  readonly downstreamTlsVersion?: string;
  readonly requestedServerName?: string;
  readonly routeName?: string;
  readonly connectionId?: number;
  readonly hostname?: string;
}

/** Envoy's default text format (used when an access log names no format). */
export const DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

type Value = string | number | null;
type Getter = (r: AccessLogRecord) => Value;

/** A compiled format: `format(record)` is one line, newline included. */
export interface AccessLogFormatter {
  readonly kind: 'text' | 'json';
  format(record: AccessLogRecord): string;
}

function port(addr: string | undefined): Value {
  if (addr === undefined) return null;
  const i = addr.lastIndexOf(':');
  const n = Number(addr.slice(i + 1));
  return i >= 0 && Number.isInteger(n) ? n : null;
}

function withoutPort(addr: string | undefined): Value {
  if (addr === undefined) return null;
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const i = addr.lastIndexOf(':');
  return i > 0 && addr.indexOf(':') === i ? addr.slice(0, i) : addr;
}

const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/** Operators without an argument. */
const SIMPLE: Readonly<Record<string, Getter>> = {
  START_TIME: (r) => new Date(r.startTimeMs).toISOString(),
  DURATION: (r) => Math.round(r.durationMs),
  RESPONSE_DURATION: (r) => (r.responseHeadersMs === undefined ? null : Math.round(r.responseHeadersMs)),
  PROTOCOL: (r) => opt(r.protocol),
  RESPONSE_CODE: (r) => r.responseCode ?? 0,
  RESPONSE_FLAGS: (r) => (r.responseFlags === '' ? null : r.responseFlags),
  RESPONSE_CODE_DETAILS: (r) => opt(r.responseCodeDetails),
  BYTES_RECEIVED: (r) => r.bytesReceived,
  BYTES_SENT: (r) => r.bytesSent,
  UPSTREAM_HOST: (r) => opt(r.upstreamHost),
  UPSTREAM_CLUSTER: (r) => opt(r.upstreamCluster),
  UPSTREAM_LOCAL_ADDRESS: (r) => opt(r.upstreamLocalAddress),
  UPSTREAM_TRANSPORT_FAILURE_REASON: (r) => opt(r.upstreamTransportFailureReason),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (r) => opt(r.upstreamRequestAttemptCount),
  DOWNSTREAM_REMOTE_ADDRESS: (r) => opt(r.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: (r) => port(r.downstreamRemoteAddress),
  DOWNSTREAM_LOCAL_ADDRESS: (r) => opt(r.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (r) => withoutPort(r.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: (r) => port(r.downstreamLocalAddress),
  DOWNSTREAM_PEER_URI_SAN: (r) => opt(r.downstreamPeerUriSan),
  DOWNSTREAM_TLS_VERSION: (r) => opt(r.downstreamTlsVersion),
  REQUESTED_SERVER_NAME: (r) => opt(r.requestedServerName),
  ROUTE_NAME: (r) => opt(r.routeName),
  CONNECTION_ID: (r) => opt(r.connectionId),
  HOSTNAME: (r) => opt(r.hostname),
};

/** START_TIME(...) specifiers Ferry renders (a strftime subset plus Envoy's %Nf fractions). */
function startTimeGetter(fmt: string, path: string): Getter {
  const parts: ((d: Date, ms: number) => string)[] = [];
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  let lit = '';
  const flush = (): void => {
    if (lit !== '') {
      const s = lit;
      parts.push(() => s);
      lit = '';
    }
  };
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      lit += c;
      continue;
    }
    const spec = fmt[i + 1];
    let frac = 0;
    if (spec !== undefined && /[1-9]/.test(spec) && fmt[i + 2] === 'f') frac = Number(spec);
    flush();
    if (frac > 0) {
      parts.push((_d, ms) => pad(Math.floor(ms) % 1000, 3).padEnd(frac, '0').slice(0, frac));
      i += 2;
      continue;
    }
    const fns: Record<string, (d: Date, ms: number) => string> = {
      Y: (d) => String(d.getUTCFullYear()), m: (d) => pad(d.getUTCMonth() + 1), d: (d) => pad(d.getUTCDate()),
      H: (d) => pad(d.getUTCHours()), M: (d) => pad(d.getUTCMinutes()), S: (d) => pad(d.getUTCSeconds()),
      s: (_d, ms) => String(Math.floor(ms / 1000)), z: () => '+0000', Z: () => 'UTC',
      F: (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
      T: (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
      '%': () => '%',
    };
    const fn = spec === undefined ? undefined : fns[spec];
    if (fn === undefined) throw new UnsupportedConfigError(path, `START_TIME specifier %${spec ?? ''} is not supported (known: %Y %m %d %H %M %S %s %z %Z %F %T %%, %1f–%9f)`);
    parts.push(fn);
    i += 1;
  }
  flush();
  return (r) => {
    const d = new Date(r.startTimeMs);
    return parts.map((p) => p(d, r.startTimeMs)).join('');
  };
}

/** REQ(X?Y):Z, RESP(X):Z, TRAILER(X):Z → a header getter. */
function headerGetter(kind: 'REQ' | 'RESP' | 'TRAILER', arg: string, maxLen: number | null, path: string): Getter {
  const names = arg.split('?').map((n) => n.trim().toLowerCase());
  if (names.length > 2 || names.some((n) => n === '')) throw new ConfigError(path, `%${kind}(${arg})% needs one header name or two joined by '?'`);
  const pick = (r: AccessLogRecord): ((n: string) => string | undefined) | undefined =>
    kind === 'REQ' ? r.requestHeader : kind === 'RESP' ? r.responseHeader : r.responseTrailer;
  return (r) => {
    const get = pick(r);
    if (get === undefined) return null;
    for (const n of names) {
      const v = get(n);
      if (v !== undefined) return maxLen === null ? v : v.slice(0, maxLen);
    }
    return null;
  };
}

const OPERATOR = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?$/;

function operatorGetter(body: string, path: string): Getter {
  const m = OPERATOR.exec(body);
  if (m === null) throw new ConfigError(path, `%${body}% is not a command operator`);
  const [, name, arg, len] = m as unknown as [string, string, string | undefined, string | undefined];
  const maxLen = len === undefined ? null : Number(len);
  if (name === 'REQ' || name === 'RESP' || name === 'TRAILER') {
    if (arg === undefined) throw new ConfigError(path, `%${name}% needs a header name: %${name}(name)%`);
    return headerGetter(name, arg, maxLen, path);
  }
  if (name === 'START_TIME' && arg !== undefined) return startTimeGetter(arg, path);
  const simple = SIMPLE[name];
  if (simple === undefined || arg !== undefined) {
    throw new UnsupportedConfigError(path, `command operator %${body}% is not supported (known: REQ(), RESP(), TRAILER(), START_TIME(), ${Object.keys(SIMPLE).join(', ')})`);
  }
  if (maxLen === null) return simple;
  return (r) => {
    const v = simple(r);
    return typeof v === 'string' ? v.slice(0, maxLen) : v;
  };
}

type Piece = string | Getter;

/** Splits a format string into literals and operator getters; `%%` is a literal '%'. */
function compilePieces(text: string, path: string): Piece[] {
  const pieces: Piece[] = [];
  let lit = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '%') {
      lit += c;
      i++;
      continue;
    }
    if (text[i + 1] === '%') {
      lit += '%';
      i += 2;
      continue;
    }
    // An operator runs to the next '%' that is not inside its parentheses (START_TIME(%Y-%m)).
    let j = i + 1;
    let depth = 0;
    while (j < text.length && (text[j] !== '%' || depth > 0)) {
      if (text[j] === '(') depth++;
      else if (text[j] === ')') depth--;
      j++;
    }
    if (j >= text.length) throw new ConfigError(path, `unterminated command operator at ${JSON.stringify(text.slice(i, i + 24))}`);
    if (lit !== '') pieces.push(lit);
    lit = '';
    pieces.push(operatorGetter(text.slice(i + 1, j), path));
    i = j + 1;
  }
  if (lit !== '') pieces.push(lit);
  return pieces;
}

/** A text format. Absent values print as '-', as Envoy does. */
export function compileTextFormat(text: string, path: string): AccessLogFormatter {
  const pieces = compilePieces(text, path);
  return {
    kind: 'text',
    format(record) {
      let out = '';
      for (const p of pieces) {
        if (typeof p === 'string') out += p;
        else {
          const v = p(record);
          out += v === null || v === '' ? '-' : String(v);
        }
      }
      return out;
    },
  };
}

/** A JSON value in the format: a format string (typed when it is one operator alone), a nested object, a number or bool. */
type JsonNode = { readonly kind: 'const'; readonly value: unknown } | { readonly kind: 'pieces'; readonly pieces: Piece[] } | { readonly kind: 'obj'; readonly fields: readonly (readonly [string, JsonNode])[] };

function compileJsonNode(v: unknown, path: string): JsonNode {
  if (typeof v === 'string') return { kind: 'pieces', pieces: compilePieces(v, path) };
  if (typeof v === 'number' || typeof v === 'boolean') return { kind: 'const', value: v };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    return { kind: 'obj', fields: Object.entries(v).map(([k, x]) => [k, compileJsonNode(x, `${path}.${k}`)] as const) };
  }
  throw new ConfigError(path, `expected a format string, a number, a bool or an object, got ${Array.isArray(v) ? 'a list' : String(v)}`);
}

function renderJsonNode(n: JsonNode, r: AccessLogRecord, omitEmpty: boolean): unknown {
  if (n.kind === 'const') return n.value;
  if (n.kind === 'pieces') {
    if (n.pieces.length === 1 && typeof n.pieces[0] !== 'string') {
      const v = (n.pieces[0] as Getter)(r);
      return v === '' ? null : v;
    }
    let s = '';
    for (const p of n.pieces) {
      if (typeof p === 'string') s += p;
      else {
        const v = p(r);
        s += v === null || v === '' ? '-' : String(v);
      }
    }
    return s;
  }
  const out: Record<string, unknown> = {};
  for (const [k, child] of n.fields) {
    const v = renderJsonNode(child, r, omitEmpty);
    if (omitEmpty && (v === null || v === '')) continue;
    out[k] = v;
  }
  return out;
}

/** A JSON format (Envoy's json_format): keys kept in order, one JSON object per line. */
export function compileJsonFormat(fields: Record<string, unknown>, path: string, omitEmptyValues = false): AccessLogFormatter {
  const root = compileJsonNode(fields, path);
  return {
    kind: 'json',
    format: (record) => `${JSON.stringify(renderJsonNode(root, record, omitEmptyValues))}\n`,
  };
}
