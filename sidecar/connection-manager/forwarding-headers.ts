// The forwarding headers a request carries upstream: X-Forwarded-For, X-Forwarded-Proto,
// x-request-id, and no client-supplied X-Forwarded-Client-Cert. Pure: decisions on a header record.

import type { HttpConnectionManagerConfig } from '../../src/config/types';

type OutHeaders = Record<string, string | string[]>;

/** The connection manager settings that decide the forwarding headers. */
export type ForwardingPolicy = Pick<HttpConnectionManagerConfig, 'useRemoteAddress' | 'generateRequestId' | 'preserveExternalRequestId'>;

/** What the downstream connection tells about the request. */
export interface ForwardingFacts {
  /** The downstream peer's address ('' when unknown). */
  readonly remoteAddress: string;
  /** The downstream connection is TLS. */
  readonly secure: boolean;
}

/**
 * forward_client_cert_details SANITIZE (the only mode accepted): a client's
 * X-Forwarded-Client-Cert never crosses the proxy.
 */
export function sanitizeClientCert(out: OutHeaders): void {
  delete out['x-forwarded-client-cert'];
}

/**
 * Applies the forwarding policy to the upstream headers of a request (already stripped of
 * hop-by-hop headers):
 * - X-Forwarded-Client-Cert from the client is dropped (SANITIZE).
 * - x-request-id: generated when missing, or, at the edge (use_remote_address) unless
 *   preserve_external_request_id, replaced; kept otherwise. Nothing when generate_request_id is off.
 * - X-Forwarded-Proto: the downstream scheme when missing, and always at the edge (a client's own
 *   value is not trusted there).
 * - X-Forwarded-For: at the edge the peer address is appended (an IPv4-mapped IPv6 address as IPv4);
 *   several values join with ', '. xff_num_trusted_hops is 0 (configuration refuses others), so no
 *   hop of the client's list is trusted, and without use_remote_address the list passes untouched.
 */
export function applyForwardingHeaders(out: OutHeaders, policy: ForwardingPolicy, conn: ForwardingFacts, newRequestId: () => string): void {
  sanitizeClientCert(out);
  if (policy.generateRequestId && (out['x-request-id'] === undefined || (policy.useRemoteAddress && !policy.preserveExternalRequestId))) {
    out['x-request-id'] = newRequestId();
  }
  if (out['x-forwarded-proto'] === undefined || policy.useRemoteAddress) {
    out['x-forwarded-proto'] = conn.secure ? 'https' : 'http';
  }
  if (policy.useRemoteAddress && conn.remoteAddress) {
    const xff = out['x-forwarded-for'];
    const ra = unmappedIPv4(conn.remoteAddress);
    out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ra}` : ra;
  }
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (a dual-stack listener's view of an IPv4 peer). */
function unmappedIPv4(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
