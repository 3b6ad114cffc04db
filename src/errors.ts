// Ferry's error classes: a stable `code` per failure an operator can act on, and the `cause`.
// ERROR_CODES is the one list of codes, each with what the user should do (docs/errors.md shows it).

/** Every error code Ferry raises, with what to do about it. */
export const ERROR_CODES = {
  FERRY_ERR_USAGE: 'A command-line flag or argument is wrong; the message names it. See `ferry <command> --help`.',
  FERRY_ERR_CONFIG: 'A configuration value is invalid; the message names its path. Fix that field. A pushed xDS resource with this error is NACKed and the last good configuration keeps serving.',
  FERRY_ERR_UNSUPPORTED: 'A valid Envoy field that Ferry does not implement (never silently ignored). Remove it; src/config/README.md lists what is supported.',
  FERRY_ERR_CONFIG_FILE: 'A configuration file could not be read or parsed; the message names the file and line. Fix its syntax or permissions.',
  FERRY_ERR_ADMIN: "The controller's admin endpoint did not answer as expected. Check that the controller runs and that --controller-admin names its admin address.",
  FERRY_ERR_AUTHN_UNAVAILABLE: "The controller could not check a workload's token (Kubernetes TokenReview unreachable or refused). Check the API server and that the controller's ServiceAccount may create TokenReviews.",
  FERRY_ERR_TOKEN: 'A bootstrap token was rejected (the reason is named: expired, bad signature, wrong audience). Issue a new token; check that clocks agree.',
  FERRY_ERR_TOKEN_KEY: 'The token signing key could not be read or written, or is shorter than 32 bytes. Check the file named and its permissions.',
  FERRY_ERR_TOKEN_TTL: 'A token lifetime below one second was asked for. Ask for a longer lifetime.',
  FERRY_ERR_CA_REQUEST: "The sidecar's certificate request failed; the gRPC status is named. Check that the controller is reachable on its xDS/CA port and that the workload's token is valid.",
  FERRY_ERR_CA_RESPONSE: "The CA's answer does not fit the request (empty chain, another identity or another key). Check the controller's CA configuration; the sidecar keeps its current certificate and retries.",
  FERRY_ERR_CA_SIGNING: 'The CA could not sign: its certificate is expired, not yet valid, or outlives its issuer. Renew the intermediate CA (`ferry certs intermediate`).',
  FERRY_ERR_IDENTITY_STOPPED: 'The sidecar stopped before its first certificate was issued (usually a shutdown during start-up). Nothing to do unless it repeats.',
  FERRY_ERR_CSR_REJECTED: "A certificate signing request was rejected (the reason is named: bad signature, key type, or an identity the caller's token does not prove).",
  FERRY_ERR_ISSUER_CONFIG: "The issuing CA's certificate, key or lifetimes are unusable (not a CA, not ECDSA P-256, bad lifetimes). Regenerate them with `ferry certs`.",
  FERRY_ERR_ISSUER_UNAVAILABLE: 'No CA is loaded to sign with (not loaded yet, or expired). Check the controller log and its --ca-dir.',
  FERRY_ERR_CERTS_FILE: 'A certificate or key file could not be read, written or parsed; the message names it. Check the path, permissions and that key and certificate belong together.',
  FERRY_ERR_CERTS_EXISTS: 'Refusing to overwrite an existing CA key. Choose another directory, or pass --force to replace it.',
  FERRY_ERR_CERTS_TTL: 'A certificate lifetime below one second was asked for. Ask for a longer lifetime.',
  FERRY_ERR_CHAIN: 'A certificate chain does not verify against the trust bundle (the reason is named: expired, unknown issuer, …). Check the roots the peers trust.',
  FERRY_ERR_TRUST_BUNDLE: 'A trust bundle is malformed or empty. Check the bundle file (PEM certificates of CAs).',
  FERRY_ERR_ROOT_ROTATION: 'A `ferry certs rotate-root` step was refused: a sidecar does not yet trust the new root, still holds a certificate from the old one, or the CA directory is not in the state the step needs. The message names the sidecars or files; wait for their renewal (or `POST /identity/renew` on their admin port) and run the step again.',
  FERRY_ERR_SPIFFE_ID: 'A SPIFFE ID is malformed; it must look like spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.',
  FERRY_ERR_IPTABLES: "`ferry init` could not program iptables. It needs NET_ADMIN and NET_RAW, the iptables binaries, and the host's backend (legacy or nft, see --iptables-mode).",
  FERRY_ERR_NATIVE_MISSING: 'The SO_ORIGINAL_DST addon is not built or does not load. Run `make build` (it builds sidecar/native).',
  FERRY_ERR_ORIGINAL_DST: "A socket's original destination could not be read (closed, or not a redirected TCP socket).",
  FERRY_ERR_H2_ABUSE: 'The proxy closed a downstream HTTP/2 connection: its client reset streams faster than the budget allows (rapid reset), or stopped answering PINGs. Fix the client; ferry_downstream_connections_closed_for_abuse_total counts these.',
  FERRY_ERR_FILTER_REGISTRY: 'A user HTTP filter could not be registered (no type URL or name, or one already registered). Give each filter its own type URL.',
  FERRY_ERR_UP_START: '`ferry up` could not start a part of the mesh (the controller, a sidecar or an app container), or a pod did not become ready in time. The message names the workload and its log file; fix the manifest or the program and run again.',
  FERRY_ERR_CHECK_TARGETS: "`ferry check` could not learn which sidecars to check: the `ferry up` state file is unreadable, or the controller's /api/targets did not answer. Name them with --state FILE or --controller URL.",
  FERRY_ERR_DASHBOARD_FILES: "The controller's dashboard cannot find its files: its page (src/controller/dashboard/static/ in the repository) or the cytoscape and uplot packages. Run the controller from a full checkout with `npm ci` done; the controller keeps running without the dashboard.",
  FERRY_ERR_BENCH_ARGS: 'A benchmark argument is wrong; the message lists the known values.',
  FERRY_ERR_BENCH_TOOLS: 'A benchmark tool is missing. Run `make bench` (it installs them) or the install command printed.',
  FERRY_ERR_BENCH_PROCESS: 'A process the benchmark started exited early or could not be read; its exit and output are shown.',
  FERRY_ERR_BENCH_HEALTH: 'A process the benchmark started did not become ready in time.',
  FERRY_ERR_BENCH_LOAD: 'The load generator failed; its output is shown.',
  FERRY_ERR_BENCH_FORTIO: "fortio's result file lacks a field the benchmark reads (a fortio version it does not know).",
  FERRY_ERR_BENCH_XDS: 'The xDS simulator reported an error or did not answer in time.',
  FERRY_ERR_BENCH_XDS_SIM_BUILD: 'The Go xDS simulator (bench/xdssim) did not build. Check that Go is installed; the go command and its output are shown.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class FerryError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration value is wrong; `path` names where (`static_resources.clusters[1].lb_policy`). */
export class ConfigError extends FerryError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CONFIG', path ? `${path}: ${message}` : message, options);
    this.path = path;
  }
}

/** A configuration field is valid Envoy but Ferry does not implement it; never silently ignored. */
export class UnsupportedConfigError extends ConfigError {
  constructor(path: string, message: string) {
    super(path, message);
    (this as { code: ErrorCode }).code = 'FERRY_ERR_UNSUPPORTED';
  }
}

/** A file could not be read or parsed (YAML/JSON syntax); names the file and line. */
export class ConfigFileError extends FerryError {
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('FERRY_ERR_CONFIG_FILE', `${file}: ${message}`, options);
  }
}
