// The controller process: registry source → mesh model → per-node translation → snapshots → ADS, plus admin.

import { ServerCredentials, experimental } from '@grpc/grpc-js';
import { systemClock, type Clock } from '../clock/clock';
import type { WorkloadIssuer } from '../../certs/issuer';
import { Logger, rootLogger } from '../observability/logger';
import { AdminServer } from './admin/admin-server';
import { ControllerMetrics } from '../observability/controller-metrics';
import { AdsServer } from './ads/ads-server';
import { SnapshotCache } from './ads/snapshot-cache';
import type { TokenAuthenticator } from './ca/authenticator';
import { certificateServiceDefinition } from '../ca-api/ca-proto';
import { certificateServiceImpl } from './ca/certificate-service';
import { plaintextPortInterceptor } from './ca/mesh-auth-interceptor';
import type { ServingIdentity } from './ca/serving-identity';
import { dashboardPages } from './dashboard/dashboard';
import type { MeshStats } from './stats/mesh-stats';
import type { ChangeTimes, MeshSource, NodeInfo, NodeKeyFn, Translator } from './types';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ControllerOptions<M> {
  readonly source: MeshSource<M> & { debug?(): Record<string, unknown> };
  readonly translate: Translator<M>;
  /** Nodes with equal keys share one snapshot; default kind + node id. */
  readonly nodeKey?: NodeKeyFn;
  /** The sidecars' xDS port (plaintext until mTLS lands). */
  readonly xdsAddress: HostPort;
  readonly xdsCredentials?: ServerCredentials;
  /**
   * The mesh CA: CreateCertificate is served next to ADS, and --xds-address becomes mTLS with the
   * controller's own certificate (xdsCredentials is then ignored). Absent: no CA, xDS as configured.
   */
  readonly identity?: {
    readonly issuer: WorkloadIssuer;
    readonly authenticator: TokenAuthenticator;
    readonly serving: ServingIdentity;
    /** Follows the CA directory (a root rotation) while the controller runs; started after the serving certificate. */
    readonly watcher?: { start(): Promise<void>; stop(): void };
  } | null;
  /** Optional plaintext xDS port for proxyless gRPC clients. */
  readonly plaintextXdsAddress?: HostPort | null;
  readonly adminAddress?: HostPort | null;
  /** Quiet period after a change before it is pushed (default 100 ms; 0: at once). */
  readonly debounceMs?: number;
  /** Bound on that delay under a steady stream of changes (default 10 × debounceMs, at least 1 s). */
  readonly maxDebounceMs?: number;
  readonly logger?: Logger;
  /** Time and timers (default systemClock); the source's ChangeTimes are read from the same clock's now(). */
  readonly clock?: Clock;
  /** Mesh-wide metrics: shown the connected nodes, started with the controller, served at /api/stats and /api/targets. */
  readonly stats?: MeshStats | null;
}

export interface ControllerPorts {
  readonly xds: number;
  readonly plaintextXds: number | null;
  readonly admin: number | null;
}

export const defaultNodeKey: NodeKeyFn = (n) => `${n.kind}/${n.id}`;

function hostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export class Controller<M> {
  readonly cache = new SnapshotCache();
  readonly metrics = new ControllerMetrics();
  readonly ads: AdsServer;
  private readonly log: Logger;
  private readonly admin: AdminServer | null;
  /** One representative node per key with open streams: translation input for that key. */
  private readonly nodes = new Map<string, NodeInfo>();
  private model: M | null = null;
  private modelCount = 0;
  private translateErrors = 0;
  private lastTranslateError: string | null = null;
  private bound = false;
  private readonly clock: Clock;
  private readonly maxDebounceMs: number;

  constructor(private readonly opts: ControllerOptions<M>) {
    this.log = opts.logger ?? rootLogger.child('controller');
    this.clock = opts.clock ?? systemClock;
    const quiet = opts.debounceMs ?? 100;
    this.maxDebounceMs = Math.max(quiet, opts.maxDebounceMs ?? Math.max(1000, quiet * 10));
    // A model is translated when it arrives (translation costs little: shared parts are cached);
    // the ADS server debounces the pushes, from when the source saw the change.
    this.ads = new AdsServer({
      cache: this.cache,
      nodeKey: opts.nodeKey ?? defaultNodeKey,
      debounceMs: quiet,
      maxDebounceMs: this.maxDebounceMs,
      clock: this.clock,
      metrics: this.metrics,
      logger: this.log.child('ads'),
      extraServices: opts.identity
        ? [
            {
              definition: certificateServiceDefinition(),
              implementation: certificateServiceImpl({
                issuer: opts.identity.issuer,
                authenticator: opts.identity.authenticator,
                metrics: this.metrics,
                logger: this.log.child('ca'),
              }),
            },
          ]
        : [],
      onNodeConnect: (node, key) => {
        this.nodes.set(key, node);
        if (this.model !== null) this.translateKey(key, node, this.model);
      },
      onNodeDisconnect: (_node, key, remaining) => {
        if (remaining > 0) return;
        this.nodes.delete(key);
        this.cache.delete(key);
      },
    });
    opts.stats?.attachNodes(() => [...this.nodes.values()]);
    this.admin = opts.adminAddress
      ? new AdminServer({
          metrics: this.metrics,
          syncz: () => this.ads.syncz(),
          configDump: (id) => this.ads.configDump(id),
          ready: () => this.ready,
          debug: {
            registry: () => opts.source.debug?.() ?? {},
            controller: () => this.debugView(),
          },
          api: opts.stats ? { stats: (q) => opts.stats!.document(q), targets: () => opts.stats!.sdTargets() } : undefined,
          // The dashboard reads /api/stats: served only when the controller scrapes.
          pages: opts.stats ? dashboardPages(this.log.child('dashboard')) : undefined,
        })
      : null;
  }

  /** True once a model has been translated and the xDS ports are bound. */
  get ready(): boolean {
    return this.bound && this.model !== null;
  }

  /** Binds the ports, then starts the source (its first model arrives before this resolves). */
  async start(): Promise<ControllerPorts> {
    const admin = this.admin && this.opts.adminAddress ? await this.admin.listen(this.opts.adminAddress.host, this.opts.adminAddress.port) : null;
    const identity = this.opts.identity;
    if (identity) {
      await identity.serving.start();
      await identity.watcher?.start();
    }
    const xdsCredentials = identity ? identity.serving.serverCredentials() : (this.opts.xdsCredentials ?? ServerCredentials.createInsecure());
    const xds = await this.ads.listen(hostPort(this.opts.xdsAddress), xdsCredentials);
    // The CA shares the gRPC server; on a plaintext port it refuses to run (bearer tokens never travel in the clear).
    const plainCredentials = identity
      ? experimental.createServerCredentialsWithInterceptors(ServerCredentials.createInsecure(), [plaintextPortInterceptor()])
      : ServerCredentials.createInsecure();
    const plain = this.opts.plaintextXdsAddress ? await this.ads.listen(hostPort(this.opts.plaintextXdsAddress), plainCredentials) : null;
    this.bound = true;
    await this.opts.source.start((model, times) => this.onModel(model, times));
    this.opts.stats?.start();
    this.log.info('controller started', { xds, plaintextXds: plain, admin });
    return { xds, plaintextXds: plain, admin };
  }

  async stop(): Promise<void> {
    await this.opts.stats?.stop();
    await this.opts.source.stop();
    await this.ads.close();
    this.opts.identity?.watcher?.stop();
    this.opts.identity?.serving.stop();
    await this.admin?.close();
  }

  private onModel(model: M, times?: ChangeTimes): void {
    const first = this.model === null;
    const now = this.clock.now();
    // Times out of range (another clock, a source that waited long) count as now.
    const inRange = (t: number | undefined): t is number => t !== undefined && t <= now && t >= now - this.maxDebounceMs;
    const lastAt = inRange(times?.lastEventAt) ? times!.lastEventAt : now;
    const firstAt = inRange(times?.firstEventAt) ? Math.min(times!.firstEventAt, lastAt) : lastAt;
    if (this.log.enabled('debug')) this.log.debug('model received', { first, sinceFirstEventMs: now - firstAt });
    this.model = model;
    this.modelCount++;
    this.translateAll(firstAt, lastAt);
  }

  /** Translates the current model for every connected node key; the ADS server pushes what changed. */
  private translateAll(firstAt: number, lastAt: number): void {
    const model = this.model;
    if (model === null) return;
    const start = this.clock.now();
    this.ads.batch(() => {
      for (const [key, node] of this.nodes) this.translateKey(key, node, model, firstAt);
    }, { firstAt, lastAt });
    if (this.nodes.size > 0) {
      const ms = this.clock.now() - start;
      this.metrics.translateDuration.observe(ms / 1000);
      if (this.log.enabled('debug')) this.log.debug('model translated', { nodeKeys: this.nodes.size, sinceFirstEventMs: this.clock.now() - firstAt, ms: +ms.toFixed(1) });
    }
  }

  private translateKey(key: string, node: NodeInfo, model: M, changeAt?: number): void {
    try {
      this.cache.setSnapshot(key, this.opts.translate(model, node), changeAt);
    } catch (err) {
      // The previous snapshot stays in force; the error names the resource and field.
      this.translateErrors++;
      this.lastTranslateError = String(err instanceof Error ? err.message : err);
      this.log.error('translation failed; keeping the previous configuration', { nodeKey: key, err });
    }
  }

  private debugView(): Record<string, unknown> {
    return {
      ready: this.ready,
      models: this.modelCount,
      nodeKeys: [...this.nodes.keys()].sort(),
      snapshots: Object.fromEntries(
        this.cache.keys().map((k) => [k, Object.fromEntries([...this.cache.get(k)!].map(([t, ts]) => [t, { version: ts.version, resources: ts.resources.size }]))]),
      ),
      translateErrors: this.translateErrors,
      lastTranslateError: this.lastTranslateError,
    };
  }
}
