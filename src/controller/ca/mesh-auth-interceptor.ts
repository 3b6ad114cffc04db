// Per-method authentication on the controller's gRPC ports: mesh client certificate for xDS, bearer token only for the CA.

import { status, ServerInterceptingCall, type Metadata, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { parseSpiffeId } from '../../../certs/spiffe';
import { CREATE_CERTIFICATE_PATH } from '../../ca-api/ca-proto';

/** Metadata key the interceptor sets to the verified peer SPIFFE ID (any value the client sent is dropped). */
export const PEER_IDENTITY_METADATA = 'x-ferry-peer-spiffe-id';

/** Methods that authenticate with a bearer token instead of a client certificate (a workload has no certificate yet). */
export const TOKEN_AUTHENTICATED_METHODS: ReadonlySet<string> = new Set([CREATE_CERTIFICATE_PATH]);

export type PeerCheck = { readonly ok: true; readonly spiffeId: string } | { readonly ok: false; readonly details: string };

/**
 * Decides whether a verified TLS peer certificate is a mesh workload of `trustDomain`. `cert` is what
 * grpc-js's auth context reports, which is present only when OpenSSL verified the chain against the
 * trust bundle during the handshake (so validity and signature are already checked). Pure.
 */
export function checkMeshPeer(cert: PeerCertificate | undefined, trustDomain: string): PeerCheck {
  if (!cert) return { ok: false, details: 'a client certificate issued by the mesh CA is required' };
  const uris = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  if (uris.length !== 1) return { ok: false, details: `client certificate must carry exactly one URI SAN, has ${uris.length}` };
  let td: string;
  try {
    td = parseSpiffeId(uris[0]).trustDomain;
  } catch (err) {
    return { ok: false, details: `client certificate SAN is not a workload SPIFFE ID: ${(err as Error).message}` };
  }
  if (td !== trustDomain) return { ok: false, details: `client certificate is from trust domain ${JSON.stringify(td)}, not ${JSON.stringify(trustDomain)}` };
  return { ok: true, spiffeId: uris[0] };
}

function refuse(call: ServerInterceptingCallInterface, code: status, details: string): ServerInterceptingCall {
  return new ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMetadata: () => call.sendStatus({ code, details }),
        onReceiveMessage: () => undefined,
        onReceiveHalfClose: () => undefined,
      });
    },
  });
}

/**
 * For the mTLS port: every method requires a verified mesh client certificate from `trustDomain`
 * (UNAUTHENTICATED otherwise), except the token-authenticated CA method. The verified SPIFFE ID is
 * passed to handlers as PEER_IDENTITY_METADATA.
 */
export function meshPortInterceptor(trustDomain: string, tokenMethods: ReadonlySet<string> = TOKEN_AUTHENTICATED_METHODS): ServerInterceptor {
  return (method, call) => {
    if (tokenMethods.has(method.path)) {
      return new ServerInterceptingCall(call, {
        start: (next) => next({ onReceiveMetadata: (md: Metadata, mdNext) => (md.remove(PEER_IDENTITY_METADATA), mdNext(md)) }),
      });
    }
    const check = checkMeshPeer(call.getAuthContext()?.sslPeerCertificate, trustDomain);
    if (!check.ok) return refuse(call, status.UNAUTHENTICATED, check.details);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md: Metadata, mdNext) => {
            md.set(PEER_IDENTITY_METADATA, check.spiffeId);
            mdNext(md);
          },
        }),
    });
  };
}

/** For a plaintext port (proxyless gRPC xDS): the token-authenticated CA is never served in the clear. */
export function plaintextPortInterceptor(tokenMethods: ReadonlySet<string> = TOKEN_AUTHENTICATED_METHODS): ServerInterceptor {
  return (method, call) => {
    if (tokenMethods.has(method.path)) return refuse(call, status.FAILED_PRECONDITION, 'the certificate service is only served over TLS');
    return new ServerInterceptingCall(call, {
      start: (next) => next({ onReceiveMetadata: (md: Metadata, mdNext) => (md.remove(PEER_IDENTITY_METADATA), mdNext(md)) }),
    });
  };
}
