// Mesh mTLS and authorization as Envoy config: workload TLS contexts (SDS `default` / `ROOTCA`), SNI, and the RBAC filter of an AccessPolicy.
//
// The secrets are named the way Istio names them and carry no sds_config: the Ferry sidecar resolves
// them in-process from its workload identity (certificate from the controller's CA), so nothing is
// fetched over SDS.

import type { EffectiveAccessPolicy, MeshPort } from '../model/types';

type Json = Record<string, unknown>;

export const WORKLOAD_CERT_SECRET = 'default';
export const WORKLOAD_ROOT_SECRET = 'ROOTCA';
export const TLS_SOCKET = 'envoy.transport_sockets.tls';
export const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

/** ALPN between sidecars for HTTP: HTTP/2, so one connection multiplexes the app's requests. */
export const MESH_HTTP_ALPN: readonly string[] = Object.freeze(['h2']);
/** What an inbound HTTP chain offers: h2 to sidecars, HTTP/1.1 to a peer that asks for it. */
export const INBOUND_HTTP_ALPN: readonly string[] = Object.freeze(['h2', 'http/1.1']);

/** How the sidecar's inbound side treats plaintext: STRICT refuses it, PERMISSIVE serves it next to mTLS. */
export type InboundMtlsMode = 'STRICT' | 'PERMISSIVE';

/** What inbound and outbound translation needs to know about mesh security for one proxy. */
export interface MeshSecurity {
  /** The proxy holds a workload identity: emit TLS contexts that name it. */
  readonly tls: boolean;
  /** Translate AccessPolicy allow rules into authorization (RBAC). */
  readonly authorize: boolean;
  readonly trustDomain: string;
}

/** Istio's SNI for a service port (`outbound_.<port>_._.<fqdn>`); peers never route on it, it names the destination. */
export function meshSni(port: number, hostname: string): string {
  return `outbound_.${port}_._.${hostname}`;
}

/** A SPIFFE ID moved into `trustDomain` (the model's IDs use the registry's trust domain). */
export function inTrustDomain(spiffeId: string, trustDomain: string): string {
  return spiffeId.replace(/^spiffe:\/\/[^/]+\//, `spiffe://${trustDomain}/`);
}

/** The identities behind a service port's endpoints (from the Pods' service accounts), sorted, unique. */
export function portIdentities(port: MeshPort, trustDomain: string): string[] {
  const ids = new Set<string>();
  for (const e of port.endpoints) if (e.identity) ids.add(inTrustDomain(e.identity, trustDomain));
  return [...ids].sort();
}

function sds(name: string): Json {
  return { name };
}

function uriSan(matcher: Json): Json {
  return { san_type: 'URI', matcher };
}

function commonTls(alpn: readonly string[], sans: Json[]): Json {
  const out: Json = {
    tls_certificate_sds_secret_configs: [sds(WORKLOAD_CERT_SECRET)],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: sans.map(uriSan) },
      validation_context_sds_secret_config: sds(WORKLOAD_ROOT_SECRET),
    },
  };
  if (alpn.length > 0) out.alpn_protocols = [...alpn];
  return out;
}

/**
 * Client side of a sidecar hop: the workload certificate, the mesh roots, and the server must
 * present one of `identities` (URI SAN, exact).
 */
export function upstreamTlsSocket(sni: string, identities: readonly string[], alpn: readonly string[]): Json {
  return {
    name: TLS_SOCKET,
    typed_config: {
      '@type': UPSTREAM_TLS_TYPE,
      sni,
      common_tls_context: commonTls(
        alpn,
        identities.map((id) => ({ exact: id })),
      ),
    },
  };
}

/**
 * Server side of a sidecar hop: a client certificate is required and must chain to the mesh roots
 * with a URI SAN that one of `peers` matches (default: anyone in the trust domain).
 */
export function downstreamTlsSocket(trustDomain: string, alpn: readonly string[], peers: readonly Json[] | null = null): Json {
  return {
    name: TLS_SOCKET,
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      require_client_certificate: true,
      common_tls_context: commonTls(alpn, peers ? [...peers] : [{ prefix: `spiffe://${trustDomain}/` }]),
    },
  };
}

/** True when the policy names who may call (no lists = everyone may). */
export function hasAllowRules(policy: EffectiveAccessPolicy): boolean {
  return policy.allowedIdentities.length > 0 || policy.allowedNamespaces.length > 0;
}

/**
 * The peers a policy allows, as string matchers on the SPIFFE ID: each identity exactly, each
 * namespace as the prefix `spiffe://<td>/ns/<ns>/`. Null when the policy allows everyone.
 */
export function allowedPeerMatchers(policy: EffectiveAccessPolicy, trustDomain: string): Json[] | null {
  if (!hasAllowRules(policy)) return null;
  return [
    ...policy.allowedIdentities.map((id) => ({ exact: id })),
    ...policy.allowedNamespaces.map((ns) => ({ prefix: `spiffe://${trustDomain}/ns/${ns}/` })),
  ];
}

/**
 * The RBAC filter (ALLOW) of a policy with allow rules, null otherwise. A request whose connection
 * carries no verified peer identity (plaintext) matches no principal and is denied (403).
 */
export function rbacFilter(policy: EffectiveAccessPolicy, trustDomain: string): Json | null {
  const peers = allowedPeerMatchers(policy, trustDomain);
  if (!peers) return null;
  return {
    name: RBAC_FILTER,
    typed_config: {
      '@type': RBAC_TYPE,
      rules: {
        action: 'ALLOW',
        policies: {
          [policy.source ?? 'mesh-default']: {
            permissions: [{ any: true }],
            principals: peers.map((m) => ({ authenticated: { principal_name: m } })),
          },
        },
      },
    },
  };
}
