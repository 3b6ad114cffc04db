// The sidecar's xDS client: one ADS stream (state of the world) to the controller, resources
// translated at the boundary, applied in order, ACKed or NACKed with the field that was wrong.
//
// If the stream breaks, the proxy keeps serving its last configuration and reconnects with
// jittered back-off; on reconnect it tells the server which versions it already has.

import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import * as grpc from '@grpc/grpc-js';
import type { ClusterConfig, ListenerConfig, LoadAssignmentConfig, NodeConfig, RouteConfiguration } from '../../src/config/types';
import { adsClient, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from '../../src/xds/ads-service';
import { decodeResource } from '../../src/xds/protos';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/xds/type-urls';
import type { Logger } from '../../src/observability/logger';
import { resourceTranslators as translate } from './resource-translators';

/** A translated resource with the JSON it came from (to tell unchanged resources apart). */
export interface Versioned<T> {
  readonly name: string;
  readonly config: T;
  readonly raw: string;
}

/** What the proxy does with each type; an exception NACKs the whole response. */
export interface XdsHandlers {
  clusters(all: readonly Versioned<ClusterConfig>[]): Promise<void> | void;
  endpoints(all: readonly Versioned<LoadAssignmentConfig>[]): void;
  listeners(all: readonly Versioned<ListenerConfig>[]): Promise<void> | void;
  routes(all: readonly Versioned<RouteConfiguration>[]): Promise<void> | void;
  /** Names of EDS resources the current clusters need. */
  edsNames(): string[];
  /** Names of route configurations the current listeners need. */
  rdsNames(): string[];
  /** Told of each response once handled: its type's short name (`Cluster`, …), applied (ACK) or rejected (NACK). */
  responded?(kind: string, accepted: boolean): void;
}

interface TypeState {
  versionAcked: string;
  nonce: string;
  names: string[] | null; // null: wildcard
  /** Sent at least one request on this stream. */
  subscribed: boolean;
}

export interface XdsStatus {
  readonly connected: boolean;
  readonly types: Record<string, { versionAcked: string; lastNack: string | null; resources: number }>;
}

export class AdsClient {
  private client: grpc.Client | null = null;
  private call: grpc.ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg> | null = null;
  private readonly state = new Map<string, TypeState>();
  private readonly lastNack = new Map<string, string>();
  /** Names held per type: LDS/CDS responses replace them; RDS/EDS responses may carry only what changed, so they add. */
  private readonly held = new Map<string, Set<string>>();
  private retryMs = 0;
  private timer: Timer | null = null;
  private stopped = false;
  private connected = false;
  /** Serializes response handling so types apply in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private firstLds: (() => void) | null = null;
  readonly initialized: Promise<void>;

  constructor(
    private readonly target: string,
    private readonly credentials: grpc.ChannelCredentials,
    private readonly node: NodeConfig,
    private readonly want: { lds: boolean; cds: boolean },
    private readonly h: XdsHandlers,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
    /** The reconnect back-off's timer (default systemClock). */
    private readonly clock: Clock = systemClock,
  ) {
    this.initialized = new Promise((resolve) => (this.firstLds = resolve));
    if (!want.lds && this.firstLds) this.firstLds();
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE]) {
      this.state.set(t, { versionAcked: '', nonce: '', names: t === CLUSTER_TYPE || t === LISTENER_TYPE ? null : [], subscribed: false });
    }
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  private nodeMsg(): Record<string, unknown> {
    return {
      id: this.node.id,
      cluster: this.node.cluster,
      metadata: this.node.metadata,
      userAgentName: 'ferry',
      userAgentVersion: '0.1.0',
    };
  }

  private connect(): void {
    if (this.stopped) return;
    const Client = adsClient();
    this.client = new Client(this.target, this.credentials, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
    const call = (this.client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg> }).StreamAggregatedResources();
    this.call = call;
    let first = true;
    call.on('data', (res: DiscoveryResponseMsg) => {
      if (first) {
        first = false;
        this.connected = true;
        this.retryMs = 0;
        this.log.info('xds stream established', { target: this.target });
      }
      this.queue = this.queue.then(() => this.onResponse(res)).catch((err: unknown) => this.log.error('xds apply failed', { error: String(err) }));
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (!this.stopped) this.log.warn('xds stream failed; keeping the last configuration', { error: err.details || err.message });
    });
    call.on('close', () => this.onClosed(call));
    call.on('end', () => this.onClosed(call));
    // A fresh stream: ask again for everything, saying which versions we hold.
    for (const s of this.state.values()) {
      s.nonce = '';
      s.subscribed = false;
    }
    if (this.want.cds) this.send(CLUSTER_TYPE);
    if (this.want.lds) this.send(LISTENER_TYPE);
    this.updateEds();
    this.updateRds();
  }

  private onClosed(call: grpc.ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>): void {
    if (this.call !== call) return;
    this.call = null;
    this.connected = false;
    this.client?.close();
    this.client = null;
    if (this.stopped) return;
    // Jittered exponential back-off: 0.5 s doubling to 10 s, each delay drawn from [half, full].
    // The cap is lower than Envoy's 30 s so a restarted controller is back in sync quickly.
    this.retryMs = Math.min(10_000, this.retryMs === 0 ? 500 : this.retryMs * 2);
    const delay = Math.floor(this.retryMs / 2 + this.random() * (this.retryMs / 2));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.timer.unref();
  }

  private send(typeUrl: string, errorDetail?: { code: number; message: string }, version?: string): void {
    const s = this.state.get(typeUrl)!;
    const call = this.call;
    if (!call) return;
    s.subscribed = true;
    const req: DiscoveryRequestMsg = {
      versionInfo: version ?? s.versionAcked,
      node: this.nodeMsg(),
      resourceNames: s.names ?? [],
      typeUrl,
      responseNonce: s.nonce,
    };
    if (errorDetail) req.errorDetail = errorDetail;
    call.write(req);
  }

  private async onResponse(res: DiscoveryResponseMsg): Promise<void> {
    const typeUrl = res.typeUrl;
    const s = this.state.get(typeUrl);
    if (!s) {
      this.log.warn('xds response for an unknown type', { typeUrl });
      return;
    }
    s.nonce = res.nonce;
    let error: string | null = null;
    const kind = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
    try {
      const items = res.resources.map((any, i) => {
        const obj = decodeResource(any, `${kind}[${i}]`);
        const name = String((obj as { name?: unknown; clusterName?: unknown }).name ?? (obj as { clusterName?: unknown }).clusterName ?? '');
        return { name, obj, path: `${kind}[${i}]${name ? `(${name})` : ''}` };
      });
      switch (typeUrl) {
        case CLUSTER_TYPE:
          await this.h.clusters(items.map((x) => ({ name: x.name, config: translate[CLUSTER_TYPE](x.obj, x.path), raw: JSON.stringify(x.obj) })));
          break;
        case ENDPOINT_TYPE:
          this.h.endpoints(
            items.map((x) => ({ name: x.name, config: translate[ENDPOINT_TYPE](x.obj, x.path), raw: JSON.stringify(x.obj) })),
          );
          break;
        case LISTENER_TYPE:
          await this.h.listeners(items.map((x) => ({ name: x.name, config: translate[LISTENER_TYPE](x.obj, x.path), raw: JSON.stringify(x.obj) })));
          break;
        case ROUTE_TYPE:
          await this.h.routes(
            items.map((x) => ({ name: x.name, config: translate[ROUTE_TYPE](x.obj, x.path), raw: JSON.stringify(x.obj) })),
          );
          break;
      }
      const names = items.map((x) => x.name);
      if (typeUrl === CLUSTER_TYPE || typeUrl === LISTENER_TYPE) this.held.set(typeUrl, new Set(names));
      else {
        let h = this.held.get(typeUrl);
        if (!h) this.held.set(typeUrl, (h = new Set()));
        for (const n of names) h.add(n);
        // Names no longer subscribed to are no longer held.
        const wanted = new Set(typeUrl === ENDPOINT_TYPE ? this.h.edsNames() : this.h.rdsNames());
        for (const n of h) if (!wanted.has(n)) h.delete(n);
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (error !== null) {
      this.lastNack.set(typeUrl, error);
      this.log.warn('xds resource rejected (NACK); the last good configuration keeps serving', { typeUrl, version: res.versionInfo, error });
      // A NACK carries the last version we accepted and the nonce of what we reject.
      this.send(typeUrl, { code: 3 /* INVALID_ARGUMENT */, message: error });
      this.h.responded?.(kind, false);
      return;
    }
    s.versionAcked = res.versionInfo;
    this.lastNack.delete(typeUrl);
    this.send(typeUrl);
    this.h.responded?.(kind, true);
    if (typeUrl === CLUSTER_TYPE) this.updateEds();
    if (typeUrl === LISTENER_TYPE) {
      this.updateRds();
      this.firstLds?.();
      this.firstLds = null;
    }
  }

  private updateSubscription(typeUrl: string, names: string[]): void {
    const s = this.state.get(typeUrl)!;
    const sorted = [...new Set(names)].sort();
    const same = s.names !== null && s.names.length === sorted.length && s.names.every((n, i) => n === sorted[i]);
    if (same && s.subscribed) return;
    s.names = sorted;
    if (sorted.length === 0 && !s.subscribed) return;
    this.send(typeUrl);
  }

  private updateEds(): void {
    this.updateSubscription(ENDPOINT_TYPE, this.h.edsNames());
  }

  private updateRds(): void {
    this.updateSubscription(ROUTE_TYPE, this.h.rdsNames());
  }

  status(): XdsStatus {
    const types: XdsStatus['types'] = {};
    for (const [t, s] of this.state) {
      types[t.slice(t.lastIndexOf('.') + 1)] = { versionAcked: s.versionAcked, lastNack: this.lastNack.get(t) ?? null, resources: this.held.get(t)?.size ?? 0 };
    }
    return { connected: this.connected, types };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.call?.cancel();
    this.call = null;
    this.client?.close();
    this.client = null;
  }
}
