// The ADS server's incremental streams: DeltaAggregatedResources calls, each with its DeltaState.
//
// The AdsServer owns the debouncer and the snapshot cache subscription; it hands this class the
// calls of the delta method and, on each debounced push, the node key and types that changed. A
// resource is encoded as an envoy.service.discovery.v3.Resource once for every stream (its version
// is its content hash); only the envelope (type, nonce, removals) is written per response.

import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Clock } from '../../clock/clock';
import type { Logger } from '../../observability/logger';
import { deltaResponseBytes, encodeDeltaResource, type DeltaDiscoveryRequestMsg } from '../../xds/delta-service';
import { PUSH_ORDER, shortTypeName, type ResourceTypeUrl } from '../../xds/type-urls';
import type { ControllerMetrics } from '../../observability/controller-metrics';
import type { NodeInfo, NodeKeyFn } from '../types';
import { wallIso, type SynczProxy, type SynczType } from './syncz';
import { DeltaState } from './delta-state';
import type { EncodedResource, SnapshotCache } from './snapshot-cache';
import { StreamRegistry } from './stream-registry';

export type DeltaCall = ServerDuplexStream<DeltaDiscoveryRequestMsg, Buffer>;

/** What the delta streams share with the server that owns them. */
export interface DeltaStreamsHost {
  readonly cache: SnapshotCache;
  readonly nodeKey: NodeKeyFn;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: ControllerMetrics;
  readonly onNodeConnect?: (node: NodeInfo, key: string) => void;
  readonly onNodeDisconnect?: (node: NodeInfo, key: string, remaining: number) => void;
  /** A stream number, from the same sequence as the state-of-the-world streams'. */
  nextStreamId(): number;
  /** State-of-the-world streams open for `key` (a key is let go when no stream of either kind uses it). */
  otherStreams(key: string): number;
}

export interface DeltaConn {
  readonly id: number;
  readonly call: DeltaCall;
  readonly state: DeltaState;
  /** Wall-clock ms. */
  readonly connectedAt: number;
  node: NodeInfo | null;
  key: string;
}

/** Resource messages by the encoded resource they carry, shared by every stream and node key. */
const resourceBytes = new WeakMap<EncodedResource, Buffer>();

function encoded(r: EncodedResource): Buffer {
  let b = resourceBytes.get(r);
  if (!b) {
    b = encodeDeltaResource(r.name, r.hash, r.any);
    resourceBytes.set(r, b);
  }
  return b;
}

export class DeltaStreams {
  private readonly streams: StreamRegistry<DeltaConn>;
  private nonceCounter = 0;

  constructor(private readonly host: DeltaStreamsHost) {
    this.streams = new StreamRegistry<DeltaConn>({
      cache: host.cache,
      nodeKey: host.nodeKey,
      log: host.log,
      metrics: host.metrics,
      requestName: 'DeltaDiscoveryRequest',
      logFields: { protocol: 'delta' },
      onNodeConnect: host.onNodeConnect,
      onNodeDisconnect: host.onNodeDisconnect,
      otherStreams: (key) => host.otherStreams(key),
    });
  }

  /** Delta streams that have identified their node. */
  get connectedCount(): number {
    return this.streams.connectedCount;
  }

  /** Delta streams open for node key `key`. */
  count(key: string): number {
    return this.streams.count(key);
  }

  /** Serves one DeltaAggregatedResources call until it ends. */
  handle(call: DeltaCall): void {
    const conn: DeltaConn = {
      id: this.host.nextStreamId(),
      call,
      state: new DeltaState(() => `d${++this.nonceCounter}`),
      connectedAt: this.host.clock.wallNow(),
      node: null,
      key: '',
    };
    this.streams.serve(conn, (req: DeltaDiscoveryRequestMsg) => this.onRequest(conn, req));
  }

  /** After a debounced snapshot change of `key`: each delta stream of the key, types in push order. */
  push(key: string, types: ReadonlySet<ResourceTypeUrl>, changeAt: number): void {
    const set = this.streams.byKey.get(key);
    if (!set) return;
    for (const conn of set) for (const typeUrl of PUSH_ORDER) if (types.has(typeUrl)) this.pushType(conn, typeUrl, changeAt);
  }

  /** One entry per identified delta stream; `pending` says which types of a key await a debounced push. */
  syncz(pending: (key: string) => ReadonlySet<string> | undefined): SynczProxy[] {
    const out: SynczProxy[] = [];
    for (const c of this.streams.conns.values()) {
      if (!c.node) continue;
      const waiting = pending(c.key);
      const types: Record<string, SynczType> = {};
      for (const typeUrl of c.state.typeUrls()) {
        const st = c.state.type(typeUrl)!;
        let s = c.state.status(typeUrl);
        if (s === 'SYNCED' && waiting?.has(typeUrl)) s = 'STALE';
        types[shortTypeName(typeUrl)] = {
          status: s,
          versionSent: st.sentVersion,
          versionAcked: st.ackedVersion,
          nonceSent: st.sentNonce,
          resources: st.held.size,
          lastNack: st.lastNack && { version: st.lastNack.version, message: st.lastNack.message, at: wallIso(this.host.clock, st.lastNack.at) },
        };
      }
      out.push({
        id: c.node.id,
        kind: c.node.kind,
        userAgent: `${c.node.userAgentName} ${c.node.userAgentVersion}`.trim(),
        nodeKey: c.key,
        stream: c.id,
        protocol: 'delta',
        connectedAt: new Date(c.connectedAt).toISOString(),
        types,
      });
    }
    return out;
  }

  /** The newest identified delta stream of proxy `id`, if any. */
  newest(id: string): DeltaConn | null {
    return this.streams.newest(id);
  }

  /**
   * What `conn`'s client holds, per type: resource objects where the version it holds is the one in
   * the current snapshot, else the name and version only (e.g. reported by a reconnecting client).
   */
  configDump(conn: DeltaConn): Record<string, unknown> {
    const snap = this.host.cache.get(conn.key);
    const types: Record<string, unknown> = {};
    for (const typeUrl of conn.state.typeUrls()) {
      const st = conn.state.type(typeUrl)!;
      const current = snap?.get(typeUrl as ResourceTypeUrl);
      types[typeUrl] = {
        version: st.sentVersion,
        status: conn.state.status(typeUrl),
        subscribed: st.wildcard ? ['*', ...[...st.names].sort()] : [...st.names].sort(),
        resources: conn.state.held(typeUrl).map(([name, version]) => {
          const r = current?.resources.get(name);
          return r && r.hash === version ? { '@type': typeUrl, ...r.object } : { name, version };
        }),
      };
    }
    return { proxy: conn.node?.id ?? '', kind: conn.node?.kind ?? 'unknown', protocol: 'delta', nodeKey: conn.key, node: conn.node, resources: types };
  }

  /** Ends every delta stream (server shutdown). */
  endAll(): void {
    this.streams.endAll();
  }

  private onRequest(conn: DeltaConn, req: DeltaDiscoveryRequestMsg): void {
    const now = this.host.clock.now();
    if (!this.streams.identify(conn, req.node) || !conn.node) return;
    const typeUrl = req.typeUrl ?? '';
    if (!typeUrl) {
      this.host.log.warn('DeltaDiscoveryRequest without type_url ignored', { proxy: conn.node.id });
      return;
    }
    const out = conn.state.onRequest(
      {
        typeUrl,
        subscribe: req.resourceNamesSubscribe ?? [],
        unsubscribe: req.resourceNamesUnsubscribe ?? [],
        initialVersions: req.initialResourceVersions ?? {},
        responseNonce: req.responseNonce ?? '',
        errorMessage: req.errorDetail ? (req.errorDetail.message ?? '') : null,
      },
      now,
    );
    const short = shortTypeName(typeUrl);
    if (out.kind === 'nack') {
      this.host.metrics?.nacksTotal.inc({ type: short });
      this.host.log.warn('proxy rejected configuration (NACK)', { proxy: conn.node.id, type: short, version: out.version, nonce: out.nonce, error: out.message, protocol: 'delta' });
    } else if (out.kind === 'ack') {
      this.host.metrics?.convergence.observe({ type: short }, out.convergenceMs / 1000);
    }
    if (out.respond) this.pushType(conn, typeUrl, now);
  }

  private pushType(conn: DeltaConn, typeUrl: string, changeAt: number): void {
    const ts = this.host.cache.get(conn.key)?.get(typeUrl as ResourceTypeUrl);
    const plan = conn.state.plan(typeUrl, ts, this.host.clock.now(), changeAt);
    if (!plan) return;
    conn.call.write(deltaResponseBytes(plan.systemVersion, typeUrl, plan.resources.map(encoded), plan.removed, plan.nonce));
    this.host.metrics?.pushesTotal.inc({ type: shortTypeName(typeUrl) });
    if (this.host.log.enabled('debug')) {
      this.host.log.debug('pushed', { proxy: conn.node?.id, type: shortTypeName(typeUrl), version: plan.systemVersion, nonce: plan.nonce, resources: plan.resources.length, removed: plan.removed.length, protocol: 'delta' });
    }
  }
}
