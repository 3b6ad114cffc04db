// One upstream cluster at run time: its endpoints, their health, the balancer, breaker and pools.
//
// The cluster owns the I/O around the pure parts: DNS refresh, the active health checker, the
// outlier detector's evaluation timer. Whenever an endpoint's usability changes it rebuilds the
// balancer's host set, and the data path picks from the published picker.

import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import { systemClock, type Clock, type Timer } from '../../src/clock/clock';
import type { ClusterConfig, EndpointConfig, HealthStatus, LoadAssignmentConfig } from '../../src/config/types';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { Logger } from '../../src/observability/logger';
import type { LbHost, LoadBalancer, PickContext } from '../lb/types';
import { createLoadBalancer } from '../lb/create-load-balancer';
import { OutlierDetector, type UpstreamOutcome } from './outlier-detector';
import { ResourceManager } from './circuit-breaker';
import { HealthChecker } from './health-checker';
import { selectDnsAnswers, type DnsAnswer } from './dns-answers';
import { EndpointPools } from '../upstream/connection-pool';
import type { Http1Pool } from '../upstream/http1-pool';
import type { Http2Pool } from '../upstream/http2-pool';
import type { WorkloadIdentity } from '../tls/workload-identity';

export class UpstreamHost implements LbHost {
  readonly key: string;
  readonly stats = { activeRequests: 0, totalRequests: 0, failures: 0 };
  weight: number;
  priority: number;
  /** From EDS/load_assignment health_status. */
  edsStatus: HealthStatus;
  /** Active health checking says unhealthy (or has not passed its first check yet). */
  failedActiveHc: boolean;
  ejected = false;
  /** Gone from service discovery but kept while it passes active health checks (ignore_health_on_host_removal false). */
  pendingRemoval = false;
  /** Its HTTP/1.1 and HTTP/2 pools. */
  private readonly pools: EndpointPools;
  private readonly clock: Clock;
  /** TCP proxy connections to this host (pools track their own). */
  private readonly tcp = new Set<net.Socket>();

  constructor(
    readonly address: { readonly host: string; readonly port: number },
    readonly config: EndpointConfig,
    cluster: UpstreamCluster,
    priority: number,
    hasActiveHc: boolean,
  ) {
    this.key = net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
    this.weight = Math.max(1, config.weight);
    this.priority = priority;
    this.edsStatus = config.healthStatus;
    // Envoy: hosts of a cluster with active health checking start unhealthy until the first pass.
    this.failedActiveHc = hasActiveHc;
    this.pools = new EndpointPools(cluster.config, address, cluster.resources, cluster.identity, cluster.clock);
    this.clock = cluster.clock;
  }

  get usable(): boolean {
    const s = this.edsStatus;
    return !this.failedActiveHc && !this.ejected && s !== 'UNHEALTHY' && s !== 'DRAINING' && s !== 'TIMEOUT';
  }

  http1(): Http1Pool {
    return this.pools.http1();
  }

  http2(): Http2Pool {
    return this.pools.http2();
  }

  /** A TCP proxy connection to this host, closed with the host's connections. */
  trackConnection(socket: net.Socket): void {
    this.tcp.add(socket);
    socket.once('close', () => this.tcp.delete(socket));
  }

  /** Closes every connection to the host, in-flight ones too; new requests open fresh pools. */
  close(): void {
    this.pools.close();
    for (const s of this.tcp) s.destroy();
  }

  /** Leaves the cluster: pools close once the requests in flight on them are done (or after 30 s). */
  retire(): void {
    const clock = this.clock;
    const start = clock.now();
    const attempt = (): void => {
      if (this.stats.activeRequests <= 0 || clock.now() - start > 30_000) return this.close();
      clock.setTimeout(attempt, 250).unref();
    };
    attempt();
  }
}

export interface ClusterDeps {
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** The workload identity, for clusters whose TLS names it (SDS `default` / `ROOTCA`). */
  readonly identity?: WorkloadIdentity | null;
  /** Pools' idle times and the timers of retiring hosts (default systemClock). */
  readonly clock?: Clock;
  /** Where respect_dns_ttl clusters ask for records with their TTLs; the system's servers by default. */
  readonly dnsResolver?: Pick<dns.Resolver, 'resolve4' | 'resolve6'>;
}

export class UpstreamCluster {
  readonly name: string;
  /** The circuit breaker: requests, pending requests, retries, and the connections the pools and TCP proxy open. */
  readonly resources: ResourceManager;
  readonly outlier: OutlierDetector | null;
  private readonly lb: LoadBalancer;
  private readonly healthCheckers: HealthChecker[] = [];
  private hosts = new Map<string, UpstreamHost>();
  private hostList: UpstreamHost[] = [];
  private outlierTimer: Timer | null = null;
  private dnsTimer: Timer | null = null;
  private closed = false;
  /** Picks so far, and as of the last traffic check: "has traffic" without a clock read per request. */
  private picks = 0;
  private picksSeen = 0;
  private lastTrafficAt = Number.NEGATIVE_INFINITY;
  private readonly endpointGauges: { healthy: { set(v: number): void }; unhealthy: { set(v: number): void }; ejected: { set(v: number): void }; degraded: { set(v: number): void } };

  constructor(
    readonly config: ClusterConfig,
    private readonly deps: ClusterDeps,
  ) {
    this.name = config.name;
    this.resources = new ResourceManager(config.circuitBreakers);
    this.lb = createLoadBalancer(config, deps.random);
    this.outlier = config.outlierDetection
      ? new OutlierDetector(config.outlierDetection, deps.random, { now: deps.now() })
      : null;
    const g = deps.metrics.endpoints;
    this.endpointGauges = {
      healthy: g.labels(this.name, 'healthy'),
      unhealthy: g.labels(this.name, 'unhealthy'),
      ejected: g.labels(this.name, 'ejected'),
      degraded: g.labels(this.name, 'degraded'),
    };
    for (const hc of config.healthChecks) {
      this.healthCheckers.push(
        new HealthChecker(hc, {
          clusterName: this.name,
          clock: this.clock,
          tls: config.tls,
          identity: deps.identity ?? null,
          random: deps.random,
          hasTraffic: () => this.hasRecentTraffic(),
          onTransition: (key: string, healthy: boolean) => this.onHealthTransition(key, healthy),
        }),
      );
    }
  }

  /** Whether the cluster picked an endpoint in the last minute (health checks slow down otherwise). */
  private hasRecentTraffic(): boolean {
    const now = this.deps.now();
    if (this.picks !== this.picksSeen) {
      this.picksSeen = this.picks;
      this.lastTrafficAt = now;
    }
    return now - this.lastTrafficAt < 60_000;
  }

  /** Starts DNS resolution, health checking and outlier evaluation. */
  async start(): Promise<void> {
    const la = this.config.loadAssignment;
    if (this.config.type === 'STRICT_DNS' || this.config.type === 'LOGICAL_DNS') {
      await this.resolveDns();
      this.scheduleDns();
    } else if (la) {
      this.setLoadAssignment(la);
    }
    for (const hc of this.healthCheckers) hc.start();
    if (this.outlier) this.scheduleOutlier();
  }

  /** Replaces the endpoints (static config, DNS answer, or EDS). Keeps state of hosts that stay. */
  setLoadAssignment(la: LoadAssignmentConfig, resolved?: Map<EndpointConfig, string[]>): void {
    const hasHc = this.healthCheckers.length > 0;
    const next = new Map<string, UpstreamHost>();
    for (const loc of la.localities) {
      for (const ep of loc.endpoints) {
        const addrs = resolved?.get(ep) ?? [ep.address.host];
        for (const ip of addrs) {
          const probe = new UpstreamHost({ host: ip, port: ep.address.port }, ep, this, loc.priority, hasHc);
          const existing = this.hosts.get(probe.key) ?? next.get(probe.key);
          if (existing) {
            existing.weight = Math.max(1, ep.weight);
            existing.priority = loc.priority;
            existing.edsStatus = ep.healthStatus;
            existing.pendingRemoval = false;
            next.set(existing.key, existing);
          } else {
            next.set(probe.key, probe);
            this.outlier?.addHost(probe.key);
          }
        }
      }
    }
    // Envoy's default (ignore_health_on_host_removal false): a host that discovery dropped stays
    // while active health checking still passes it, and leaves at its first failed verdict.
    const keepHealthy = hasHc && !this.config.ignoreHealthOnHostRemoval;
    for (const [key, host] of this.hosts) {
      if (next.has(key)) continue;
      if (keepHealthy && !host.failedActiveHc) {
        host.pendingRemoval = true;
        next.set(key, host);
        continue;
      }
      this.outlier?.removeHost(key);
      host.retire();
    }
    this.publishHosts(next);
  }

  private publishHosts(next: Map<string, UpstreamHost>): void {
    this.hosts = next;
    this.hostList = [...next.values()];
    const hcHosts = this.hostList.map((h) => ({
      key: h.key,
      address: h.address,
      healthCheckPort: h.config.healthCheckPort,
    }));
    for (const hc of this.healthCheckers) hc.setHosts(hcHosts);
    this.rebuild();
  }

  get identity(): WorkloadIdentity | null {
    return this.deps.identity ?? null;
  }

  get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  /**
   * ORIGINAL_DST clusters: the host for a connection's original destination, created on first use
   * (it never enters the balancer) and dropped after an idle sweep, like Envoy's cleanup_interval.
   */
  originalDstHost(ip: string, port: number): UpstreamHost {
    const key = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    let h = this.originalDst.get(key);
    if (h === undefined) {
      const ep: EndpointConfig = {
        address: { host: ip, port },
        healthStatus: 'HEALTHY',
        weight: 1,
        hostname: '',
        healthCheckPort: null,
        metadata: {},
      };
      h = new UpstreamHost({ host: ip, port }, ep, this, 0, false);
      this.originalDst.set(key, h);
      this.scheduleOriginalDstSweep();
    }
    this.originalDstUsed.add(key);
    return h;
  }

  private readonly originalDst = new Map<string, UpstreamHost>();
  private readonly originalDstUsed = new Set<string>();
  private sweepTimer: Timer | null = null;

  private scheduleOriginalDstSweep(): void {
    if (this.sweepTimer !== null || this.closed) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = null;
      for (const [key, h] of this.originalDst) {
        if (!this.originalDstUsed.has(key) && h.stats.activeRequests === 0) {
          this.originalDst.delete(key);
          h.close();
        }
      }
      this.originalDstUsed.clear();
      if (this.originalDst.size > 0) this.scheduleOriginalDstSweep();
    }, this.config.cleanupIntervalMs);
    this.sweepTimer.unref();
  }

  /** Picks an endpoint for a request; null when none is available. */
  pick(ctx: PickContext): UpstreamHost | null {
    this.picks++;
    return this.lb.picker.pick(ctx) as UpstreamHost | null;
  }

  get allHosts(): readonly UpstreamHost[] {
    return this.hostList;
  }

  /** Feeds an upstream outcome to the outlier detector (passive health). */
  recordOutcome(host: UpstreamHost, outcome: UpstreamOutcome): void {
    const od = this.outlier;
    if (!od) return;
    const events = od.record(host.key, outcome, this.deps.now());
    if (events.length > 0) this.applyOutlierEvents(events);
  }

  private applyOutlierEvents(events: readonly { key: string; type: string; reason?: string }[]): void {
    let changed = false;
    for (const e of events) {
      const h = this.hosts.get(e.key);
      if (!h) continue;
      const ejected = e.type === 'eject';
      if (h.ejected !== ejected) {
        h.ejected = ejected;
        changed = true;
        if (ejected) {
          this.deps.metrics.ejections.labels(this.name, e.reason ?? 'unknown').inc();
          this.deps.logger.info('endpoint ejected', { cluster: this.name, endpoint: h.key, reason: e.reason });
        } else {
          this.deps.logger.info('endpoint returned', { cluster: this.name, endpoint: h.key });
        }
      }
    }
    if (changed) this.rebuild();
  }

  private onHealthTransition(key: string, healthy: boolean): void {
    const h = this.hosts.get(key);
    if (!h) return;
    this.deps.metrics.healthChecks.labels(this.name, healthy ? 'healthy' : 'unhealthy').inc();
    if (!healthy && h.pendingRemoval) {
      // Gone from discovery and now failing: it leaves the cluster.
      const next = new Map(this.hosts);
      next.delete(key);
      this.outlier?.removeHost(key);
      h.retire();
      this.deps.logger.info('endpoint removed after failing its health check', { cluster: this.name, endpoint: key });
      this.publishHosts(next);
      return;
    }
    if (h.failedActiveHc === !healthy) return;
    h.failedActiveHc = !healthy;
    // close_connections_on_host_health_failure: connections to a host found unhealthy are closed.
    if (!healthy && this.config.closeConnectionsOnHostHealthFailure) h.close();
    if (healthy && this.outlier && h.ejected) {
      const events = this.outlier.onActiveHealthCheckPass(key, this.deps.now());
      if (events.length > 0) this.applyOutlierEvents(events);
    }
    this.deps.logger.info(healthy ? 'endpoint healthy' : 'endpoint unhealthy', { cluster: this.name, endpoint: key });
    this.rebuild();
  }

  private rebuild(): void {
    const healthy = new Set<string>();
    let unhealthy = 0;
    let ejected = 0;
    let degraded = 0;
    for (const h of this.hostList) {
      if (h.usable) healthy.add(h.key);
      else if (h.ejected) ejected++;
      else unhealthy++;
      if (h.edsStatus === 'DEGRADED') degraded++;
    }
    this.lb.update({ hosts: this.hostList, healthy });
    this.endpointGauges.healthy.set(healthy.size);
    this.endpointGauges.unhealthy.set(unhealthy);
    this.endpointGauges.ejected.set(ejected);
    this.endpointGauges.degraded.set(degraded);
  }

  private scheduleOutlier(): void {
    const od = this.outlier;
    if (!od || this.closed) return;
    const delay = Math.max(1, od.nextEvaluationAt() - this.deps.now());
    this.outlierTimer = this.clock.setTimeout(() => {
      const events = od.evaluate(this.deps.now());
      if (events.length > 0) this.applyOutlierEvents(events);
      this.scheduleOutlier();
    }, delay);
    this.outlierTimer.unref();
  }

  /** When the next DNS refresh is due: dns_refresh_rate, or the shortest TTL seen (respect_dns_ttl). */
  private dnsRefreshMs = 0;

  /**
   * respect_dns_ttl: the records with their TTLs, from the DNS servers (a name they do not know,
   * such as one from /etc/hosts, is looked up as without it). Null when the servers have no answer.
   */
  private async resolveWithTtl(host: string): Promise<{ answers: DnsAnswer[]; ttlS: number } | null> {
    const resolver = this.deps.dnsResolver ?? (this.systemResolver ??= new dns.Resolver());
    const family = this.config.dnsLookupFamily;
    type Timed = DnsAnswer & { readonly ttl: number };
    const ask = (f: 4 | 6): Promise<Timed[]> =>
      (f === 4 ? resolver.resolve4(host, { ttl: true }) : resolver.resolve6(host, { ttl: true })).then(
        (rs) => rs.map((r) => ({ address: r.address, family: f, ttl: r.ttl })),
        () => [],
      );
    const asks: Promise<Timed[]>[] = [];
    if (family !== 'V6_ONLY') asks.push(ask(4));
    if (family !== 'V4_ONLY') asks.push(ask(6));
    const all = (await Promise.all(asks)).flat();
    if (all.length === 0) return null;
    const kept = new Set(selectDnsAnswers(all, family, false));
    const ttlS = Math.min(...all.filter((a) => kept.has(a.address)).map((a) => a.ttl));
    return { answers: all, ttlS };
  }

  private systemResolver: dns.Resolver | null = null;

  private async resolveDns(): Promise<void> {
    const la = this.config.loadAssignment;
    if (!la) return;
    const resolved = new Map<EndpointConfig, string[]>();
    const family = this.config.dnsLookupFamily;
    let minTtlS = Number.POSITIVE_INFINITY;
    for (const loc of la.localities) {
      for (const ep of loc.endpoints) {
        if (net.isIP(ep.address.host)) {
          resolved.set(ep, [ep.address.host]);
          continue;
        }
        try {
          const withTtl = this.config.respectDnsTtl ? await this.resolveWithTtl(ep.address.host) : null;
          if (withTtl !== null) minTtlS = Math.min(minTtlS, withTtl.ttlS);
          const answers =
            withTtl?.answers ??
            (await dns.lookup(ep.address.host, {
              all: true,
              family: family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0,
            }));
          // LOGICAL_DNS uses only the first address; connections go to whatever DNS says now.
          resolved.set(ep, selectDnsAnswers(answers, family, this.config.type === 'LOGICAL_DNS'));
        } catch (err) {
          this.deps.logger.warn('dns resolution failed', { cluster: this.name, host: ep.address.host, error: String(err) });
          // Keep the previous answer for this endpoint (Envoy keeps hosts on resolution failure).
          const prev = this.hostList.filter((h) => h.config === ep).map((h) => h.address.host);
          resolved.set(ep, prev);
        }
      }
    }
    // respect_dns_ttl: the next refresh when the first record expires (a TTL of 0: dns_refresh_rate).
    this.dnsRefreshMs = Number.isFinite(minTtlS) && minTtlS > 0 ? minTtlS * 1000 : this.config.dnsRefreshRateMs;
    if (!this.closed) this.setLoadAssignment(la, resolved);
  }

  private scheduleDns(): void {
    if (this.closed) return;
    this.dnsTimer = this.clock.setTimeout(() => {
      void this.resolveDns().finally(() => this.scheduleDns());
    }, this.dnsRefreshMs || this.config.dnsRefreshRateMs);
    this.dnsTimer.unref();
  }

  /** Stops health checks, DNS and outlier timers; pools stay for requests still in flight. */
  stopChecks(): void {
    this.closed = true;
    if (this.outlierTimer) this.clock.clearTimeout(this.outlierTimer);
    if (this.dnsTimer) this.clock.clearTimeout(this.dnsTimer);
    for (const hc of this.healthCheckers) hc.stop();
  }

  /** Stops exporting this cluster's endpoint gauges: it left the configuration (a replacement under the same name makes its own). */
  dropGauges(): void {
    for (const health of ['healthy', 'unhealthy', 'ejected', 'degraded']) this.deps.metrics.endpoints.remove(this.name, health);
  }

  /** Stops timers and health checks and closes pooled connections. */
  close(): void {
    this.closed = true;
    if (this.sweepTimer) this.clock.clearTimeout(this.sweepTimer);
    for (const h of this.originalDst.values()) h.close();
    if (this.outlierTimer) this.clock.clearTimeout(this.outlierTimer);
    if (this.dnsTimer) this.clock.clearTimeout(this.dnsTimer);
    for (const hc of this.healthCheckers) hc.stop();
    for (const h of this.hostList) h.close();
  }
}
