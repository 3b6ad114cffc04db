// Opening one upstream connection — TCP, or TLS with the cluster's validation, SNI, ALPN and the workload's
// certificate — and the circuit breaker units an open connection holds.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { UpstreamTlsConfig } from '../../src/config/types';
import { verifyPeerSubjectAltNames } from '../tls/san-verify';
import { upstreamMaterial, type TlsMaterial, type WorkloadIdentity } from '../tls/workload-identity';

/** The last secure context built for a cluster's TLS config, with the material it holds and the sessions it resumes. */
interface CachedContext {
  readonly m: TlsMaterial;
  readonly ctx: tls.SecureContext;
  /** Per endpoint (and SNI), its newest TLS sessions first; forgotten with the context on rotation. */
  readonly sessions: Map<string, Buffer[]>;
}
const contexts = new WeakMap<UpstreamTlsConfig, CachedContext>();

/** Endpoints whose sessions one context keeps (the oldest entry goes first). */
export const SESSION_ENDPOINTS = 1024;

/**
 * One OpenSSL context per cluster TLS config and certificate: building it (parsing the chain, key and
 * roots) cost ~1.4 ms per connection, which capped new mTLS connections at a few hundred a second. A
 * rotated certificate or bundle is new material, hence a new context.
 */
function cachedContextFor(t: UpstreamTlsConfig, m: TlsMaterial): CachedContext {
  const c = contexts.get(t);
  if (c !== undefined && c.m.cert === m.cert && c.m.key === m.key && c.m.ca === m.ca) return c;
  const ctx = tls.createSecureContext({ ca: m.ca, cert: m.cert, key: m.key, minVersion: t.minVersion ?? undefined, maxVersion: t.maxVersion ?? undefined });
  const fresh: CachedContext = { m, ctx, sessions: new Map() };
  contexts.set(t, fresh);
  return fresh;
}

function sessionKey(ep: PoolEndpoint, servername: string | undefined): string {
  return `${ep.host}|${ep.port}|${servername ?? ''}`;
}

/** Keeps a session the endpoint issued, newest first, at most `max` per endpoint. */
function keepSession(c: CachedContext, key: string, session: Buffer, max: number): void {
  const list = c.sessions.get(key) ?? [];
  c.sessions.delete(key); // re-inserted last: the Map's order is least recently stored first
  list.unshift(session);
  if (list.length > max) list.length = max;
  c.sessions.set(key, list);
  if (c.sessions.size > SESSION_ENDPOINTS) c.sessions.delete(c.sessions.keys().next().value as string);
}

function dropSession(c: CachedContext, key: string, session: Buffer): void {
  const list = c.sessions.get(key);
  if (list === undefined) return;
  const rest = list.filter((s) => s !== session);
  if (rest.length) c.sessions.set(key, rest);
  else c.sessions.delete(key);
}

/** The address of the endpoint a connection goes to. */
export interface PoolEndpoint {
  readonly host: string;
  readonly port: number;
}

/** TLS client options for one endpoint; throws MissingIdentityError before the first certificate. */
export function tlsConnectOptions(t: UpstreamTlsConfig, ep: PoolEndpoint, identity: WorkloadIdentity | null = null): tls.ConnectionOptions {
  return prepareTls(t, ep, identity).opts;
}

function prepareTls(t: UpstreamTlsConfig, ep: PoolEndpoint, identity: WorkloadIdentity | null): { opts: tls.ConnectionOptions; cached: CachedContext } {
  const servername = t.sni ?? (net.isIP(ep.host) ? undefined : ep.host);
  const m = upstreamMaterial(t, identity);
  const verify = m.ca !== undefined;
  const cached = cachedContextFor(t, m);
  const opts: tls.ConnectionOptions = {
    host: ep.host,
    port: ep.port,
    servername,
    ALPNProtocols: t.alpnProtocols.length > 0 ? [...t.alpnProtocols] : undefined,
    secureContext: cached.ctx,
    // Envoy verifies only when a validation context is configured.
    rejectUnauthorized: verify,
    checkServerIdentity:
      t.matchSubjectAltNames.length > 0
        ? (_host, cert) => verifyPeerSubjectAltNames(cert, t.matchSubjectAltNames)
        : verify && servername
          ? (host, cert) => tls.checkServerIdentity(host, cert)
          : () => undefined,
  };
  return { opts, cached };
}

/**
 * Opens the TCP or TLS connection to an endpoint; a TLS setup error becomes a failed socket. A TLS
 * connection offers the newest session that endpoint issued (`max_session_keys`, Envoy's default 1):
 * a resumed handshake skips both certificate signatures and chain checks. The session was made
 * under the same cluster TLS config, so the same SAN match, and with the same certificate and roots
 * (a rotation forgets them); a session that led to a failed connection is dropped.
 */
export function connectUpstream(
  t: UpstreamTlsConfig | null,
  ep: PoolEndpoint,
  identity: WorkloadIdentity | null,
  alpn?: string[],
  localAddress?: string | null,
): net.Socket {
  const local = localAddress ?? undefined;
  if (t === null) return net.connect({ host: ep.host, port: ep.port, localAddress: local });
  let prepared: ReturnType<typeof prepareTls>;
  try {
    prepared = prepareTls(t, ep, identity);
  } catch (err) {
    const failed = new net.Socket();
    process.nextTick(() => failed.destroy(err as Error));
    return failed;
  }
  const { opts, cached } = prepared;
  const key = sessionKey(ep, opts.servername);
  const offered = t.maxSessionKeys > 0 ? cached.sessions.get(key)?.[0] : undefined;
  const sock = tls.connect({ ...opts, localAddress: local, session: offered, ALPNProtocols: alpn ?? opts.ALPNProtocols } as tls.ConnectionOptions);
  if (t.maxSessionKeys > 0) {
    sock.on('session', (session: Buffer) => keepSession(cached, key, session, t.maxSessionKeys));
    if (offered !== undefined) {
      let secure = false;
      sock.once('secureConnect', () => (secure = true));
      sock.once('close', () => {
        if (!secure) dropSession(cached, key, offered);
      });
    }
  }
  return sock;
}

/**
 * The cluster's circuit breaker as an upstream pool sees it: every connection the pool opens holds one
 * unit of its `connections` kind (max_connections) until it closes.
 */
export interface ConnectionBreaker {
  /** Below max_connections: one more connection would be admitted. */
  canAcquire(kind: 'connections'): boolean;
  /** Counts a connection the pool opens (admission decided by the pool). */
  acquire(kind: 'connections'): void;
  release(kind: 'connections'): void;
}
