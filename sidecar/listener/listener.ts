// A listener: accepts connections, inspects them when chains need it, picks the filter chain,
// terminates TLS, and hands the connection to its network filter (HTTP or TCP proxy).

import * as net from 'node:net';
import type { FilterChainConfig, ListenerConfig } from '../../src/config/types';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { WorkloadLabels } from '../../src/observability/istio-labels';
import type { Logger } from '../../src/observability/logger';
import type { ClusterManager } from '../cluster/cluster-manager';
import type { FilterDownstream } from '../filters/types';
import { compileRules, type CompiledRules } from '../filters/rbac';
import { HttpConnectionManager } from '../connection-manager/connection-manager';
import type { RouteTable } from '../router/route-table';
import { TcpProxy } from '../tcp/tcp-proxy';
import { configEqual } from '../../src/config/config-equal';
import { FilterChainMatcher, needsInspection } from './filter-chain-match';
import { sniff } from './sniff';
import { PrefixedSocket } from './prefixed-socket';
import { getOriginalDst } from '../native/original-dst';
import type { WorkloadIdentity } from '../tls/workload-identity';
import {
  DownstreamTls,
  HTTP_HANDSHAKE_TIMEOUT_MS,
  TCP_HANDSHAKE_TIMEOUT_MS,
  acceptsHttp1OverTls,
  admitConnection,
  offeredAlpn,
} from '../tls/downstream-tls';
import { systemClock, type Clock } from '../../src/clock/clock';

export interface ListenerDeps {
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random: () => number;
  readonly routeConfigByName?: (name: string) => RouteTable | null;
  readonly identity?: WorkloadIdentity | null;
  /** This proxy's workload (source_workload labels). */
  readonly source?: WorkloadLabels;
  /** Time for the listener's own timers and for its connection managers (default: the system clock). */
  readonly clock?: Clock;
}

interface ChainRuntime {
  readonly config: FilterChainConfig;
  /** Compiled network RBAC rules (null: no filter, or a filter with no rules). */
  readonly rbac: CompiledRules | null;
  readonly hcm: HttpConnectionManager | null;
  readonly tcp: TcpProxy | null;
  /** The chain's TLS termination (null for a plaintext chain). */
  readonly tls: DownstreamTls | null;
}

const MAX_SNIFF_BYTES = 16 * 1024;
/** How often replaced chains check whether their last connection is gone. */
const REPLACED_CHAIN_POLL_MS = 1_000;

export class Listener {
  private server: net.Server | null = null;
  private matcher!: FilterChainMatcher;
  private inspect = false;
  private chains = new Map<FilterChainConfig, ChainRuntime>();
  private sniffCache = new Map<string, boolean>();
  private readonly reporter: string;
  private readonly clock: Clock;

  constructor(
    public config: ListenerConfig,
    private readonly deps: ListenerDeps,
    private readonly workerHandle?: { exclusive: boolean },
  ) {
    this.reporter = /inbound/i.test(config.name) ? 'destination' : 'source';
    this.clock = deps.clock ?? systemClock;
    this.configure(config);
  }

  /** Builds the chains of `config`; a chain of `previous` whose configuration is unchanged is kept as it is (returned). */
  private configure(config: ListenerConfig, previous?: ReadonlyMap<FilterChainConfig, ChainRuntime>): Set<ChainRuntime> {
    const reusable = previous && this.config.perConnectionBufferLimitBytes === config.perConnectionBufferLimitBytes && this.config.name === config.name ? [...previous.values()] : [];
    this.config = config;
    this.sniffCache = new Map();
    this.matcher = new FilterChainMatcher(config);
    this.inspect = needsInspection(config) || config.tlsInspector || config.httpInspector;
    const chains = new Map<FilterChainConfig, ChainRuntime>();
    const kept = new Set<ChainRuntime>();
    const all = [...config.filterChains];
    if (config.defaultFilterChain) all.push(config.defaultFilterChain);
    for (const fc of all) {
      const same = reusable.find((c) => !kept.has(c) && configEqual(c.config, fc));
      if (same) kept.add(same);
      chains.set(fc, same ?? this.buildChain(fc));
    }
    this.chains = chains;
    return kept;
  }

  /**
   * Replaces the filter chains in place (same address): new connections get the new chains at
   * once; connections already open on a changed or removed chain finish on it, and it drains and
   * then closes. A chain whose configuration did not change stays, with its connections (as Envoy's
   * in-place filter chain update): a Service added on a shared port does not drain the others' clients.
   */
  update(config: ListenerConfig): void {
    const old = this.chains;
    const kept = this.configure(config, old);
    for (const c of old.values()) {
      if (kept.has(c)) continue;
      c.tls?.close();
      c.hcm?.drain();
      const closeWhenIdle = (): void => {
        if ((c.hcm?.activeConnections ?? 0) + (c.tcp?.activeConnections ?? 0) === 0) {
          c.hcm?.close();
          return;
        }
        this.clock.setTimeout(closeWhenIdle, REPLACED_CHAIN_POLL_MS).unref();
      };
      closeWhenIdle();
    }
  }

  /** Names of RDS route configurations this listener's connection managers need. */
  rdsNames(): string[] {
    return listenerRdsNames(this.config);
  }

  private buildChain(fc: FilterChainConfig): ChainRuntime {
    const d = this.deps;
    const net = fc.network;
    const hcm =
      net.kind === 'http_connection_manager'
        ? new HttpConnectionManager(
            net,
            {
              clusters: d.clusters,
              metrics: d.metrics,
              logger: d.logger,
              now: d.now,
              random: d.random,
              clock: this.clock,
              reporter: this.reporter,
              source: d.source,
              listenerName: this.config.name,
              routeConfigByName: d.routeConfigByName,
              bufferLimitBytes: this.config.perConnectionBufferLimitBytes,
            },
          )
        : null;
    const tcp =
      net.kind === 'tcp_proxy'
        ? new TcpProxy(net, { clusters: d.clusters, metrics: d.metrics, logger: d.logger, random: d.random, reporter: this.reporter, source: d.source })
        : null;
    const downstreamTls =
      fc.tls === null
        ? null
        : new DownstreamTls(fc.tls, {
            identity: d.identity ?? null,
            alpn: offeredAlpn(fc.tls, hcm !== null ? hcm.config : null),
            handshakeTimeoutMs: hcm !== null ? HTTP_HANDSHAKE_TIMEOUT_MS : TCP_HANDSHAKE_TIMEOUT_MS,
          });
    return { config: fc, hcm, tcp, tls: downstreamTls, rbac: fc.networkRbac?.rules ? compileRules(fc.networkRbac.rules) : null };
  }

  /** Binds the listener's address; resolves with the bound port (useful when port is 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.onConnection(s));
      this.server = server;
      server.once('error', reject);
      server.listen(
        {
          host: this.config.address.host,
          port: this.config.address.port,
          exclusive: this.workerHandle?.exclusive ?? false,
          // Node makes `::` dual-stack; Envoy's default (ipv4_compat false) is IPv6 only.
          ipv6Only: net.isIPv6(this.config.address.host) && !this.config.ipv4Compat,
        },
        () => {
          server.off('error', reject);
          server.on('error', (err) => this.deps.logger.error('listener error', { listener: this.config.name, error: String(err) }));
          resolve((server.address() as net.AddressInfo).port);
        },
      );
    });
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    let destIp = socket.localAddress ?? '';
    let destPort = socket.localPort ?? 0;
    if (this.config.useOriginalDst) {
      try {
        const od = getOriginalDst(socket);
        if (od !== null) {
          destIp = od.address;
          destPort = od.port;
        }
      } catch (err) {
        this.deps.logger.error('original destination unavailable', { listener: this.config.name, error: String(err) });
        socket.destroy();
        return;
      }
    }
    const downstream = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: destIp,
      localPort: destPort,
      peerPrincipal: null as string | null,
    };
    if (!this.inspect || !this.mayNeedBytes(destIp, destPort)) {
      // Server-first protocols (MySQL, SMTP, …) never wait: chains that cannot tell connections
      // apart by their first bytes are chosen at once.
      socket.resume();
      return this.dispatch(socket, null, downstream, 'raw_buffer', null, [], null);
    }
    this.sniffThenDispatch(socket, downstream);
  }

  /** needsInspection for this destination, cached per destination. */
  private mayNeedBytes(ip: string, port: number): boolean {
    const key = `${ip}|${port}`;
    const cached = this.sniffCache.get(key);
    if (cached !== undefined) return cached;
    const needs = needsInspection(this.config, { ip, port });
    if (this.sniffCache.size > 4096) this.sniffCache.clear();
    this.sniffCache.set(key, needs);
    return needs;
  }

  private sniffThenDispatch(socket: net.Socket, downstream: FilterDownstream & { peerPrincipal: string | null }): void {
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const timeoutMs = this.config.listenerFiltersTimeoutMs;
    const clock = this.clock;
    const timer =
      timeoutMs > 0
        ? clock.setTimeout(() => {
            if (settled) return;
            settled = true;
            socket.off('data', onData);
            socket.pause();
            this.deps.metrics.sniffTimeouts.labels(this.config.name).inc();
            if (this.config.continueOnListenerFiltersTimeout) this.dispatch(socket, buf, downstream, 'raw_buffer', null, [], 'opaque');
            else socket.destroy();
          }, timeoutMs)
        : null;
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const r = sniff(buf);
      if (r.protocol === 'need_more' && buf.length < MAX_SNIFF_BYTES) return;
      settled = true;
      clock.clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const transport = r.protocol === 'tls' ? 'tls' : 'raw_buffer';
      const alpn = r.protocol === 'tls' ? (r.alpn ?? []) : r.protocol === 'http2' ? ['h2c'] : r.protocol === 'http1' ? ['http/1.1'] : [];
      this.dispatch(socket, buf, downstream, transport, r.serverName ?? null, alpn, r.protocol);
    };
    socket.on('data', onData);
    socket.once('end', () => {
      if (!settled) {
        settled = true;
        clock.clearTimeout(timer);
        socket.destroy();
      }
    });
    socket.resume();
  }

  private dispatch(
    socket: net.Socket,
    peeked: Buffer | null,
    downstream: FilterDownstream & { peerPrincipal: string | null },
    transportProtocol: 'raw_buffer' | 'tls',
    serverName: string | null,
    applicationProtocols: string[],
    sniffed: string | null,
  ): void {
    const fc = this.matcher.select({
      destinationIp: downstream.localAddress,
      destinationPort: downstream.localPort,
      sourceIp: downstream.remoteAddress,
      sourcePort: downstream.remotePort,
      serverName,
      transportProtocol,
      applicationProtocols,
    });
    const chain = fc ? this.chains.get(fc) : undefined;
    if (!chain) {
      socket.destroy();
      return;
    }
    const tlsCfg = chain.config.tls;
    // Bytes already read must be replayed. unshift() suffices for HTTP/1, TCP and TLS (TLSSocket
    // feeds a socket's buffered bytes to its handle); plaintext HTTP/2 reads the native handle
    // directly, so it gets a replaying duplex.
    const needsWrapper = peeked !== null && peeked.length > 0 && tlsCfg === null && sniffed === 'http2';
    let stream: net.Socket;
    if (needsWrapper) {
      stream = new PrefixedSocket(socket, peeked) as unknown as net.Socket;
    } else {
      if (peeked !== null && peeked.length > 0) socket.unshift(peeked);
      // A TLS socket takes over reading (and the buffered bytes) itself.
      if (tlsCfg === null) socket.resume();
      stream = socket;
    }
    const terminator = chain.tls;
    if (terminator !== null) {
      terminator.terminate(stream, (tlsSock, principal) => {
        const alpn = tlsSock.alpnProtocol;
        // HTTP/1.1 over TLS (ALPN http/1.1, or none) only where the chain serves it.
        if (chain.hcm !== null && alpn !== 'h2' && !acceptsHttp1OverTls(terminator.config, chain.hcm.config)) {
          tlsSock.destroy();
          return;
        }
        downstream.peerPrincipal = principal;
        this.hand(chain, tlsSock, downstream, true, alpn === 'h2' ? 'h2' : 'http/1.1');
      });
      return;
    }
    this.hand(chain, stream, downstream, false, sniffed === 'http2' ? 'h2' : null);
  }

  private hand(
    chain: ChainRuntime,
    socket: net.Socket,
    downstream: FilterDownstream,
    secure: boolean,
    hint: 'h2' | 'http/1.1' | null,
  ): void {
    if (chain.rbac !== null && !admitConnection(chain.rbac, downstream, this.deps.now, this.deps.random)) {
      this.deps.metrics.authzDenied.labels(chain.config.networkRbac!.statPrefix).inc();
      socket.destroy();
      return;
    }
    if (chain.hcm !== null) chain.hcm.handle(socket, { downstream, secure, protocolHint: hint });
    else if (chain.tcp !== null) chain.tcp.handle(socket, downstream);
    else socket.destroy();
  }

  /** Stops accepting; HTTP connections are told to go away. */
  drain(): void {
    this.server?.close();
    for (const c of this.chains.values()) c.hcm?.drain();
  }

  get activeConnections(): number {
    let n = 0;
    for (const c of this.chains.values()) n += (c.hcm?.activeConnections ?? 0) + (c.tcp?.activeConnections ?? 0);
    return n;
  }

  close(): void {
    this.server?.close();
    for (const c of this.chains.values()) {
      c.tls?.close();
      c.hcm?.close();
      c.tcp?.close();
    }
  }
}

/** Names of the RDS route configurations a listener's connection managers use (its warming set). */
export function listenerRdsNames(config: ListenerConfig): string[] {
  const out: string[] = [];
  for (const fc of [...config.filterChains, ...(config.defaultFilterChain ? [config.defaultFilterChain] : [])]) {
    const n = fc.network;
    if (n.kind === 'http_connection_manager' && n.rdsRouteConfigName) out.push(n.rdsRouteConfigName);
  }
  return out;
}
