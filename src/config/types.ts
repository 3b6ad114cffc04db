// Ferry's own validated configuration: what Envoy v3 resources become after translation.
//
// Every object here is produced once, at the edge (bootstrap file, xDS), frozen, and never
// re-validated by the data path. Durations are milliseconds, fractions are 0..1, names are as
// Envoy spells them. Nothing past this boundary reads protobuf or raw YAML.

export interface SocketAddress {
  readonly host: string; // IP literal or DNS name
  readonly port: number;
}

export interface CidrRange {
  readonly address: string;
  readonly prefixLen: number;
}

/** Envoy's FractionalPercent / Percent, as a probability 0..1. */
export type Fraction = number;

// ───────────────────────────── bootstrap ─────────────────────────────

export interface BootstrapConfig {
  readonly node: NodeConfig;
  readonly admin: AdminConfig | null;
  readonly listeners: readonly ListenerConfig[];
  readonly clusters: readonly ClusterConfig[];
  /** ADS config source for dynamic resources (xDS issue); null for a static bootstrap. */
  readonly dynamicResources: DynamicResourcesConfig | null;
  /** Where `/metrics` is also served (Ferry extension, e.g. 0.0.0.0:15090); null = admin only. */
  readonly statsAddress: SocketAddress | null;
}

export interface NodeConfig {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface AdminConfig {
  readonly address: SocketAddress;
}

export interface DynamicResourcesConfig {
  /** Cluster (from static_resources) that reaches the ADS server. */
  readonly adsCluster: string;
  readonly lds: boolean;
  readonly cds: boolean;
  /** How long start-up waits for the first listeners and clusters (lds/cds_config initial_fetch_timeout; 0 = no limit). */
  readonly initialFetchTimeoutMs: number;
}

// ───────────────────────────── listeners ─────────────────────────────

export interface ListenerConfig {
  readonly name: string;
  readonly address: SocketAddress;
  /** socket_address.ipv4_compat: a listener on `::` also takes IPv4 (default: IPv6 only, as Envoy). */
  readonly ipv4Compat: boolean;
  readonly filterChains: readonly FilterChainConfig[];
  readonly defaultFilterChain: FilterChainConfig | null;
  /** envoy.filters.listener.original_dst present (or use_original_dst). */
  readonly useOriginalDst: boolean;
  /** envoy.filters.listener.tls_inspector present. */
  readonly tlsInspector: boolean;
  /** envoy.filters.listener.http_inspector present. */
  readonly httpInspector: boolean;
  /** listener_filters_timeout (default 15 s); 0 = none. */
  readonly listenerFiltersTimeoutMs: number;
  readonly continueOnListenerFiltersTimeout: boolean;
  /** Bounds the request body kept for a retry (Envoy's L7 buffer limit); default 1 MiB, never 0. */
  readonly perConnectionBufferLimitBytes: number;
}

export interface FilterChainMatchConfig {
  readonly destinationPort: number | null;
  readonly prefixRanges: readonly CidrRange[];
  readonly sourcePrefixRanges: readonly CidrRange[];
  readonly sourcePorts: readonly number[];
  readonly serverNames: readonly string[];
  readonly transportProtocol: string | null; // 'raw_buffer' | 'tls'
  readonly applicationProtocols: readonly string[];
}

export interface FilterChainConfig {
  readonly name: string;
  readonly match: FilterChainMatchConfig;
  readonly tls: DownstreamTlsConfig | null;
  /** envoy.filters.network.rbac before the terminal filter: connections it denies are closed. */
  readonly networkRbac: NetworkRbacConfig | null;
  readonly network: HttpConnectionManagerConfig | TcpProxyConfig;
}

/** Connection-level RBAC: principals and permissions over the peer identity, address and port. */
export interface NetworkRbacConfig {
  readonly statPrefix: string;
  readonly rules: { readonly action: 'ALLOW' | 'DENY'; readonly policies: readonly RbacPolicyConfig[] } | null;
}

export interface TcpProxyConfig {
  readonly kind: 'tcp_proxy';
  readonly statPrefix: string;
  readonly cluster: string | null;
  readonly weightedClusters: readonly WeightedClusterConfig[] | null;
  readonly idleTimeoutMs: number; // default 1 h; 0 disables
  readonly maxConnectAttempts: number; // default 1
  /** access_log: one entry per configured logger, each line written when the connection closes. */
  readonly accessLogs: readonly AccessLogConfig[];
}

/** One access logger (envoy.access_loggers.file / stdout / stderr) with its format. */
export interface AccessLogConfig {
  /** Path of the entry, for errors raised when the sink is opened. */
  readonly field: string;
  readonly target: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' | 'stderr' };
  readonly format:
    | { readonly kind: 'text'; readonly text: string }
    | { readonly kind: 'json'; readonly fields: Readonly<Record<string, unknown>>; readonly omitEmptyValues: boolean };
}

export interface HttpConnectionManagerConfig {
  readonly kind: 'http_connection_manager';
  readonly statPrefix: string;
  readonly codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  /** Inline route_config; null when routes come from RDS (`rdsRouteConfigName`). */
  readonly routeConfig: RouteConfiguration | null;
  readonly rdsRouteConfigName: string | null;
  /** rds.config_source.initial_fetch_timeout: how long the listener warms for these routes (0 = until they come). */
  readonly rdsInitialFetchTimeoutMs: number;
  readonly httpFilters: readonly HttpFilterConfig[];
  readonly requestHeadersTimeoutMs: number; // 0 = disabled (Envoy default)
  readonly requestTimeoutMs: number; // 0 = disabled
  readonly streamIdleTimeoutMs: number; // default 5 min
  readonly idleTimeoutMs: number; // common_http_protocol_options.idle_timeout, default 1 h
  readonly maxRequestHeadersKb: number; // default 60
  /** common_http_protocol_options.max_headers_count: more request header fields get 431 (HTTP/2: a reset); default 100. */
  readonly maxRequestHeadersCount: number;
  readonly useRemoteAddress: boolean;
  readonly generateRequestId: boolean; // default true
  readonly preserveExternalRequestId: boolean;
  readonly upgradeTypes: readonly string[]; // lower-case, e.g. ['websocket']
  readonly serverName: string; // default 'envoy' in Envoy; Ferry says 'ferry'
  readonly drainTimeoutMs: number; // default 5 s
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly stripPortMode: 'none' | 'any' | 'matching';
  /** http2_protocol_options.max_concurrent_streams: SETTINGS_MAX_CONCURRENT_STREAMS to downstream clients (default 100). */
  readonly http2MaxConcurrentStreams: number;
  /** access_log: one line per finished request, per logger. */
  readonly accessLogs: readonly AccessLogConfig[];
}

// ───────────────────────────── routes ─────────────────────────────

export interface RouteConfiguration {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface HeaderValueOption {
  readonly name: string; // lower-case
  readonly value: string;
  /** Envoy's append_action: append, add only if absent, or overwrite. */
  readonly action: 'append' | 'add_if_absent' | 'overwrite';
}

export interface VirtualHostConfig {
  readonly name: string;
  /** Lower-case; '*' alone, '*.suffix', 'prefix*' or exact, optionally with ':port'. */
  readonly domains: readonly string[];
  readonly routes: readonly RouteConfig[];
  readonly retryPolicy: RetryPolicyConfig | null;
  /** require_tls ALL: plaintext requests get a 301 to https (EXTERNAL_ONLY is rejected). */
  readonly requireTls: 'none' | 'all';
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
  /** Per-filter overrides keyed by HTTP filter name (typed_per_filter_config). */
  readonly perFilterConfig: Readonly<Record<string, HttpFilterConfig>>;
}

export type PathMatchConfig =
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'path_separated_prefix'; readonly value: string }
  | { readonly kind: 'safe_regex'; readonly value: string; readonly regex: RegExp };

export type StringMatchKind = 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex';

export interface StringMatcherConfig {
  readonly kind: StringMatchKind;
  readonly value: string;
  readonly regex: RegExp | null; // set when kind is 'safe_regex' (anchored, full match)
  readonly ignoreCase: boolean;
}

export interface HeaderMatcherConfig {
  readonly name: string; // lower-case
  /** 'present' matches on presence; 'range' on an integer in [start, end). */
  readonly kind: StringMatchKind | 'present' | 'range';
  readonly value: string;
  readonly regex: RegExp | null;
  readonly ignoreCase: boolean;
  readonly presentMatch: boolean; // for kind 'present'
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly invertMatch: boolean;
  readonly treatMissingAsEmpty: boolean;
}

export interface QueryParameterMatcherConfig {
  readonly name: string;
  /** null string matcher + presentMatch = presence test. */
  readonly stringMatch: StringMatcherConfig | null;
  readonly presentMatch: boolean;
}

export interface RouteMatchConfig {
  readonly path: PathMatchConfig;
  readonly caseSensitive: boolean; // default true
  readonly headers: readonly HeaderMatcherConfig[];
  readonly queryParameters: readonly QueryParameterMatcherConfig[];
  /** match.grpc: only requests with content-type application/grpc*. */
  readonly grpc: boolean;
  /** runtime_fraction, as a probability; 1 when absent. */
  readonly runtimeFraction: Fraction;
}

export interface WeightedClusterConfig {
  readonly name: string;
  readonly weight: number;
}

export type HashPolicyConfig =
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean }
  | { readonly kind: 'source_ip'; readonly terminal: boolean };

export interface RouteActionConfig {
  readonly kind: 'route';
  readonly cluster: string | null;
  readonly clusterHeader: string | null;
  readonly weightedClusters: readonly WeightedClusterConfig[] | null;
  readonly totalWeight: number;
  readonly prefixRewrite: string | null;
  readonly regexRewrite: { readonly regex: RegExp; readonly substitution: string } | null;
  readonly hostRewriteLiteral: string | null;
  readonly autoHostRewrite: boolean;
  readonly timeoutMs: number; // default 15 000; 0 = none
  /** Route idle_timeout: overrides the HCM's stream_idle_timeout; 0 disables it; null = not set. */
  readonly idleTimeoutMs: number | null;
  readonly retryPolicy: RetryPolicyConfig | null; // route's, else the virtual host's
  readonly hashPolicy: readonly HashPolicyConfig[];
  readonly upgradeTypes: readonly string[] | null; // per-route upgrade_configs override
}

export interface DirectResponseConfig {
  readonly kind: 'direct_response';
  readonly status: number;
  readonly body: string | null;
}

export interface RedirectConfig {
  readonly kind: 'redirect';
  readonly schemeRedirect: string | null; // 'https' when https_redirect
  readonly hostRedirect: string | null;
  readonly portRedirect: number | null;
  readonly pathRedirect: string | null;
  readonly prefixRewrite: string | null;
  readonly responseCode: number; // 301 default
  readonly stripQuery: boolean;
}

export interface RouteConfig {
  readonly name: string;
  readonly match: RouteMatchConfig;
  readonly action: RouteActionConfig | DirectResponseConfig | RedirectConfig;
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
  readonly perFilterConfig: Readonly<Record<string, HttpFilterConfig>>;
}

// ───────────────────────────── retries ─────────────────────────────

/** Envoy's retry_on conditions (x-envoy-retry-on / x-envoy-retry-grpc-on names). */
export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'reset-before-request'
  | 'connect-failure'
  | 'envoy-ratelimited'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'retriable-headers'
  | 'http3-post-connect-failure'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';

export interface RetryPolicyConfig {
  readonly retryOn: ReadonlySet<RetryOn>;
  readonly numRetries: number; // default 1
  readonly perTryTimeoutMs: number; // 0 = use the route timeout
  readonly perTryIdleTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  readonly retriableHeaders: readonly HeaderMatcherConfig[];
  readonly backOffBaseMs: number; // default 25
  readonly backOffMaxMs: number; // default 10 × base
  /** envoy.retry_host_predicates.previous_hosts configured. */
  readonly retryOnDifferentHost: boolean;
  readonly hostSelectionRetryMaxAttempts: number; // default 1
}

// ───────────────────────────── HTTP filters ─────────────────────────────

export interface TokenBucketConfig {
  readonly maxTokens: number;
  readonly tokensPerFill: number; // default 1
  readonly fillIntervalMs: number;
}

export interface RouterFilterConfig {
  readonly kind: 'router';
  readonly name: string;
  readonly suppressEnvoyHeaders: boolean;
}

export interface LocalRateLimitFilterConfig {
  readonly kind: 'local_ratelimit';
  readonly name: string;
  readonly statPrefix: string;
  /** null: the filter is present but has no bucket here (set per route). */
  readonly tokenBucket: TokenBucketConfig | null;
  readonly filterEnabled: Fraction; // default 0 (Envoy: runtime default 0 when absent)
  readonly filterEnforced: Fraction;
  readonly status: number; // default 429
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
}

export interface FaultFilterConfig {
  readonly kind: 'fault';
  readonly name: string;
  readonly delay: { readonly fixedDelayMs: number; readonly percentage: Fraction } | null;
  readonly abort:
    | { readonly httpStatus: number; readonly grpcStatus: number | null; readonly percentage: Fraction }
    | null;
  readonly maxActiveFaults: number | null;
  /** Only requests with these headers (all must match) are faulted. */
  readonly headers: readonly HeaderMatcherConfig[];
}

/** What an RBAC permission matches about the request (Envoy's Permission subset). */
export type RbacPermission =
  | { readonly kind: 'any' }
  | { readonly kind: 'header'; readonly header: HeaderMatcherConfig }
  | { readonly kind: 'url_path'; readonly path: StringMatcherConfig }
  | { readonly kind: 'destination_port'; readonly port: number }
  | { readonly kind: 'and'; readonly rules: readonly RbacPermission[] }
  | { readonly kind: 'or'; readonly rules: readonly RbacPermission[] }
  | { readonly kind: 'not'; readonly rule: RbacPermission };

/** Who an RBAC principal matches (Envoy's Principal subset); `authenticated` reads the peer SPIFFE ID. */
export type RbacPrincipal =
  | { readonly kind: 'any' }
  | { readonly kind: 'authenticated'; readonly principalName: StringMatcherConfig | null }
  | { readonly kind: 'source_ip'; readonly range: CidrRange }
  | { readonly kind: 'header'; readonly header: HeaderMatcherConfig }
  | { readonly kind: 'and'; readonly ids: readonly RbacPrincipal[] }
  | { readonly kind: 'or'; readonly ids: readonly RbacPrincipal[] }
  | { readonly kind: 'not'; readonly id: RbacPrincipal };

export interface RbacPolicyConfig {
  readonly name: string;
  /** Any permission and any principal must match for the policy to match. */
  readonly permissions: readonly RbacPermission[];
  readonly principals: readonly RbacPrincipal[];
}

/** envoy.filters.http.rbac: ALLOW lets only matching requests through, DENY stops matching ones. */
export interface RbacFilterConfig {
  readonly kind: 'rbac';
  readonly name: string;
  /** null: the filter has no rules here (allow everything; a per-route config may add them). */
  readonly rules: { readonly action: 'ALLOW' | 'DENY'; readonly policies: readonly RbacPolicyConfig[] } | null;
  /** Evaluated and counted but never enforced. */
  readonly shadowRules: { readonly action: 'ALLOW' | 'DENY'; readonly policies: readonly RbacPolicyConfig[] } | null;
}

/** A user HTTP filter registered in TypeScript (see sidecar/filters/registry.ts). */
export interface CustomFilterConfig {
  readonly kind: 'custom';
  readonly name: string;
  readonly typeUrl: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export type HttpFilterConfig =
  | RouterFilterConfig
  | LocalRateLimitFilterConfig
  | FaultFilterConfig
  | RbacFilterConfig
  | CustomFilterConfig;

// ───────────────────────────── clusters ─────────────────────────────

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';
export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LocalityConfig {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface EndpointConfig {
  readonly address: SocketAddress;
  readonly healthStatus: HealthStatus;
  readonly weight: number; // load_balancing_weight, default 1
  readonly hostname: string;
  readonly healthCheckPort: number | null;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface LocalityEndpointsConfig {
  readonly locality: LocalityConfig | null;
  readonly priority: number;
  readonly weight: number; // locality load_balancing_weight, 0 = unset
  readonly endpoints: readonly EndpointConfig[];
}

export interface LoadAssignmentConfig {
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpointsConfig[];
  readonly overprovisioningFactor: number; // default 140 (percent)
}

export interface HealthCheckConfig {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly intervalJitterMs: number;
  readonly intervalJitterPercent: number;
  readonly initialJitterMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly noTrafficIntervalMs: number; // default 60 s
  readonly noTrafficHealthyIntervalMs: number; // default = noTrafficInterval
  readonly unhealthyIntervalMs: number; // default = interval
  readonly unhealthyEdgeIntervalMs: number; // default = unhealthyInterval
  readonly healthyEdgeIntervalMs: number; // default = interval
  readonly reuseConnection: boolean; // default true
  readonly check:
    | {
        readonly kind: 'http';
        readonly path: string;
        readonly host: string | null;
        /** Half-open ranges [start, end); default [[200, 201)]. */
        readonly expectedStatuses: readonly (readonly [number, number])[];
        readonly retriableStatuses: readonly (readonly [number, number])[];
        readonly requestHeadersToAdd: readonly HeaderValueOption[];
        readonly http2: boolean;
      }
    | { readonly kind: 'tcp'; readonly send: Buffer | null; readonly receive: readonly Buffer[] }
    | { readonly kind: 'grpc'; readonly serviceName: string; readonly authority: string | null };
}

export interface OutlierDetectionConfig {
  readonly consecutive5xx: number; // 5
  readonly consecutiveGatewayFailure: number; // 5
  readonly consecutiveLocalOriginFailure: number; // 5
  readonly intervalMs: number; // 10 000
  readonly baseEjectionTimeMs: number; // 30 000
  readonly maxEjectionTimeMs: number; // 300 000
  readonly maxEjectionPercent: number; // 10
  readonly enforcingConsecutive5xx: number; // 100 (percent)
  readonly enforcingConsecutiveGatewayFailure: number; // 0
  readonly enforcingConsecutiveLocalOriginFailure: number; // 100
  readonly enforcingSuccessRate: number; // 100
  readonly successRateMinimumHosts: number; // 5
  readonly successRateRequestVolume: number; // 100
  readonly successRateStdevFactor: number; // 1900 (÷1000)
  readonly enforcingFailurePercentage: number; // 0
  readonly failurePercentageThreshold: number; // 85
  readonly failurePercentageMinimumHosts: number; // 5
  readonly failurePercentageRequestVolume: number; // 50
  readonly splitExternalLocalOriginErrors: boolean; // false
  readonly maxEjectionTimeJitterMs: number; // 0
  readonly successfulActiveHealthCheckUnejectHost: boolean; // true
}

export interface CircuitBreakerThresholds {
  readonly maxConnections: number; // 1024
  readonly maxPendingRequests: number; // 1024
  readonly maxRequests: number; // 1024
  readonly maxRetries: number; // 3
  readonly retryBudget: { readonly budgetPercent: number; readonly minRetryConcurrency: number } | null;
}

/**
 * SDS secret names that mean "the sidecar's own workload identity", resolved in-process from the
 * identity manager (the key never leaves the proxy): `default` is the certificate and key,
 * `ROOTCA` the mesh trust bundle — the names Istio's sidecars use.
 */
export const WORKLOAD_CERT_SECRET = 'default';
export const WORKLOAD_ROOT_SECRET = 'ROOTCA';

export interface UpstreamTlsConfig {
  readonly sni: string | null;
  readonly alpnProtocols: readonly string[];
  readonly ca: Buffer | null; // trusted CA bundle; null = no verification configured
  readonly certChain: Buffer | null; // client certificate
  readonly privateKey: Buffer | null;
  /** Client certificate from the workload identity (SDS secret `default`). */
  readonly workloadCertificate: boolean;
  /** Trust bundle from the workload identity (SDS secret `ROOTCA`). */
  readonly workloadTrustBundle: boolean;
  readonly matchSubjectAltNames: readonly StringMatcherConfig[];
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3' | null;
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3' | null;
  /** `max_session_keys`: TLS sessions kept per endpoint for resumption (Envoy's default 1); 0 turns resumption off. */
  readonly maxSessionKeys: number;
}

export interface DownstreamTlsConfig {
  /** Null when the certificate is the workload identity's (`workloadCertificate`). */
  readonly certChain: Buffer | null;
  readonly privateKey: Buffer | null;
  readonly ca: Buffer | null; // validation context for client certificates
  readonly workloadCertificate: boolean;
  readonly workloadTrustBundle: boolean;
  readonly requireClientCertificate: boolean;
  readonly matchSubjectAltNames: readonly StringMatcherConfig[];
  readonly alpnProtocols: readonly string[];
  /** `disable_stateless_session_resumption`: no session tickets are issued, so no client resumes. */
  readonly sessionTickets: boolean;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3' | null;
  readonly maxVersion: 'TLSv1.2' | 'TLSv1.3' | null;
}

export interface Http2ProtocolOptions {
  readonly maxConcurrentStreams: number; // 2147483647
  readonly initialStreamWindowSize: number; // 268435456
  readonly initialConnectionWindowSize: number; // 268435456
}

export interface ClusterConfig {
  readonly name: string;
  readonly type: DiscoveryType;
  readonly connectTimeoutMs: number; // 5000
  readonly lbPolicy: LbPolicy;
  readonly leastRequest: { readonly choiceCount: number; readonly activeRequestBias: number };
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number };
  readonly maglev: { readonly tableSize: number };
  readonly healthyPanicThreshold: number; // percent, default 50
  readonly loadAssignment: LoadAssignmentConfig | null; // null for EDS until assigned
  readonly edsServiceName: string | null;
  readonly healthChecks: readonly HealthCheckConfig[];
  readonly outlierDetection: OutlierDetectionConfig | null;
  readonly circuitBreakers: CircuitBreakerThresholds; // priority DEFAULT (HIGH is validated, never used)
  readonly http2: Http2ProtocolOptions | null; // upstream HTTP/2 when set
  readonly tls: UpstreamTlsConfig | null;
  readonly dnsRefreshRateMs: number; // 5000
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  readonly respectDnsTtl: boolean;
  readonly maxRequestsPerConnection: number; // 0 = unlimited
  readonly idleTimeoutMs: number; // upstream connection idle timeout, default 1 h
  readonly closeConnectionsOnHostHealthFailure: boolean;
  readonly ignoreHealthOnHostRemoval: boolean;
  /** ORIGINAL_DST clusters: how often hosts unused since the last sweep are dropped (default 5 s). */
  readonly cleanupIntervalMs: number;
  /** upstream_bind_config.source_address: the local address upstream connections come from. */
  readonly upstreamBindAddress: string | null;
}
