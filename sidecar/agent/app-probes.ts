// The app's original probes, parsed once from FERRY_APP_PROBES (written by the injector) into frozen configs.
//
// The injector records `{"<container>/<kind>": {httpGet|tcpSocket|grpc, timeoutSeconds?}}` with named
// ports already resolved to numbers (see webhook/probes.ts). A malformed document is a ConfigError;
// a malformed entry only breaks its own probe: it is kept as `invalid` with a message naming the
// field, so the rewritten probe answers 503 with that message (visible in the pod's events) while
// the proxy and every other probe keep working.

import { deepFreeze } from '../../src/config/freeze';
import { ConfigError } from '../../src/errors';
import { ENV_APP_PROBES } from '../../src/mesh/constants';

export const APP_PROBE_KINDS = ['liveness', 'readiness', 'startup'] as const;
export type AppProbeKind = (typeof APP_PROBE_KINDS)[number];

/** What to run, against 127.0.0.1. */
export type AppProbeAction =
  | {
      readonly type: 'http';
      readonly port: number;
      readonly path: string;
      readonly scheme: 'HTTP' | 'HTTPS';
      readonly headers: readonly (readonly [string, string])[];
    }
  | { readonly type: 'tcp'; readonly port: number }
  | { readonly type: 'grpc'; readonly port: number; readonly service: string };

export type AppProbeConfig =
  | { readonly container: string; readonly kind: AppProbeKind; readonly timeoutMs: number; readonly action: AppProbeAction }
  | { readonly container: string; readonly kind: AppProbeKind; readonly invalid: string };

/** `<container>/<kind>` → probe. */
export type AppProbes = ReadonlyMap<string, AppProbeConfig>;

/** The kubelet's default when a probe sets no timeoutSeconds. */
export const DEFAULT_PROBE_TIMEOUT_SECONDS = 1;

const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/; // a DNS-1123 label, as Kubernetes requires
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function port(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
  if (typeof v === 'string') {
    throw new ConfigError(path, `named port "${v}" was not resolved by the injector (re-create the pod, or use a port number)`);
  }
  throw new ConfigError(path, `must be a port number 1–65535, got ${JSON.stringify(v)}`);
}

function httpAction(v: unknown, path: string): AppProbeAction {
  if (!isObject(v)) throw new ConfigError(path, 'must be an object');
  const rawPath = v.path ?? '/';
  if (typeof rawPath !== 'string') throw new ConfigError(`${path}.path`, 'must be a string');
  const scheme = String(v.scheme ?? 'HTTP').toUpperCase();
  if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw new ConfigError(`${path}.scheme`, `must be HTTP or HTTPS, got ${JSON.stringify(v.scheme)}`);
  const headers: [string, string][] = [];
  if (v.httpHeaders !== undefined) {
    if (!Array.isArray(v.httpHeaders)) throw new ConfigError(`${path}.httpHeaders`, 'must be a list');
    v.httpHeaders.forEach((h: unknown, i) => {
      const at = `${path}.httpHeaders[${i}]`;
      if (!isObject(h) || typeof h.name !== 'string' || !HEADER_NAME.test(h.name)) {
        throw new ConfigError(`${at}.name`, 'must be an HTTP header name');
      }
      const value = h.value ?? '';
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new ConfigError(`${at}.value`, 'must be a string without CR, LF or NUL');
      headers.push([h.name, value]);
    });
  }
  return {
    type: 'http',
    port: port(v.port, `${path}.port`),
    path: rawPath.startsWith('/') ? rawPath : `/${rawPath}`, // the kubelet adds the slash too
    scheme,
    headers,
  };
}

function action(entry: Record<string, unknown>, path: string): AppProbeAction {
  const present = (['httpGet', 'tcpSocket', 'grpc'] as const).filter((k) => entry[k] !== undefined);
  if (present.length !== 1) {
    throw new ConfigError(path, `must have exactly one of httpGet, tcpSocket, grpc (has ${present.length ? present.join(', ') : 'none'})`);
  }
  const [which] = present;
  const v = entry[which];
  const at = `${path}.${which}`;
  if (which === 'httpGet') return httpAction(v, at);
  if (!isObject(v)) throw new ConfigError(at, 'must be an object');
  if (which === 'tcpSocket') return { type: 'tcp', port: port(v.port, `${at}.port`) };
  const service = v.service ?? '';
  if (typeof service !== 'string') throw new ConfigError(`${at}.service`, 'must be a string');
  return { type: 'grpc', port: port(v.port, `${at}.port`), service };
}

function timeoutMs(v: unknown, path: string): number {
  if (v === undefined) return DEFAULT_PROBE_TIMEOUT_SECONDS * 1000;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3600) {
    throw new ConfigError(path, `must be an integer 1–3600, got ${JSON.stringify(v)}`);
  }
  return v * 1000;
}

/** Parses the value of FERRY_APP_PROBES (unset or empty: no probes). */
export function parseAppProbes(text: string | undefined): AppProbes {
  const out = new Map<string, AppProbeConfig>();
  if (text === undefined || text.trim() === '') return deepFreeze(out);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(ENV_APP_PROBES, `is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(doc)) throw new ConfigError(ENV_APP_PROBES, 'must be a JSON object of "<container>/<kind>" → probe');
  for (const [key, entry] of Object.entries(doc)) {
    const path = `${ENV_APP_PROBES}[${JSON.stringify(key)}]`;
    const slash = key.lastIndexOf('/');
    const container = key.slice(0, slash);
    const kind = key.slice(slash + 1) as AppProbeKind;
    if (slash < 0 || !CONTAINER_NAME.test(container) || !APP_PROBE_KINDS.includes(kind)) {
      throw new ConfigError(path, `key must be "<container>/<${APP_PROBE_KINDS.join('|')}>"`);
    }
    try {
      if (!isObject(entry)) throw new ConfigError(path, 'must be an object');
      const timeout = timeoutMs(entry.timeoutSeconds, `${path}.timeoutSeconds`);
      out.set(key, { container, kind, timeoutMs: timeout, action: action(entry, path) });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      out.set(key, { container, kind, invalid: e.message });
    }
  }
  return deepFreeze(out);
}
