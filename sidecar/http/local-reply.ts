// Local replies: responses the proxy makes itself, with Envoy's response flags and a reason header.

/** Header carrying the response flags of a local reply, so a client can tell why. */
export const RESPONSE_FLAGS_HEADER = 'x-ferry-response-flags';

/** Envoy's response flags used by Ferry (short names, as in access logs and istio metrics). */
export const Flags = {
  noRoute: 'NR',
  noClusterFound: 'NC',
  noHealthyUpstream: 'UH',
  upstreamOverflow: 'UO',
  upstreamConnectionFailure: 'UF',
  upstreamRequestTimeout: 'UT',
  upstreamRetryLimitExceeded: 'URX',
  upstreamConnectionTermination: 'UC',
  upstreamRemoteReset: 'UR',
  upstreamProtocolError: 'UPE',
  downstreamConnectionTermination: 'DC',
  downstreamProtocolError: 'DPE',
  rateLimited: 'RL',
  faultInjected: 'FI',
  delayInjected: 'DI',
  localReset: 'LR',
  unauthorized: 'UAEX',
  rbacDenied: 'RBAC',
  streamIdleTimeout: 'SI',
  directResponse: 'DR',
} as const;

/** gRPC status for a local reply's HTTP status (as Envoy maps them). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}
