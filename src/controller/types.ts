// The controller's seams: what a registry source, the translator and the ADS server exchange.

import type { ResourceTypeUrl } from '../xds/type-urls';

/** Who is on the other end of an ADS stream, from `node.user_agent_name`. */
export type ClientKind = 'envoy' | 'ferry' | 'grpc' | 'unknown';

/** The connecting proxy's identity, parsed once from the first DiscoveryRequest's `node`. */
export interface NodeInfo {
  /** node.id, e.g. `sidecar~10.0.0.1~app-1.default~default.svc.cluster.local`, or a gRPC client's id. */
  readonly id: string;
  readonly cluster: string;
  /** node.metadata as plain JSON (Struct), e.g. {NAMESPACE, POD_NAME, SERVICE_ACCOUNT, LABELS, INSTANCE_IPS}. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  readonly userAgentName: string;
  readonly userAgentVersion: string;
  readonly clientFeatures: readonly string[];
  readonly kind: ClientKind;
}

/**
 * The resources a group of proxies is served: per type URL, resource name → plain object
 * (proto3-JSON-ish, snake_case or camelCase keys, nested Any as {'@type', ...}).
 * A type that is absent is not served (requests for it wait); present and empty means "none".
 */
export type Snapshot = Partial<Record<ResourceTypeUrl, ReadonlyMap<string, Record<string, unknown>>>>;

/**
 * When the source saw the events behind a new model: monotonic ms from `Clock.now()` (src/clock), the
 * same clock the controller reads, so the two can be compared.
 */
export interface ChangeTimes {
  readonly firstEventAt: number;
  readonly lastEventAt: number;
}

/** A registry: calls `onChange` with a complete, immutable model after each (re)load. */
export interface MeshSource<M = unknown> {
  /**
   * `times`: when the events behind the model happened, if the source knows; the controller's
   * quiet period runs from the last of them, so the source's own gathering and rebuilding overlap it.
   */
  start(onChange: (model: M, times?: ChangeTimes) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Pure: the resources one proxy should see. Proxies with equal `nodeKey`s must get equal results. */
export type Translator<M = unknown> = (model: M, node: NodeInfo) => Snapshot;

/** Groups proxies that see the same resources (one snapshot per key). */
export type NodeKeyFn = (node: NodeInfo) => string;
