// The sidecar's Envoy v3 bootstrap in a pod, built from the injected FERRY_* environment (pure).
//
// The injector gives the proxy its pod name, namespace, service account, pod IP(s), controller address
// and trust domain as env vars (webhook/inject.ts). From them this module builds the bootstrap a
// Kubernetes sidecar runs: an Istio-style node (id `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`
// and metadata the controller reads), the admin server on 127.0.0.1, and ADS (LDS + CDS) to a static
// `xds-grpc` cluster pointing at the controller over HTTP/2. The result is a plain object that
// src/config/bootstrap.ts `translateBootstrap` (and `envoy --mode validate`) accept.

import { isIpLiteral } from '../../src/config/endpoints';
import { ConfigError } from '../../src/errors';
import { DEFAULT_TRUST_DOMAIN, PORT_ADMIN } from '../../src/mesh/constants';

/** The name of the static cluster that carries ADS to the controller. */
export const XDS_CLUSTER_NAME = 'xds-grpc';

/** Who this sidecar is and where its controller lives, from env (and flags). */
export interface PodEnvironment {
  readonly podName: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podIp: string;
  /** Every pod IP (dual stack); the first is podIp. */
  readonly podIps: readonly string[];
  readonly trustDomain: string;
  readonly controller: { readonly host: string; readonly port: number };
  readonly labels: Readonly<Record<string, string>> | null;
  /** The workload (its Deployment, or the pod's owner) from FERRY_WORKLOAD_NAME; null when unset. */
  readonly workloadName: string | null;
  /** node.cluster: the `app` label (or app.kubernetes.io/name) or the service account, `.<ns>`. */
  readonly serviceCluster: string;
  /** Bind mode: `PORT:APP_PORT,…` (FERRY_APP_PORTS), the node metadata APP_PORTS; null when unset. */
  readonly appPorts: string | null;
}

/** Flag values that take precedence over the env. */
export interface PodOverrides {
  readonly controllerAddress?: string;
  readonly labels?: string;
  readonly serviceCluster?: string;
}

/**
 * mTLS to the controller. It comes with the workload-identity work (a certificate for
 * spiffe://<trust-domain>/ns/<ns>/sa/<sa> and the mesh root); until then the ADS stream is
 * plaintext and this is always null.
 */
export type ControllerTls = null;

export interface PodBootstrapOptions {
  /** Admin port on 127.0.0.1 (default 15000; tests use 0). */
  readonly adminPort?: number;
  /** TODO(identity): mTLS to the controller; null = plaintext ADS (the only choice for now). */
  readonly tls?: ControllerTls;
  /** connect_timeout of the xds-grpc cluster (default 1 s). */
  readonly connectTimeoutSeconds?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string, what: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(name, `is required (${what}); is this running in an injected pod?`);
  return v;
}

/** Parses "host:port" or "[v6]:port"; `source` names the env var or flag in messages. */
export function parseControllerAddress(v: string, source: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (!m) throw new ConfigError(source, `"${v}" is not host:port (IPv6 as [addr]:port)`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new ConfigError(source, `port ${m[2]} is out of range 1–65535`);
  const host = m[1];
  if (!isIpLiteral(host) && !DNS_SUBDOMAIN.test(host.toLowerCase())) throw new ConfigError(source, `"${host}" is neither an IP address nor a DNS name`);
  return { host, port };
}

/** Labels as a JSON object or `k=v,k2=v2`. */
export function parseLabels(v: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = v.trim();
  if (t === '') return out;
  let pairs: [string, unknown][];
  if (t.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(t);
    } catch (e) {
      throw new ConfigError(source, `is not a JSON object: ${(e as Error).message}`, { cause: e });
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(source, 'must be a JSON object');
    pairs = Object.entries(doc);
  } else {
    pairs = t.split(',').map((p) => {
      const eq = p.indexOf('=');
      if (eq < 0) throw new ConfigError(source, `"${p.trim()}" is not key=value`);
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    });
  }
  for (const [k, val] of pairs) {
    if (!LABEL_KEY.test(k)) throw new ConfigError(`${source}[${JSON.stringify(k)}]`, 'is not a valid label key');
    if (typeof val !== 'string' || val.length > 63 || !LABEL_VALUE.test(val)) {
      throw new ConfigError(`${source}[${JSON.stringify(k)}]`, `${JSON.stringify(val)} is not a valid label value`);
    }
    out[k] = val;
  }
  return out;
}

/** Reads the injected FERRY_* env (flags in `overrides` win). Errors name the variable. */
export function podEnvironment(env: Env, overrides: PodOverrides = {}): PodEnvironment {
  const podName = required(env, 'FERRY_POD_NAME', 'downward API metadata.name');
  const namespace = required(env, 'FERRY_POD_NAMESPACE', 'downward API metadata.namespace');
  if (!DNS_LABEL.test(namespace)) throw new ConfigError('FERRY_POD_NAMESPACE', `"${namespace}" is not a namespace name`);
  const serviceAccount = env.FERRY_SERVICE_ACCOUNT?.trim() || 'default';
  const podIp = required(env, 'FERRY_POD_IP', 'downward API status.podIP');
  if (!isIpLiteral(podIp)) throw new ConfigError('FERRY_POD_IP', `"${podIp}" is not an IP address`);
  const podIps = [podIp];
  for (const ip of (env.FERRY_POD_IPS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isIpLiteral(ip)) throw new ConfigError('FERRY_POD_IPS', `"${ip}" is not an IP address`);
    if (!podIps.includes(ip)) podIps.push(ip);
  }
  const controllerSource = overrides.controllerAddress !== undefined ? '--controller-address' : 'FERRY_CONTROLLER_ADDRESS';
  const controller = parseControllerAddress(
    overrides.controllerAddress ?? required(env, 'FERRY_CONTROLLER_ADDRESS', 'host:port of the controller'),
    controllerSource,
  );
  const trustDomain = env.FERRY_TRUST_DOMAIN?.trim() || DEFAULT_TRUST_DOMAIN;
  if (!DNS_SUBDOMAIN.test(trustDomain)) throw new ConfigError('FERRY_TRUST_DOMAIN', `"${trustDomain}" is not a trust domain (a DNS name)`);
  const labelText = overrides.labels ?? env.FERRY_POD_LABELS;
  const labels = labelText === undefined ? null : parseLabels(labelText, overrides.labels !== undefined ? '--labels' : 'FERRY_POD_LABELS');
  const app = labels?.app ?? labels?.['app.kubernetes.io/name'];
  const serviceCluster = overrides.serviceCluster ?? (env.FERRY_SERVICE_CLUSTER?.trim() || `${app ?? serviceAccount}.${namespace}`);
  const appPorts = env.FERRY_APP_PORTS?.trim() || null;
  const workloadName = env.FERRY_WORKLOAD_NAME?.trim() || null;
  return Object.freeze({ podName, namespace, serviceAccount, podIp, podIps: Object.freeze(podIps), trustDomain, controller, labels, workloadName, serviceCluster, appPorts });
}

/** The Envoy v3 bootstrap (as parsed JSON/YAML would give it) for a sidecar in this pod. */
export function podBootstrap(pod: PodEnvironment, options: PodBootstrapOptions = {}): Record<string, unknown> {
  const adminPort = options.adminPort ?? PORT_ADMIN;
  const staticIp = isIpLiteral(pod.controller.host);
  const metadata: Record<string, unknown> = {
    NAMESPACE: pod.namespace,
    POD_NAME: pod.podName,
    POD_IP: pod.podIp,
    SERVICE_ACCOUNT: pod.serviceAccount,
    INSTANCE_IPS: pod.podIps.join(','),
    TRUST_DOMAIN: pod.trustDomain,
  };
  if (pod.labels) metadata.LABELS = { ...pod.labels };
  if (pod.workloadName) metadata.WORKLOAD_NAME = pod.workloadName;
  if (pod.appPorts) metadata.APP_PORTS = pod.appPorts;
  const xdsCluster: Record<string, unknown> = {
    name: XDS_CLUSTER_NAME,
    // An IP needs no resolution; a Service name is re-resolved like any DNS cluster.
    type: staticIp ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: `${options.connectTimeoutSeconds ?? 1}s`,
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: XDS_CLUSTER_NAME,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: pod.controller.host, port_value: pod.controller.port } } } }] }],
    },
  };
  // TODO(identity): when options.tls is set, add an UpstreamTlsContext transport_socket here
  // (workload certificate + mesh root, SAN = the controller's SPIFFE ID). Until then: plaintext.
  if (options.tls != null) throw new ConfigError('tls', 'mTLS to the controller is not implemented yet');
  const ads = { ads: {}, resource_api_version: 'V3' };
  return {
    node: {
      id: `sidecar~${pod.podIp}~${pod.podName}.${pod.namespace}~${pod.namespace}.svc.cluster.local`,
      cluster: pod.serviceCluster,
      metadata,
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }],
        set_node_on_first_message_only: true,
      },
      lds_config: ads,
      cds_config: ads,
    },
    static_resources: { clusters: [xdsCluster] },
  };
}
