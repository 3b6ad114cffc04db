// Opening one upstream connection — TCP, or TLS with the cluster's validation, SNI, ALPN and the workload's
// certificate — and the circuit breaker units an open connection holds.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { UpstreamTlsConfig } from '../../src/config/types';
import { verifyPeerSubjectAltNames } from '../tls/san-verify';
import { upstreamMaterial, type TlsMaterial, type WorkloadIdentity } from '../tls/workload-identity';

/** The last secure context built for a cluster's TLS config, with the material it holds. */
interface CachedContext {
  readonly m: TlsMaterial;
  readonly ctx: tls.SecureContext;
}
const contexts = new WeakMap<UpstreamTlsConfig, CachedContext>();

/**
 * One OpenSSL context per cluster TLS config and certificate: building it (parsing the chain, key and
 * roots) cost ~1.4 ms per connection, which capped new mTLS connections at a few hundred a second. A
 * rotated certificate or bundle is new material, hence a new context.
 */
function secureContextFor(t: UpstreamTlsConfig, m: TlsMaterial): tls.SecureContext {
  const c = contexts.get(t);
  if (c !== undefined && c.m.cert === m.cert && c.m.key === m.key && c.m.ca === m.ca) return c.ctx;
  const ctx = tls.createSecureContext({ ca: m.ca, cert: m.cert, key: m.key, minVersion: t.minVersion ?? undefined, maxVersion: t.maxVersion ?? undefined });
  contexts.set(t, { m, ctx });
  return ctx;
}

/** The address of the endpoint a connection goes to. */
export interface PoolEndpoint {
  readonly host: string;
  readonly port: number;
}

/** TLS client options for one endpoint; throws MissingIdentityError before the first certificate. */
export function tlsConnectOptions(t: UpstreamTlsConfig, ep: PoolEndpoint, identity: WorkloadIdentity | null = null): tls.ConnectionOptions {
  const servername = t.sni ?? (net.isIP(ep.host) ? undefined : ep.host);
  const m = upstreamMaterial(t, identity);
  const verify = m.ca !== undefined;
  const opts: tls.ConnectionOptions = {
    host: ep.host,
    port: ep.port,
    servername,
    ALPNProtocols: t.alpnProtocols.length > 0 ? [...t.alpnProtocols] : undefined,
    secureContext: secureContextFor(t, m),
    // Envoy verifies only when a validation context is configured.
    rejectUnauthorized: verify,
    checkServerIdentity:
      t.matchSubjectAltNames.length > 0
        ? (_host, cert) => verifyPeerSubjectAltNames(cert, t.matchSubjectAltNames)
        : verify && servername
          ? (host, cert) => tls.checkServerIdentity(host, cert)
          : () => undefined,
  };
  return opts;
}

/** Opens the TCP or TLS connection to an endpoint; a TLS setup error becomes a failed socket. */
export function connectUpstream(
  t: UpstreamTlsConfig | null,
  ep: PoolEndpoint,
  identity: WorkloadIdentity | null,
  alpn?: string[],
  localAddress?: string | null,
): net.Socket {
  const local = localAddress ?? undefined;
  if (t === null) return net.connect({ host: ep.host, port: ep.port, localAddress: local });
  let opts: tls.ConnectionOptions;
  try {
    opts = tlsConnectOptions(t, ep, identity);
  } catch (err) {
    const failed = new net.Socket();
    process.nextTick(() => failed.destroy(err as Error));
    return failed;
  }
  if (local !== undefined) opts = { ...opts, localAddress: local } as tls.ConnectionOptions;
  return tls.connect(alpn ? { ...opts, ALPNProtocols: alpn } : opts);
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
