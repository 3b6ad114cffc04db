// The mesh model's types: validated Kubernetes objects and the immutable MeshModel built from them.

/** The protocol of a Service port, from appProtocol or the port name prefix. `unknown` is sniffed. */
export type PortProtocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'unknown';

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
}

// ───────────────────────────── validated objects ─────────────────────────────

export interface ServicePortSpec {
  readonly name: string;
  readonly port: number;
  /** A number, or a container port name resolved through the EndpointSlice ports. */
  readonly targetPort: number | string;
  readonly appProtocol: string | null;
  readonly protocol: PortProtocol;
}

export interface ServiceObject extends ObjectRef {
  readonly kind: 'Service';
  /** The VIP; null when unset (the file registry allocates one) or headless ("None"). */
  readonly clusterIP: string | null;
  readonly headless: boolean;
  readonly ports: readonly ServicePortSpec[];
  readonly selector: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface EndpointSpec {
  readonly addresses: readonly string[];
  /** A nil condition is interpreted as true for ready and serving, false for terminating. */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** endpoint.zone, else the first hints.forZones entry, else ''. */
  readonly zone: string;
  readonly nodeName: string;
  readonly targetRef: { readonly kind: string; readonly namespace: string; readonly name: string } | null;
}

export interface EndpointSliceObject extends ObjectRef {
  readonly kind: 'EndpointSlice';
  /** The kubernetes.io/service-name label. */
  readonly serviceName: string;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly ports: readonly { readonly name: string; readonly port: number; readonly appProtocol: string | null }[];
  readonly endpoints: readonly EndpointSpec[];
}

export interface PodObject extends ObjectRef {
  readonly kind: 'Pod';
  readonly serviceAccountName: string;
  readonly ips: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Its workload from its owner (the Deployment behind a ReplicaSet, src/mesh/workload-name.ts); null without one. */
  readonly workload: string | null;
}

export interface NamespaceObject {
  readonly kind: 'Namespace';
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type StringMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';

export interface HttpRouteMatch {
  readonly path: { readonly type: StringMatchType; readonly value: string } | null;
  readonly headers: readonly { readonly type: 'Exact' | 'RegularExpression'; readonly name: string; readonly value: string }[];
  readonly queryParams: readonly { readonly type: 'Exact' | 'RegularExpression'; readonly name: string; readonly value: string }[];
  readonly method: string | null;
}

export interface HttpBackendRef {
  readonly namespace: string;
  readonly name: string;
  /** null: the parent's port. */
  readonly port: number | null;
  readonly weight: number;
}

export interface HttpRouteRule {
  readonly matches: readonly HttpRouteMatch[];
  readonly backendRefs: readonly HttpBackendRef[];
  readonly requestTimeoutMs: number | null;
  readonly backendRequestTimeoutMs: number | null;
}

export interface HttpRouteObject extends ObjectRef {
  readonly kind: 'HTTPRoute';
  /** creationTimestamp (ms since epoch, 0 when unknown): older routes win ties, as Gateway API says. */
  readonly createdMs: number;
  readonly parentRefs: readonly { readonly namespace: string; readonly name: string; readonly port: number | null }[];
  readonly rules: readonly HttpRouteRule[];
}

export type LbType = 'RoundRobin' | 'LeastRequest' | 'Random' | 'RingHash' | 'Maglev';

export interface HashOn {
  readonly header: string | null;
  readonly cookie: string | null;
  readonly queryParameter: string | null;
  readonly sourceIP: boolean;
}

export interface HealthCheckSpec {
  readonly kind: 'http' | 'tcp' | 'grpc';
  /** http: the path; grpc: the service name. */
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  /** The mesh default (decision 0028), not a user's policy: applied to HTTP ports only. */
  readonly meshDefault: boolean;
}

export interface RetrySpec {
  /** Conditions retried for every method. */
  readonly retryOn: readonly string[];
  /**
   * More conditions, retried only for requests with an idempotent method (IDEMPOTENT_METHODS): the
   * mesh default's `reset`. A TrafficPolicy's `retryOn` applies to every method and adds none.
   */
  readonly idempotentRetryOn: readonly string[];
  /** Retries after the first attempt (Istio's meaning of attempts). */
  readonly attempts: number;
  readonly perTryTimeoutMs: number;
  /** Retry budget: at most this percent of active requests may be retries. */
  readonly budget: { readonly percent: number; readonly minRetryConcurrency: number } | null;
}

export interface OutlierSpec {
  readonly enabled: boolean;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
}

export interface ConnectionPoolSpec {
  readonly maxConnections: number | null;
  readonly maxPendingRequests: number | null;
  readonly maxRequests: number | null;
  readonly maxRetries: number | null;
  readonly connectTimeoutMs: number | null;
}

export interface TrafficPolicySpec {
  readonly loadBalancer: { readonly type: LbType; readonly hashOn: HashOn | null } | null;
  readonly connectionPool: ConnectionPoolSpec | null;
  readonly outlierDetection: OutlierSpec | null;
  /** null: not set (the mesh default applies); 'disabled': `healthCheck: {enabled: false}`. */
  readonly healthCheck: HealthCheckSpec | 'disabled' | null;
  readonly retries: RetrySpec | null;
  readonly timeoutMs: number | null;
}

export interface TrafficPolicyObject extends ObjectRef {
  readonly kind: 'TrafficPolicy';
  /** The targeted Service (in the policy's namespace). */
  readonly target: string;
  readonly spec: TrafficPolicySpec;
}

export type MtlsMode = 'STRICT' | 'PERMISSIVE';

export interface RateLimitSpec {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

export interface AccessPolicySpec {
  readonly mtlsMode: MtlsMode | null;
  /** Allowed source identities (SPIFFE IDs); empty with no namespaces = everyone. */
  readonly allowedIdentities: readonly string[];
  readonly allowedNamespaces: readonly string[];
  readonly rateLimit: RateLimitSpec | null;
}

export interface AccessPolicyObject extends ObjectRef {
  readonly kind: 'AccessPolicy';
  readonly target: { readonly kind: 'Service' | 'Namespace'; readonly name: string };
  readonly spec: AccessPolicySpec;
}

export type MeshObject =
  | ServiceObject
  | EndpointSliceObject
  | PodObject
  | NamespaceObject
  | HttpRouteObject
  | TrafficPolicyObject
  | AccessPolicyObject;

export type MeshObjectKind = MeshObject['kind'];

// ───────────────────────────── the model ─────────────────────────────

export interface MeshEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zone: string;
  /** The Pod behind the endpoint (targetRef, else by IP), when known. */
  readonly pod: ObjectRef | null;
  /** `spiffe://<trust-domain>/ns/<ns>/sa/<sa>` when the Pod is known. */
  readonly identity: string | null;
}

export interface MeshPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: PortProtocol;
  /** Every endpoint of every slice of the service for this port, sorted by ip:port. */
  readonly endpoints: readonly MeshEndpoint[];
}

/** One route of an HTTPRoute attached to a service port, in Gateway API precedence order. */
export interface MeshHttpRoute {
  /** `<ns>/<name>` of the HTTPRoute and the rule index, for names and errors. */
  readonly source: string;
  readonly rule: number;
  readonly match: HttpRouteMatch;
  /** Resolved backends; those naming an unknown service/port are dropped (no backends = 500). */
  readonly backends: readonly { readonly service: ObjectRef; readonly port: number; readonly hostname: string; readonly weight: number }[];
  readonly droppedBackends: number;
  readonly requestTimeoutMs: number | null;
  readonly backendRequestTimeoutMs: number | null;
}

/** A TrafficPolicy with the mesh defaults filled in. */
export interface EffectiveTrafficPolicy {
  /** `<ns>/<name>` of the TrafficPolicy, or null when only defaults apply. */
  readonly source: string | null;
  readonly loadBalancer: { readonly type: LbType; readonly hashOn: HashOn | null };
  readonly connectionPool: ConnectionPoolSpec | null;
  readonly outlierDetection: OutlierSpec;
  /** null: health checking turned off (`healthCheck: {enabled: false}`). */
  readonly healthCheck: HealthCheckSpec | null;
  readonly retries: RetrySpec;
  readonly timeoutMs: number;
}

export interface EffectiveAccessPolicy {
  /** `<ns>/<name>` of the AccessPolicy (service-level wins over namespace-level), or null. */
  readonly source: string | null;
  /** null: the policy does not say; the mesh-wide default (`ferry controller --mtls-mode`) applies. */
  readonly mtlsMode: MtlsMode | null;
  readonly allowedIdentities: readonly string[];
  readonly allowedNamespaces: readonly string[];
  readonly rateLimit: RateLimitSpec | null;
}

export interface MeshService extends ObjectRef {
  /** `<name>.<ns>.svc.<cluster-domain>`. */
  readonly hostname: string;
  readonly clusterIP: string | null;
  readonly headless: boolean;
  readonly ports: readonly MeshPort[];
  /** HTTPRoutes attached by port number. */
  readonly routes: ReadonlyMap<number, readonly MeshHttpRoute[]>;
  readonly trafficPolicy: EffectiveTrafficPolicy;
  readonly accessPolicy: EffectiveAccessPolicy;
}

export interface MeshModel {
  /** A content hash: equal models have equal versions. */
  readonly version: string;
  readonly clusterDomain: string;
  readonly trustDomain: string;
  /** Sorted by namespace, then name. */
  readonly services: readonly MeshService[];
  readonly namespaces: ReadonlyMap<string, NamespaceObject>;
  /** Pods by IP. */
  readonly podsByIp: ReadonlyMap<string, PodObject>;
  /** `<ns>/<name>` → service. */
  readonly serviceIndex: ReadonlyMap<string, MeshService>;
  /** Problems that did not stop the model (a route naming a missing service, two policies for one target…). */
  readonly warnings: readonly string[];
}
