// Downstream TLS termination, one for every filter chain with a transport socket (TCP proxy and HTTP
// alike): the chain's server context (rebuilt when the workload identity rotates), the client
// certificate requirement, the handshake, who the peer is (SAN match, SPIFFE principal), and the
// connection-level RBAC admit that judges that peer.

import { constants } from 'node:crypto';
import * as tls from 'node:tls';
import type * as net from 'node:net';
import type { DownstreamTlsConfig, HttpConnectionManagerConfig, StringMatcherConfig } from '../../src/config/types';
import { permitted, type CompiledRules } from '../filters/rbac';
import type { FilterDownstream, HttpFilterContext } from '../filters/types';
import { spiffeIdOf, verifyPeerSubjectAltNames } from './san-verify';
import { downstreamSecureOptions, usesIdentity, type WorkloadIdentity } from './workload-identity';

/** How long a TCP proxy chain waits for the TLS handshake. */
export const TCP_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * How long an HTTP chain waits for the TLS handshake: as long as the request head may take
 * (request_headers_timeout's default), not node:tls's 120 s, which let a connection that never
 * finishes its handshake hold a descriptor for two minutes (decision 0032).
 */
export const HTTP_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The content type of a TLS handshake record: what a ClientHello starts with. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** Whether the handshake asks for a client certificate, and whether it refuses a connection without a valid one. */
export function clientCertificatePolicy(t: DownstreamTlsConfig): { readonly requestCert: boolean; readonly rejectUnauthorized: boolean } {
  return { requestCert: t.requireClientCertificate || t.ca !== null || t.workloadTrustBundle, rejectUnauthorized: t.requireClientCertificate };
}

/**
 * The ALPN protocols the server offers. A TCP proxy chain offers the configured list (none when it
 * is empty). An HTTP chain offers h2, and http/1.1 too when the configured list names it, is empty,
 * or the codec is HTTP1 (the connection manager serves what ALPN chose: h2 as HTTP/2, else HTTP/1.1).
 */
export function offeredAlpn(t: DownstreamTlsConfig, http: Pick<HttpConnectionManagerConfig, 'codecType'> | null): string[] | undefined {
  if (http === null) return t.alpnProtocols.length > 0 ? [...t.alpnProtocols] : undefined;
  return acceptsHttp1OverTls(t, http) ? ['h2', 'http/1.1'] : ['h2'];
}

/** An HTTP chain serves HTTP/1.1 over TLS (ALPN http/1.1, or no ALPN at all). */
export function acceptsHttp1OverTls(t: DownstreamTlsConfig, http: Pick<HttpConnectionManagerConfig, 'codecType'>): boolean {
  return t.alpnProtocols.length === 0 || t.alpnProtocols.includes('http/1.1') || http.codecType === 'HTTP1';
}

/** Who the peer of a finished handshake is, or why it is turned away. */
export type PeerVerdict = { readonly admitted: true; readonly principal: string | null } | { readonly admitted: false; readonly reason: string };

/**
 * The peer as the chain sees it: a certificate whose SANs match none of `match_subject_alt_names`
 * is turned away; otherwise the principal is its SPIFFE ID (first `spiffe://` URI SAN), or null
 * without a certificate (or without such a SAN).
 */
export function verifyPeer(cert: tls.PeerCertificate | null | undefined, matchSubjectAltNames: readonly StringMatcherConfig[]): PeerVerdict {
  const hasPeer = cert !== null && cert !== undefined && Object.keys(cert).length > 0;
  if (!hasPeer) return { admitted: true, principal: null };
  const mismatch = verifyPeerSubjectAltNames(cert, matchSubjectAltNames);
  if (mismatch !== undefined) return { admitted: false, reason: mismatch.message };
  return { admitted: true, principal: spiffeIdOf(cert) };
}

/** Network RBAC: the connection's peer identity, address and destination port against the chain's rules. */
export function admitConnection(rules: CompiledRules, downstream: FilterDownstream, now: () => number, random: () => number): boolean {
  const ctx: HttpFilterContext = {
    request: { method: '', scheme: '', authority: '', path: '', headers: {} },
    downstream,
    route: null,
    now,
    random,
  };
  return permitted(rules, ctx, { method: '', path: '', headers: {} });
}

export interface DownstreamTlsOptions {
  readonly identity: WorkloadIdentity | null;
  /** What ALPN offers (offeredAlpn). */
  readonly alpn: readonly string[] | undefined;
  readonly handshakeTimeoutMs: number;
}

/** A finished, admitted handshake: the TLS socket to serve and the peer's principal. */
export type OnSecure = (socket: tls.TLSSocket, principal: string | null) => void;

/** node:tls keeps the connection a server-side TLS socket wraps in `_parent`. */
type ServerTlsSocket = tls.TLSSocket & { readonly _parent?: net.Socket | null };

/**
 * The TLS termination of one filter chain: a node:tls server that never listens (the listener hands
 * it connections), so the handshake, its timeout and the client certificate check are node:tls's own.
 */
export class DownstreamTls {
  private readonly server: tls.Server;
  /** False until the workload certificate the chain names exists (connections are refused meanwhile). */
  private ready = false;
  /** Connections in their handshake, by the socket the TLS socket wraps. */
  private readonly pending = new WeakMap<net.Socket, OnSecure>();
  private readonly unsubscribe: (() => void) | null;

  constructor(
    readonly config: DownstreamTlsConfig,
    private readonly options: DownstreamTlsOptions,
  ) {
    this.server = tls.createServer({
      ...this.material(),
      ...clientCertificatePolicy(config),
      ALPNProtocols: options.alpn === undefined ? undefined : [...options.alpn],
      handshakeTimeout: options.handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (sock: tls.TLSSocket) => this.onSecureConnection(sock));
    // A failed handshake (bad certificate, garbage, the handshake timeout). node:tls destroys the
    // connection itself on a protocol error, but not on ERR_TLS_HANDSHAKE_TIMEOUT while a listener
    // for this event exists: a stalled handshake would stay open, so every one is destroyed here.
    this.server.on('tlsClientError', (_err: Error, sock: tls.TLSSocket) => sock.destroy());
    const id = options.identity;
    // Rotation: new handshakes use the new certificate; open connections keep theirs.
    this.unsubscribe = id !== null && usesIdentity(config) ? id.onRotate(() => this.rotate()) : null;
  }

  private material(): tls.SecureContextOptions {
    try {
      const m = downstreamSecureOptions(this.config, this.options.identity);
      this.ready = true;
      // Tickets are node:tls's default; each context has its own ticket key, so a rotation ends
      // resumption of sessions made with the previous certificate or roots.
      return this.config.sessionTickets ? m : { ...m, secureOptions: constants.SSL_OP_NO_TICKET };
    } catch {
      return {}; // no workload certificate yet
    }
  }

  private rotate(): void {
    const wasReady = this.ready;
    this.ready = false;
    const m = this.material();
    if (this.ready) this.server.setSecureContext(m);
    else this.ready = wasReady; // keep the previous certificate
  }

  /**
   * Runs the server handshake on `socket` (bytes already read by the listener unshifted onto it);
   * calls `onSecure` once the peer is known and admitted by the SAN match. Anything else — no
   * certificate yet, a failed handshake or client certificate check, a refused peer, the handshake
   * timeout — destroys the connection.
   */
  terminate(socket: net.Socket, onSecure: OnSecure): void {
    if (!this.ready) {
      socket.destroy();
      return;
    }
    // A TLS socket (an OpenSSL session, ~16 KiB) is built only once the first bytes came: a storm of
    // connections that send nothing costs a plain socket each, and one whose first byte is not a TLS
    // handshake record is refused at once. The wait is bounded like the handshake.
    if (socket.readableLength > 0) return this.startHandshake(socket, onSecure);
    socket.setTimeout(this.options.handshakeTimeoutMs, () => socket.destroy());
    const onReadable = (): void => {
      if (socket.readableLength === 0) return;
      socket.off('readable', onReadable);
      socket.setTimeout(0);
      this.startHandshake(socket, onSecure);
    };
    socket.on('readable', onReadable);
  }

  private startHandshake(socket: net.Socket, onSecure: OnSecure): void {
    const first = socket.read(1) as Buffer | null;
    if (first === null) return void socket.destroy();
    socket.unshift(first);
    if (first[0] !== TLS_HANDSHAKE_RECORD) return void socket.destroy();
    this.pending.set(socket, onSecure);
    this.server.emit('connection', socket);
  }

  private onSecureConnection(sock: ServerTlsSocket): void {
    sock.on('error', () => sock.destroy());
    const parent = sock._parent ?? null;
    const onSecure = parent === null ? undefined : this.pending.get(parent);
    if (parent !== null) this.pending.delete(parent);
    const peer = verifyPeer(sock.getPeerCertificate(), this.config.matchSubjectAltNames);
    if (onSecure === undefined || !peer.admitted) {
      sock.destroy();
      return;
    }
    onSecure(sock, peer.principal);
  }

  /** Stops following rotations (the chain is gone). */
  close(): void {
    this.unsubscribe?.();
  }
}
