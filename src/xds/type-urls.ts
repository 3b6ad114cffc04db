// The xDS v3 resource type URLs Ferry serves and reads, and the order in which they are pushed.

export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type ResourceTypeUrl =
  | typeof LISTENER_TYPE
  | typeof ROUTE_TYPE
  | typeof CLUSTER_TYPE
  | typeof ENDPOINT_TYPE
  | typeof SECRET_TYPE;

/**
 * Make-before-break push order: clusters before the endpoints they use, listeners before the
 * routes they name, secrets last (Istio's order). A client never sees a reference before its target.
 */
export const PUSH_ORDER: readonly ResourceTypeUrl[] = Object.freeze([
  CLUSTER_TYPE,
  ENDPOINT_TYPE,
  LISTENER_TYPE,
  ROUTE_TYPE,
  SECRET_TYPE,
]);

/** Short names for logs, metrics labels and the proxy-status table. */
export const TYPE_SHORT_NAMES: Readonly<Record<ResourceTypeUrl, string>> = Object.freeze({
  [LISTENER_TYPE]: 'LDS',
  [ROUTE_TYPE]: 'RDS',
  [CLUSTER_TYPE]: 'CDS',
  [ENDPOINT_TYPE]: 'EDS',
  [SECRET_TYPE]: 'SDS',
});

/**
 * Types whose state-of-the-world responses carry every resource (absence means deletion), so
 * an empty `resource_names` means "all of them" (wildcard).
 */
export const FULL_STATE_TYPES: ReadonlySet<string> = new Set([LISTENER_TYPE, CLUSTER_TYPE]);

export function isResourceTypeUrl(s: string): s is ResourceTypeUrl {
  return s in TYPE_SHORT_NAMES;
}

export function shortTypeName(typeUrl: string): string {
  return isResourceTypeUrl(typeUrl) ? TYPE_SHORT_NAMES[typeUrl] : typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
