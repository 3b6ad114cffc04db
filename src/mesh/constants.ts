// The mesh's well-known ports, identities, labels and annotations: change them here and nowhere else.

// ───────────────────────────── ports ─────────────────────────────

/** The sidecar's outbound capture listener (iptables OUTPUT → REDIRECT). */
export const PORT_OUTBOUND_CAPTURE = 15001;
/** The sidecar's inbound capture listener (iptables PREROUTING → REDIRECT). */
export const PORT_INBOUND_CAPTURE = 15006;
/** The sidecar's admin server; bound to 127.0.0.1 only. */
export const PORT_ADMIN = 15000;
/** The sidecar's health port: `/healthz/ready` and the rewritten app probes `/app-health/...`. */
export const PORT_HEALTH = 15020;
/** The sidecar's Prometheus endpoint. */
export const PORT_METRICS = 15090;
/** The controller's gRPC port: xDS and CA over mTLS. */
export const PORT_CONTROLLER_GRPC = 15012;
/** The controller's plaintext xDS port, for proxyless gRPC clients (off by default in Kubernetes). */
export const PORT_CONTROLLER_XDS_PLAINTEXT = 15010;
/** The injection webhook's HTTPS port. */
export const PORT_WEBHOOK = 15017;

/** The sidecar's own ports, which inbound capture must never redirect. */
export const PROXY_OWN_PORTS: readonly number[] = Object.freeze([
  PORT_ADMIN,
  PORT_OUTBOUND_CAPTURE,
  PORT_INBOUND_CAPTURE,
  PORT_HEALTH,
  PORT_METRICS,
]);

// ───────────────────────────── identities and addresses ─────────────────────────────

/** The proxy's user id; traffic from this UID is never captured again. */
export const PROXY_UID = 1337;
/** The proxy's group id (also excluded from capture, so tools can run as the proxy group). */
export const PROXY_GID = 1337;
/** Source address of the inbound hop sidecar → app, so iptables can tell it from app traffic. */
export const INBOUND_PASSTHROUGH_SOURCE_V4 = '127.0.0.6';
/** The IPv6 counterpart of INBOUND_PASSTHROUGH_SOURCE_V4 (must be added to `lo` to be bindable). */
export const INBOUND_PASSTHROUGH_SOURCE_V6 = '::6';
/** The ServiceAccount token audience the controller's CA accepts. */
export const CA_TOKEN_AUDIENCE = 'ferry-ca';
/** The default SPIFFE trust domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
/** The namespace the mesh's own components run in by default. */
export const DEFAULT_SYSTEM_NAMESPACE = 'ferry-system';
/** The controller's Service name (address: `<name>.<system-namespace>.svc:15012`). */
export const CONTROLLER_SERVICE_NAME = 'ferry-controller';

// ───────────────────────────── labels ─────────────────────────────

/** Namespace label (`enabled`) the webhook configuration selects; also a pod label/annotation. */
export const LABEL_INJECT = 'ferry.io/inject';
export const INJECT_ENABLED = 'enabled';
export const INJECT_DISABLED = 'disabled';
/** Label on the mesh's own pods (controller, webhook); such pods are never injected. */
export const LABEL_COMPONENT = 'ferry.io/component';

// ───────────────────────────── annotations ─────────────────────────────

/** Pod annotation that overrides the namespace label (`enabled` / `disabled`). */
export const ANNOTATION_INJECT = 'ferry.io/inject';
/** What injection added; its presence makes injection idempotent. */
export const ANNOTATION_STATUS = 'ferry.io/status';
/** Capture options read by `ferry init` (comma-separated lists; `*` = all). */
export const ANNOTATION_EXCLUDE_INBOUND_PORTS = 'ferry.io/exclude-inbound-ports';
export const ANNOTATION_INCLUDE_INBOUND_PORTS = 'ferry.io/include-inbound-ports';
export const ANNOTATION_EXCLUDE_OUTBOUND_PORTS = 'ferry.io/exclude-outbound-ports';
export const ANNOTATION_EXCLUDE_OUTBOUND_CIDRS = 'ferry.io/exclude-outbound-cidrs';
export const ANNOTATION_INCLUDE_OUTBOUND_CIDRS = 'ferry.io/include-outbound-cidrs';
/** Per-pod proxy resources (Kubernetes quantities). */
export const ANNOTATION_PROXY_CPU = 'ferry.io/proxy-cpu';
export const ANNOTATION_PROXY_MEMORY = 'ferry.io/proxy-memory';
export const ANNOTATION_PROXY_CPU_LIMIT = 'ferry.io/proxy-cpu-limit';
export const ANNOTATION_PROXY_MEMORY_LIMIT = 'ferry.io/proxy-memory-limit';
/** `false` keeps the app's probes as they are (they then bypass the sidecar only if excluded). */
export const ANNOTATION_REWRITE_PROBES = 'ferry.io/rewrite-app-probes';
/** `false` forces the pre-1.29 layout (proxy as a regular container) for this pod. */
export const ANNOTATION_NATIVE_SIDECAR = 'ferry.io/native-sidecar';

// ───────────────────────────── injected objects ─────────────────────────────

export const CONTAINER_INIT = 'ferry-init';
export const CONTAINER_PROXY = 'ferry-proxy';
export const VOLUME_TOKEN = 'ferry-token';
export const VOLUME_DATA = 'ferry-data';
export const VOLUME_INIT_RUN = 'ferry-init-run';
/** Where the projected ServiceAccount token (audience `ferry-ca`) is mounted in the proxy. */
export const TOKEN_MOUNT_PATH = '/var/run/secrets/ferry/tokens';
export const TOKEN_FILE_NAME = 'ferry-token';

/** The controller's ServiceAccount (fixed by the chart); with the system namespace it names 15012's SPIFFE ID. */
export const CONTROLLER_SERVICE_ACCOUNT = 'ferry-controller';
/** Pod annotation that carries the mesh root certificate (PEM) into the pod. */
export const ANNOTATION_CA_ROOT = 'ferry.io/ca-root';
/** The downward API volume that turns ANNOTATION_CA_ROOT into a file. */
export const VOLUME_CA_ROOT = 'ferry-ca-root';
/** Where the proxy finds the mesh root (FERRY_CA_ROOT_FILE): beside the token, outside the writable data dir. */
export const CA_ROOT_MOUNT_PATH = '/var/run/secrets/ferry/ca';
export const CA_ROOT_FILE_NAME = 'root-cert.pem';
/** The proxy's writable in-memory directory (keys, sockets); the root filesystem is read-only. */
export const DATA_MOUNT_PATH = '/var/run/ferry';
/** Path prefix of rewritten probes on the health port: `/app-health/<container>/<kind>`. */
export const APP_HEALTH_PATH_PREFIX = '/app-health/';
/** The sidecar's readiness path on the health port. */
export const READY_PATH = '/healthz/ready';
/** Env var carrying the app's original probes (JSON) to the sidecar. */
export const ENV_APP_PROBES = 'FERRY_APP_PROBES';
/** The injected sidecar's preStop drain time (`ferry drain --seconds`, the injector's `drainSeconds`). */
export const DEFAULT_DRAIN_SECONDS = 5;
/** `ferry drain --quiet-ms`: no new inbound request for this long means callers have the endpoint update (decision 0035). */
export const DEFAULT_DRAIN_QUIET_MS = 1000;
