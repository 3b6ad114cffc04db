// Peer certificate SAN verification against Envoy-style string matchers (URI and DNS SANs).

import type { PeerCertificate } from 'node:tls';
import type { StringMatcherConfig } from '../../src/config/types';
import { StringMatcher } from '../../src/match/header-matcher';

/** The subjectAltName entries of a peer certificate, e.g. ['URI:spiffe://…', 'DNS:a.b']. */
export function subjectAltNames(cert: PeerCertificate): string[] {
  const raw = cert.subjectaltname;
  if (!raw) return [];
  return raw.split(/,\s*/);
}

/** The SPIFFE ID (first URI SAN starting with spiffe://) of a peer certificate, or null. */
export function spiffeIdOf(cert: PeerCertificate | null | undefined): string | null {
  if (!cert || !cert.subjectaltname) return null;
  for (const san of subjectAltNames(cert)) {
    if (san.startsWith('URI:spiffe://')) return san.slice(4);
  }
  return null;
}

/** Returns an Error when no URI/DNS SAN of the certificate matches any matcher (Envoy semantics). */
export function verifyPeerSubjectAltNames(
  cert: PeerCertificate,
  matchers: readonly StringMatcherConfig[],
): Error | undefined {
  if (matchers.length === 0) return undefined;
  const sans = subjectAltNames(cert);
  // Handshakes are rare next to requests: compiling the matchers here keeps one matcher implementation.
  const compiled = matchers.map((m) => new StringMatcher(m));
  for (const san of sans) {
    const colon = san.indexOf(':');
    const value = colon >= 0 ? san.slice(colon + 1) : san;
    for (const m of compiled) if (m.match(value)) return undefined;
  }
  const err = new Error(`peer certificate SANs [${sans.join(', ')}] match none of the expected subject alt names`);
  (err as NodeJS.ErrnoException).code = 'ERR_FERRY_SAN_MISMATCH';
  return err;
}
