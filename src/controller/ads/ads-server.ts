// The ADS server: state-of-the-world and delta xDS over grpc-js, fed by the snapshot cache, with debounced pushes.

import { Server, ServerCredentials, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { systemClock, type Clock, type Timer } from '../../clock/clock';
import { Logger, rootLogger } from '../../observability/logger';
import { adsServiceDefinition, encodeResponseBody, withNonce, type DiscoveryRequestMsg } from '../../xds/ads-service';
import { PUSH_ORDER, shortTypeName, type ResourceTypeUrl } from '../../xds/type-urls';
import type { ControllerMetrics } from '../../observability/controller-metrics';
import type { NodeInfo, NodeKeyFn } from '../types';
import { DebounceState } from './debounce';
import { DeltaStreams, type DeltaCall } from './delta-streams';
import type { SnapshotCache, TypeSnapshot } from './snapshot-cache';
import { StreamRegistry } from './stream-registry';
import { StreamState, type PlannedResponse } from './stream-state';
import { wallIso, type SynczProxy, type SynczType } from './syncz';

export interface AdsServerOptions {
  readonly cache: SnapshotCache;
  /** Groups nodes that share a snapshot; default: the node id. */
  readonly nodeKey?: NodeKeyFn;
  /** A node connected whose key has no snapshot yet: the controller should set one. */
  readonly onNodeConnect?: (node: NodeInfo, key: string) => void;
  /** A stream closed; `remaining` streams still use `key`. */
  readonly onNodeDisconnect?: (node: NodeInfo, key: string, remaining: number) => void;
  /** Quiet period before a snapshot change is pushed (default 100 ms; 0 pushes at once). */
  readonly debounceMs?: number;
  /** Upper bound on the delay of a push under a steady stream of changes (default 10 × debounceMs, ≥ 1 s). */
  readonly maxDebounceMs?: number;
  readonly metrics?: ControllerMetrics;
  readonly logger?: Logger;
  /** Time and timers (default systemClock): tests drive the debouncer with a FakeClock. Change times are its now(). */
  readonly clock?: Clock;
  /** Further services on the same gRPC server and ports (the CA); each port's credentials decide who may call what. */
  readonly extraServices?: readonly { readonly definition: ServiceDefinition; readonly implementation: UntypedServiceImplementation }[];
}

type Call = ServerDuplexStream<DiscoveryRequestMsg, Buffer>;

interface Conn {
  readonly id: number;
  readonly call: Call;
  readonly state: StreamState;
  /** Wall-clock ms. */
  readonly connectedAt: number;
  node: NodeInfo | null;
  key: string;
}

const MAX_CACHED_BODIES = 256;

export class AdsServer {
  private readonly cache: SnapshotCache;
  private readonly nodeKey: NodeKeyFn;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly debounce: DebounceState;
  /** The state-of-the-world streams. */
  private readonly streams: StreamRegistry<Conn>;
  private readonly pending = new Map<string, { types: Set<ResourceTypeUrl>; since: number }>();
  private timer: Timer | null = null;
  private armedFor = 0;
  private server: Server | null = null;
  private nextConnId = 1;
  private nonceCounter = 0;
  private holding = 0;
  /** While a batch runs: when the source events behind its changes happened. */
  private batchTimes: { readonly firstAt: number; readonly lastAt: number } | null = null;
  private readonly unsubscribe: () => void;
  private readonly delta: DeltaStreams;

  constructor(private readonly opts: AdsServerOptions) {
    this.cache = opts.cache;
    this.nodeKey = opts.nodeKey ?? ((n) => n.id);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? rootLogger.child('ads');
    const quiet = opts.debounceMs ?? 100;
    this.debounce = new DebounceState(quiet, Math.max(quiet, opts.maxDebounceMs ?? Math.max(1000, quiet * 10)));
    this.delta = new DeltaStreams({
      cache: this.cache,
      nodeKey: this.nodeKey,
      clock: this.clock,
      log: this.log,
      metrics: opts.metrics,
      onNodeConnect: opts.onNodeConnect,
      onNodeDisconnect: opts.onNodeDisconnect,
      nextStreamId: () => this.nextConnId++,
      otherStreams: (key) => this.streams.count(key),
    });
    this.streams = new StreamRegistry<Conn>({
      cache: this.cache,
      nodeKey: this.nodeKey,
      log: this.log,
      metrics: opts.metrics,
      requestName: 'DiscoveryRequest',
      onNodeConnect: opts.onNodeConnect,
      onNodeDisconnect: opts.onNodeDisconnect,
      otherStreams: (key) => this.delta.count(key),
    });
    this.unsubscribe = this.cache.onChange((key, types, changeAt) => this.onSnapshotChange(key, types, changeAt));
  }

  /** Binds the ADS service on `address` (host:port; port 0 picks one); may be called for several ports. */
  async listen(address: string, credentials = ServerCredentials.createInsecure()): Promise<number> {
    if (!this.server) {
      this.server = new Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
      this.server.addService(adsServiceDefinition(), {
        StreamAggregatedResources: (call: Call) => this.handleStream(call),
        DeltaAggregatedResources: (call: DeltaCall) => this.delta.handle(call),
      });
      for (const svc of this.opts.extraServices ?? []) this.server.addService(svc.definition, svc.implementation);
    }
    const server = this.server;
    return new Promise((resolve, reject) => {
      server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Ends every stream and stops the server (forcefully after `graceMs`). */
  async close(graceMs = 1000): Promise<void> {
    this.unsubscribe();
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.streams.endAll();
    this.delta.endAll();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      // The grace period bounds real network shutdown, so it runs on real time even under a test clock.
      const t = systemClock.setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        systemClock.clearTimeout(t);
        resolve();
      });
    });
  }

  /** Number of open streams that have identified their node. */
  get connectedCount(): number {
    return this.streams.connectedCount + this.delta.connectedCount;
  }

  /**
   * Runs `fn` (which sets snapshots) with pushes held, then pushes all it changed as one flush (at
   * once without a debounce period). `times`: when the events behind the change happened (≤ now);
   * the quiet period then runs from `lastAt` rather than from now, so the work of the source and of
   * translation overlaps it instead of adding to it.
   */
  batch(fn: () => void, times?: { readonly firstAt: number; readonly lastAt: number }): void {
    this.holding++;
    const outer = this.batchTimes;
    if (times) this.batchTimes = times;
    try {
      fn();
    } finally {
      this.batchTimes = outer;
      if (--this.holding === 0 && this.debounce.quietMs === 0 && this.pending.size > 0) this.flush();
    }
  }

  /** Pushes pending changes now instead of at the end of the debounce period. */
  flush(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.debounce.fire(Number.MAX_SAFE_INTEGER);
    const start = this.clock.now();
    const pending = [...this.pending];
    this.pending.clear();
    for (const [key, p] of pending) {
      for (const conn of this.streams.byKey.get(key) ?? []) {
        for (const typeUrl of PUSH_ORDER) if (p.types.has(typeUrl)) this.push(conn, typeUrl, p.since, false);
      }
      this.delta.push(key, p.types, p.since);
    }
    if (pending.length > 0) this.opts.metrics?.pushDuration.observe((this.clock.now() - start) / 1000);
  }

  syncz(): SynczProxy[] {
    const out: SynczProxy[] = [];
    for (const c of this.streams.conns.values()) {
      if (!c.node) continue;
      const pending = this.pending.get(c.key);
      const types: Record<string, SynczType> = {};
      for (const typeUrl of c.state.typeUrls()) {
        const st = c.state.type(typeUrl)!;
        let s = c.state.status(typeUrl);
        if (s === 'SYNCED' && pending?.types.has(typeUrl as ResourceTypeUrl)) s = 'STALE';
        types[shortTypeName(typeUrl)] = {
          status: s,
          versionSent: st.sentVersion,
          versionAcked: st.ackedVersion,
          nonceSent: st.sentNonce,
          resources: st.sentCount,
          lastNack: st.lastNack && { version: st.lastNack.version, message: st.lastNack.message, at: wallIso(this.clock, st.lastNack.at) },
        };
      }
      out.push({
        id: c.node.id,
        kind: c.node.kind,
        userAgent: `${c.node.userAgentName} ${c.node.userAgentVersion}`.trim(),
        nodeKey: c.key,
        stream: c.id,
        protocol: 'sotw',
        connectedAt: new Date(c.connectedAt).toISOString(),
        types,
      });
    }
    out.push(...this.delta.syncz((key) => this.pending.get(key)?.types));
    return out.sort((a, b) => a.id.localeCompare(b.id) || a.stream - b.stream);
  }

  /** The resources last sent to proxy `id` (its newest stream), as plain objects; null if not connected. */
  configDump(id: string): Record<string, unknown> | null {
    const conn = this.streams.newest(id);
    const delta = this.delta.newest(id);
    if (delta && (!conn || delta.id > conn.id)) return this.delta.configDump(delta);
    if (!conn || !conn.node) return null;
    const types: Record<string, unknown> = {};
    for (const typeUrl of conn.state.typeUrls()) {
      const st = conn.state.type(typeUrl)!;
      types[typeUrl] = {
        version: st.sentVersion,
        status: conn.state.status(typeUrl),
        resources: conn.state.held(typeUrl).map((r) => ({ '@type': typeUrl, ...r.object })),
      };
    }
    return { proxy: id, kind: conn.node.kind, protocol: 'sotw', nodeKey: conn.key, node: conn.node, resources: types };
  }

  // ───────────────────────────── streams ─────────────────────────────

  private handleStream(call: Call): void {
    const conn: Conn = {
      id: this.nextConnId++,
      call,
      state: new StreamState(() => String(++this.nonceCounter)),
      connectedAt: this.clock.wallNow(),
      node: null,
      key: '',
    };
    this.streams.serve(conn, (req: DiscoveryRequestMsg) => this.onRequest(conn, req));
  }

  private onRequest(conn: Conn, req: DiscoveryRequestMsg): void {
    const now = this.clock.now();
    if (!this.streams.identify(conn, req.node) || !conn.node) return;
    const typeUrl = req.typeUrl ?? '';
    if (!typeUrl) {
      this.log.warn('DiscoveryRequest without type_url ignored', { proxy: conn.node.id });
      return;
    }
    const out = conn.state.onRequest(
      {
        typeUrl,
        versionInfo: req.versionInfo ?? '',
        // A getter: names are decoded only if the stream finds the subscription changed.
        get resourceNames() {
          return req.resourceNames ?? [];
        },
        resourceNamesRaw: (req as { resourceNamesRaw?: Buffer }).resourceNamesRaw,
        responseNonce: req.responseNonce ?? '',
        errorMessage: req.errorDetail ? (req.errorDetail.message ?? '') : null,
      },
      now,
    );
    const short = shortTypeName(typeUrl);
    if (out.kind === 'nack') {
      this.opts.metrics?.nacksTotal.inc({ type: short });
      this.log.warn('proxy rejected configuration (NACK)', { proxy: conn.node.id, type: short, version: out.version, error: out.message });
    } else if (out.kind === 'ack' && out.convergenceMs !== null) {
      this.opts.metrics?.convergence.observe({ type: short }, out.convergenceMs / 1000);
    }
    if (out.kind !== 'stale' && out.respond) this.push(conn, typeUrl, now, out.kind === 'subscribe');
  }

  private push(conn: Conn, typeUrl: string, changeAt: number, force: boolean): void {
    const ts = this.cache.get(conn.key)?.get(typeUrl as ResourceTypeUrl);
    const plan = conn.state.plan(typeUrl, ts, this.clock.now(), changeAt, force);
    if (!plan || !ts) return;
    conn.call.write(withNonce(this.body(ts, plan), plan.nonce));
    this.opts.metrics?.pushesTotal.inc({ type: shortTypeName(typeUrl) });
    if (this.log.enabled('debug')) {
      this.log.debug('pushed', { proxy: conn.node?.id, type: shortTypeName(typeUrl), version: plan.version, nonce: plan.nonce, resources: plan.resources.length });
    }
  }

  private body(ts: TypeSnapshot, plan: PlannedResponse): Buffer {
    let b = ts.bodies.get(plan.subsetKey);
    if (!b) {
      if (ts.bodies.size >= MAX_CACHED_BODIES) ts.bodies.clear();
      b = encodeResponseBody(plan.version, plan.typeUrl, plan.resources.map((r) => r.any));
      ts.bodies.set(plan.subsetKey, b);
    }
    return b;
  }

  // ───────────────────────────── debounced pushes ─────────────────────────────

  private onSnapshotChange(key: string, types: readonly ResourceTypeUrl[], changeAt?: number): void {
    if (this.streams.count(key) === 0 && this.delta.count(key) === 0) return; // nobody to push to; new streams read the cache
    const now = this.clock.now();
    let p = this.pending.get(key);
    if (!p) this.pending.set(key, (p = { types: new Set(), since: changeAt ?? now }));
    else if (changeAt !== undefined && changeAt < p.since) p.since = changeAt;
    for (const t of types) p.types.add(t);
    if (this.debounce.quietMs === 0) {
      if (this.holding === 0) this.flush();
      return;
    }
    const t = this.batchTimes;
    this.arm(t ? this.debounce.event(Math.min(t.lastAt, now), Math.min(t.firstAt, now)) : this.debounce.event(now));
  }

  private arm(dueAt: number): void {
    if (this.timer !== null && this.armedFor === dueAt) return; // a thousand keys of one change: one timer
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.armedFor = dueAt;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.debounce.fire(this.clock.now())) this.flush();
      else {
        const due = this.debounce.dueAt();
        if (due !== null) this.arm(due);
      }
    }, Math.max(0, dueAt - this.clock.now()));
  }
}
