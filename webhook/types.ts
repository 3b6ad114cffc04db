// The slices of Kubernetes objects the injector reads and writes, plus JSON Patch and injection options.

export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface Probe {
  httpGet?: {
    path?: string;
    port?: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port?: number | string; host?: string };
  grpc?: { port?: number; service?: string };
  exec?: { command?: string[] };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort?: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  restartPolicy?: string;
  [key: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { name: string; [key: string]: unknown }[];
  hostNetwork?: boolean;
  [key: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: PodSpec;
  [key: string]: unknown;
}

export interface ResourceList {
  cpu?: string;
  memory?: string;
}

export interface ResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** What the injector needs to know about the mesh; the same for every pod. */
export interface InjectOptions {
  /** The Ferry image (runs `ferry proxy` and `ferry init`). */
  readonly image: string;
  /** Image for ferry-init when it differs. */
  readonly initImage?: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** host:port of the controller's mTLS gRPC port, e.g. `ferry-controller.ferry-system.svc:15012`. */
  readonly controllerAddress: string;
  readonly trustDomain: string;
  /** The cluster's Kubernetes minor version (1.x); ≥ 29 gets the proxy as a native sidecar. */
  readonly kubernetesMinor: number;
  /** Default proxy resources; per-pod annotations override single values. */
  readonly proxyResources?: ResourceRequirements;
  /**
   * Where the mesh's own components run (default ferry-system): pods there are never injected, and
   * the proxy expects the controller as spiffe://<trustDomain>/ns/<systemNamespace>/sa/ferry-controller.
   */
  readonly systemNamespace?: string;
  /**
   * The mesh root certificate(s), PEM, at most 64 KiB. Set: every injected pod carries it in the
   * `ferry.io/ca-root` annotation, mounted into the proxy as FERRY_CA_ROOT_FILE, so the proxy gets its
   * certificate from the controller's CA and speaks mTLS. Unset: the proxy runs without identity.
   */
  readonly caRootPem?: string;
  /** Whether the namespace asked for injection (the webhook's namespaceSelector did; default true). */
  readonly namespaceInjection?: boolean;
  /** Seconds the proxy drains connections on preStop (default 5). */
  readonly drainSeconds?: number;
  /** Recorded in the status annotation. */
  readonly version?: string;
}

/** Facts about the request that are not in the pod (the AdmissionRequest's namespace). */
export interface InjectContext {
  readonly namespace?: string;
}

export interface InjectResult {
  readonly patch: JsonPatchOp[];
  /** Why nothing was added; undefined when the pod was injected. */
  readonly skipped?: string;
}
