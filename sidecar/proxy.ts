// The sidecar proxy: builds clusters, listeners and the admin and stats servers from a BootstrapConfig,
// applies xDS updates (warming listeners until their routes arrive), and drains on shutdown. What the
// admin pages show is rendered in admin/ from the state kept here.

import { systemClock, type Clock, type Timer } from '../src/clock/clock';
import type { BootstrapConfig } from '../src/config/types';
import { ConfigError } from '../src/errors';
import { ProxyMetrics } from '../src/observability/metrics';
import { Logger, rootLogger } from '../src/observability/logger';
import { ClusterManager } from './cluster/cluster-manager';
import { Listener, listenerRdsNames } from './listener/listener';
import { AdminServer, type AdminTarget } from './admin/admin-server';
import { clustersJson, clustersText, configDump, type ProxyAdminState } from './admin/admin-pages';
import { StatsServer } from './admin/stats-server';
import { RouteTable } from './router/route-table';
import { AdsClient, type Versioned } from './xds/ads-client';
import { adsCredentials } from './xds/ads-credentials';
import type { ListenerConfig, RouteConfiguration } from '../src/config/types';
import { referencedClusters, validatesClustersExplicitly } from '../src/config/route';
import { identityOf, type WorkloadIdentity } from './tls/workload-identity';
import { workloadOf, type WorkloadLabels } from '../src/observability/istio-labels';
import type { IdentityManager } from './identity/identity-manager';
import { identityChannelCredentials } from './identity/identity-credentials';

export interface ProxyOptions {
  readonly logger?: Logger;
  readonly metrics?: ProxyMetrics;
  /** Serve the admin server (workers of a multi-worker proxy leave it to the primary). */
  readonly admin?: boolean;
  /** Time for the data path, warming, drain and the config-loaded timestamp (default systemClock). */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** How long SIGTERM/drain waits for in-flight requests (default 5 s, Envoy's drain time). */
  readonly drainTimeoutMs?: number;
  /** How long a dynamic listener waits for its RDS routes before serving anyway (default 15 s, Envoy's initial fetch timeout). */
  readonly warmingTimeoutMs?: number;
  /** The workload identity (certificate, key, trust bundle) for mTLS that names it. */
  readonly identity?: WorkloadIdentity | null;
  /**
   * The identity manager that gets and rotates this workload's certificate from the controller's
   * CA; the proxy waits for the first certificate, and speaks ADS over mTLS with it.
   */
  readonly identityManager?: { readonly manager: IdentityManager; readonly controllerSpiffeId: string } | null;
}

/** initial_fetch_timeout of each RDS source a listener's connection managers use. */
function rdsFetchTimeouts(config: ListenerConfig): number[] {
  const out: number[] = [];
  for (const fc of [...config.filterChains, ...(config.defaultFilterChain ? [config.defaultFilterChain] : [])]) {
    const n = fc.network;
    if (n.kind === 'http_connection_manager' && n.rdsRouteConfigName) out.push(n.rdsInitialFetchTimeoutMs);
  }
  return out;
}

export class Proxy implements AdminTarget {
  readonly metrics: ProxyMetrics;
  readonly clusters: ClusterManager;
  readonly listeners: Listener[] = [];
  private admin: AdminServer | null = null;
  private statsServer: StatsServer | null = null;
  private readonly logger: Logger;
  state: 'PRE_INITIALIZING' | 'LIVE' | 'DRAINING' = 'PRE_INITIALIZING';
  adminPort = 0;
  statsPort = 0;
  private stopped = false;
  /** Route configurations from RDS, by name. */
  private readonly routeTables = new Map<string, RouteTable>();
  /** Listeners from LDS, by name, with the raw resource they came from. */
  private readonly dynamicListeners = new Map<string, { raw: string; listener: Listener }>();
  /** Listeners waiting for their route configurations before they serve (see setDynamicListeners). */
  private readonly warming = new Map<string, { v: Versioned<ListenerConfig>; timer: Timer | null }>();
  private ads: AdsClient | null = null;
  private readonly clock: Clock;
  /** The clock's monotonic now, as the data path takes it. */
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly identity: WorkloadIdentity | null;
  private readonly source: WorkloadLabels;

  constructor(
    readonly bootstrap: BootstrapConfig,
    private readonly options: ProxyOptions = {},
  ) {
    this.logger = options.logger ?? rootLogger.child('proxy');
    this.metrics = options.metrics ?? new ProxyMetrics();
    const clock = options.clock ?? systemClock;
    const now = (): number => clock.now();
    this.clock = clock;
    const random = options.random ?? Math.random;
    this.now = now;
    this.random = random;
    this.source = workloadOf(bootstrap.node);
    this.identity = options.identity ?? (options.identityManager ? identityOf(options.identityManager.manager) : null);
    this.clusters = new ClusterManager({ metrics: this.metrics, logger: this.logger, now, clock, random, identity: this.identity });
    for (const l of bootstrap.listeners) this.listeners.push(this.newListener(l));
  }

  private newListener(l: ListenerConfig): Listener {
    return new Listener(l, {
      clusters: this.clusters,
      metrics: this.metrics,
      logger: this.logger,
      now: this.now,
      random: this.random,
      routeConfigByName: (name) => this.routeTables.get(name) ?? null,
      identity: this.identity,
      source: this.source,
    });
  }

  /** Clusters first (so routes have somewhere to go), then listeners, then admin. */
  async start(): Promise<void> {
    // The certificate first: TLS on listeners, clusters and the ADS stream needs it.
    if (this.options.identityManager) await this.options.identityManager.manager.start();
    await this.clusters.addOrUpdate(this.bootstrap.clusters);
    for (const l of this.listeners) {
      const port = await l.listen();
      this.logger.info('listener ready', { listener: l.config.name, address: `${l.config.address.host}:${port}` });
    }
    if (this.options.admin !== false && this.bootstrap.admin) {
      this.admin = new AdminServer(this, this.bootstrap.admin.address);
      this.adminPort = await this.admin.listen();
    }
    const sa = this.bootstrap.statsAddress;
    if (this.options.admin !== false && sa) {
      this.statsServer = new StatsServer(this, sa);
      this.statsPort = await this.statsServer.listen();
    }
    const dyn = this.bootstrap.dynamicResources;
    if (dyn) {
      await this.startAds(dyn.adsCluster, dyn);
    }
    this.metrics.configLoaded.set(this.clock.wallNow() / 1000);
    this.state = 'LIVE';
  }

  /** Connects to the ADS server and waits (up to the lds/cds initial_fetch_timeout, 15 s by default) for listeners. */
  private async startAds(clusterName: string, want: { lds: boolean; cds: boolean; initialFetchTimeoutMs: number }): Promise<void> {
    const cluster = this.bootstrap.clusters.find((c) => c.name === clusterName)!;
    const ep = cluster.loadAssignment?.localities[0]?.endpoints[0];
    if (!ep) throw new ConfigError('dynamic_resources.ads_config', `ADS cluster ${clusterName} has no endpoint`);
    const target = `${ep.address.host.includes(':') ? `[${ep.address.host}]` : ep.address.host}:${ep.address.port}`;
    this.ads = new AdsClient(
      target,
      this.options.identityManager
        ? identityChannelCredentials(this.options.identityManager.manager, this.options.identityManager.controllerSpiffeId)
        : adsCredentials(cluster.tls),
      this.bootstrap.node,
      want,
      {
        clusters: (all) => this.clusters.setDynamic(all),
        endpoints: (all) => {
          for (const a of all) this.clusters.assign(a.name, a.config);
        },
        listeners: (all) => this.setDynamicListeners(all),
        routes: (all) => this.setRoutes(all),
        edsNames: () => this.clusters.edsNames(),
        responded: (kind, accepted) => {
          this.metrics.xdsResponses.labels(kind, accepted ? 'ack' : 'nack').inc();
          if (accepted) this.metrics.configLoaded.set(this.clock.wallNow() / 1000);
        },
        rdsNames: () => {
          const out: string[] = [];
          for (const l of this.listeners) out.push(...l.rdsNames());
          for (const w of this.warming.values()) out.push(...listenerRdsNames(w.v.config));
          return out;
        },
      },
      this.logger.child('xds'),
      this.random,
      this.clock,
    );
    this.ads.start();
    let timer: Timer | null = null;
    const waitMs = want.initialFetchTimeoutMs;
    // 0: no limit, as Envoy — start-up waits until the first listeners and clusters are in.
    const gaveUp = waitMs > 0 ? [new Promise<void>((r) => (timer = this.clock.setTimeout(r, waitMs)))] : [];
    await Promise.race([this.ads.initialized, ...gaveUp]);
    this.clock.clearTimeout(timer);
  }

  /** RDS: route configurations by name (responses may carry only the changed ones); warm listeners waiting for them. */
  private async setRoutes(all: readonly Versioned<RouteConfiguration>[]): Promise<void> {
    // validate_clusters: true on an RDS resource: a route to a cluster this proxy does not have is
    // an error (the response is NACKed), checked before any of it applies.
    for (const r of all) {
      if (!validatesClustersExplicitly(r.config)) continue;
      for (const ref of referencedClusters(r.config)) {
        if (!this.clusters.get(ref.cluster)) throw new ConfigError(`${r.name}.${ref.path}`, `unknown cluster '${ref.cluster}' (validate_clusters is set)`);
      }
    }
    for (const r of all) this.routeTables.set(r.name, new RouteTable(r.config));
    for (const [name, w] of [...this.warming]) {
      if (!this.routesReady(w.v.config)) continue;
      this.clock.clearTimeout(w.timer);
      this.warming.delete(name);
      await this.activateListener(w.v);
    }
  }

  /**
   * LDS, state of the world: add new listeners, update changed ones in place, drain removed ones.
   * A listener (new or changed) whose connection managers name route configurations not received
   * yet warms first, as in Envoy: it is not bound (a changed one keeps its previous configuration)
   * until those routes arrive, or until the initial fetch timeout passes.
   */
  private async setDynamicListeners(all: readonly Versioned<ListenerConfig>[]): Promise<void> {
    const seen = new Set<string>();
    for (const v of all) {
      seen.add(v.name);
      const w = this.warming.get(v.name);
      if (w) {
        if (w.v.raw === v.raw) continue;
        this.clock.clearTimeout(w.timer);
        this.warming.delete(v.name);
      }
      const cur = this.dynamicListeners.get(v.name);
      if (cur && cur.raw === v.raw) continue;
      if (!this.routesReady(v.config)) {
        this.startWarming(v);
        continue;
      }
      await this.activateListener(v);
    }
    for (const [name, w] of [...this.warming]) {
      if (seen.has(name)) continue;
      this.clock.clearTimeout(w.timer);
      this.warming.delete(name);
    }
    for (const [name, cur] of [...this.dynamicListeners]) {
      if (seen.has(name)) continue;
      this.dynamicListeners.delete(name);
      this.dropListener(cur.listener);
    }
  }

  private routesReady(config: ListenerConfig): boolean {
    return listenerRdsNames(config).every((n) => this.routeTables.has(n));
  }

  private startWarming(v: Versioned<ListenerConfig>): void {
    // The listener waits as long as its slowest RDS source allows (initial_fetch_timeout; 0 = until the routes come).
    const limits = rdsFetchTimeouts(v.config);
    const waitMs = this.options.warmingTimeoutMs ?? (limits.includes(0) ? 0 : Math.max(...limits));
    if (waitMs === 0) {
      this.warming.set(v.name, { v, timer: null });
      this.logger.info('listener warming: waiting for its routes', { listener: v.name, routes: listenerRdsNames(v.config) });
      return;
    }
    const timer = this.clock.setTimeout(() => {
      if (this.warming.get(v.name)?.timer !== timer) return;
      this.warming.delete(v.name);
      const missing = listenerRdsNames(v.config).filter((n) => !this.routeTables.has(n));
      this.logger.warn('listener warmed without its routes (initial fetch timeout)', { listener: v.name, missing });
      this.activateListener(v).catch((err: unknown) => this.logger.error('listener activation failed', { listener: v.name, error: String(err) }));
    }, waitMs);
    timer.unref();
    this.warming.set(v.name, { v, timer });
    this.logger.info('listener warming: waiting for its routes', { listener: v.name, routes: listenerRdsNames(v.config) });
  }

  /** Binds a new listener, or updates a bound one in place (a new address: a new socket, the old one drains). */
  private async activateListener(v: Versioned<ListenerConfig>): Promise<void> {
    const cur = this.dynamicListeners.get(v.name);
    const sameAddress =
      cur && cur.listener.config.address.host === v.config.address.host && cur.listener.config.address.port === v.config.address.port;
    if (cur && sameAddress) {
      cur.listener.update(v.config);
      this.dynamicListeners.set(v.name, { raw: v.raw, listener: cur.listener });
      return;
    }
    const l = this.newListener(v.config);
    if (cur) this.dropListener(cur.listener);
    await l.listen();
    this.listeners.push(l);
    this.dynamicListeners.set(v.name, { raw: v.raw, listener: l });
    this.logger.info('listener ready', { listener: v.name, address: `${v.config.address.host}:${l.port}` });
  }

  private dropListener(l: Listener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
    l.drain();
    this.clock.setTimeout(() => l.close(), this.options.drainTimeoutMs ?? 5_000).unref();
  }

  /** The xDS client's view (connected, versions ACKed, last NACK per type), for admin and tests. */
  xdsStatus(): unknown {
    return this.ads?.status() ?? null;
  }

  /** Port a listener is bound to, by name (tests bind port 0). */
  listenerPort(name: string): number {
    return this.listeners.find((l) => l.config.name === name)?.port ?? 0;
  }

  /** False while the proxy waits for (or has lost, by expiry) its workload certificate. */
  get identityReady(): boolean {
    return this.identity === null || !this.options.identityManager || this.identity.current() !== null;
  }

  // ─── AdminTarget ───

  /** POST /identity/renew: a new workload certificate now; null without an identity manager. */
  async renewIdentity(): Promise<{ serial: string; notAfter: string; root: string } | null> {
    const m = this.options.identityManager?.manager;
    if (!m) return null;
    const id = await m.renewNow();
    return { serial: id.serialNumber, notAfter: id.notAfter.toISOString(), root: id.rootFingerprint };
  }

  /** What /config_dump shows (rendered in admin/admin-pages.ts). */
  private adminState(): ProxyAdminState {
    return {
      bootstrap: this.bootstrap,
      clusters: this.clusters.all(),
      dynamicListeners: [...this.dynamicListeners.values()].map((d) => d.listener.config),
      routeConfigs: [...this.routeTables.values()].map((t) => t.config),
      xds: this.xdsStatus(),
    };
  }

  configDump(): unknown {
    return configDump(this.adminState());
  }

  clustersJson(): unknown {
    return clustersJson(this.clusters.all());
  }

  clustersText(): string {
    return clustersText(this.clusters.all());
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  get metricsContentType(): string {
    return this.metrics.registry.contentType;
  }

  drainListeners(): void {
    this.state = 'DRAINING';
    for (const l of this.listeners) l.drain();
  }

  quit(): void {
    void this.stop().then(() => process.exit(0));
  }

  /**
   * Drains, then stops: the listeners stop accepting, HTTP/2 connections get GOAWAY and HTTP/1.1
   * responses `connection: close` (drainListeners), and the proxy waits until no request is in flight
   * and its clients have closed every downstream connection, or the drain time has passed. Stopping as
   * soon as nothing is in flight would reset what clients sent before they read the GOAWAY or the last
   * response (an HTTP/2 stream already on the wire, a request on a keep-alive connection); a
   * well-behaved client closes its connection once told, and idle HTTP/1.1 ones are closed by the
   * connection manager after its grace period, so the wait ends early unless a request or a
   * long-lived (TCP) connection really holds it.
   */
  async drainAndStop(timeoutMs = this.options.drainTimeoutMs ?? 5_000): Promise<void> {
    this.drainListeners();
    const deadline = this.clock.now() + timeoutMs;
    while (this.clock.now() < deadline && (this.inflightRequests() > 0 || this.downstreamConnections() > 0)) {
      await new Promise<void>((r) => this.clock.setTimeout(r, 25));
    }
    await this.stop();
  }

  /** Downstream connections open on every listener. */
  private downstreamConnections(): number {
    let n = 0;
    for (const l of this.listeners) n += l.activeConnections;
    return n;
  }

  /** Requests on their way to an upstream host, every cluster. */
  private inflightRequests(): number {
    let n = 0;
    for (const c of this.clusters.all()) for (const h of c.allHosts) n += h.stats.activeRequests;
    return n;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ads?.stop();
    for (const w of this.warming.values()) this.clock.clearTimeout(w.timer);
    this.warming.clear();
    this.options.identityManager?.manager.stop();
    for (const l of this.listeners) l.close();
    this.clusters.close();
    await this.admin?.close();
    await this.statsServer?.close();
  }
}
