// A listener: accepts connections, inspects them when chains need it, picks the filter chain,
// terminates TLS, and hands the connection to its network filter (HTTP or TCP proxy).

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { FilterChainConfig, ListenerConfig } from '../../src/config/types';
import type { ProxyMetrics } from '../../src/observability/metrics';
import type { WorkloadLabels } from '../../src/observability/istio-labels';
import type { Logger } from '../../src/observability/logger';
import type { ClusterManager } from '../cluster/cluster-manager';
import type { FilterDownstream, HttpFilterContext } from '../filters/types';
import { compileRules, permitted, type CompiledRules } from '../filters/rbac';
import { HttpConnectionManager } from '../connection-manager/connection-manager';
import type { RouteTable } from '../router/route-table';
import { TcpProxy } from '../tcp/tcp-proxy';
import { FilterChainMatcher, needsInspection } from './filter-chain-match';
import { sniff } from './sniff';
import { PrefixedSocket } from './prefixed-socket';
import { Cidr, parseIp } from '../../src/net/cidr';
import { spiffeIdOf, verifyPeerSubjectAltNames } from '../tls/san-verify';
import { getOriginalDst } from '../native/original-dst';
import { downstreamSecureOptions, usesIdentity, type WorkloadIdentity } from '../tls/workload-identity';

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
}

interface ChainRuntime {
  readonly config: FilterChainConfig;
  /** Compiled network RBAC rules (null: no filter, or a filter with no rules). */
  readonly rbac: CompiledRules | null;
  readonly hcm: HttpConnectionManager | null;
  readonly tcp: TcpProxy | null;
  /** TLS context for TCP chains that terminate TLS; rebuilt when the workload identity rotates. */
  secureContext: tls.SecureContext | null;
}

const MAX_SNIFF_BYTES = 16 * 1024;

export class Listener {
  private server: net.Server | null = null;
  private matcher!: FilterChainMatcher;
  private inspect = false;
  private chains = new Map<FilterChainConfig, ChainRuntime>();
  private sniffCache = new Map<string, boolean>();
  private readonly reporter: string;

  constructor(
    public config: ListenerConfig,
    private readonly deps: ListenerDeps,
    private readonly workerHandle?: { exclusive: boolean },
  ) {
    this.reporter = /inbound/i.test(config.name) ? 'destination' : 'source';
    this.configure(config);
  }

  private configure(config: ListenerConfig): void {
    this.config = config;
    this.sniffCache = new Map();
    this.matcher = new FilterChainMatcher(config);
    // AUTO codec over plaintext must see the first bytes to tell HTTP/2 prior knowledge from HTTP/1.
    const autoPlain = [...config.filterChains, ...(config.defaultFilterChain ? [config.defaultFilterChain] : [])].some(
      (fc) => fc.tls === null && fc.network.kind === 'http_connection_manager' && fc.network.codecType === 'AUTO',
    );
    this.inspect = needsInspection(config) || config.tlsInspector || config.httpInspector || autoPlain;
    const chains = new Map<FilterChainConfig, ChainRuntime>();
    const all = [...config.filterChains];
    if (config.defaultFilterChain) all.push(config.defaultFilterChain);
    for (const fc of all) chains.set(fc, this.buildChain(fc));
    this.chains = chains;
  }

  /**
   * Replaces the filter chains in place (same address): new connections get the new chains at
   * once; connections already open finish on the old ones, which drain and then close.
   */
  update(config: ListenerConfig): void {
    const old = this.chains;
    this.configure(config);
    for (const c of old.values()) {
      c.hcm?.drain();
      const closeWhenIdle = (): void => {
        if ((c.hcm?.activeConnections ?? 0) + (c.tcp?.activeConnections ?? 0) === 0) {
          c.hcm?.close();
          return;
        }
        setTimeout(closeWhenIdle, 1_000).unref();
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
            reporter: this.reporter,
            source: d.source,
            listenerName: this.config.name,
            routeConfigByName: d.routeConfigByName,
              identity: d.identity,
              bufferLimitBytes: this.config.perConnectionBufferLimitBytes,
            },
            fc.tls,
          )
        : null;
    const tcp =
      net.kind === 'tcp_proxy'
        ? new TcpProxy(net, { clusters: d.clusters, metrics: d.metrics, logger: d.logger, random: d.random, reporter: this.reporter, source: d.source })
        : null;
    const runtime: ChainRuntime = { config: fc, hcm, tcp, secureContext: null, rbac: fc.networkRbac?.rules ? compileRules(fc.networkRbac.rules) : null };
    const t = fc.tls;
    if (t !== null && tcp !== null) {
      const build = (): void => {
        try {
          runtime.secureContext = tls.createSecureContext(downstreamSecureOptions(t, d.identity ?? null));
        } catch {
          runtime.secureContext = null; // no workload certificate yet: connections are refused
        }
      };
      build();
      if (usesIdentity(t) && d.identity) d.identity.onRotate(build);
    }
    return runtime;
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

  /**
   * Whether any chain that could serve this destination chooses by what the client sends first (SNI,
   * ALPN, TLS or not) or must see an HTTP/2 preface. Answers are cached per destination.
   */
  private mayNeedBytes(ip: string, port: number): boolean {
    const key = `${ip}|${port}`;
    const cached = this.sniffCache.get(key);
    if (cached !== undefined) return cached;
    const addr = parseIp(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
    let needs = false;
    const candidates = [...this.config.filterChains, ...(this.config.defaultFilterChain ? [this.config.defaultFilterChain] : [])];
    for (const fc of candidates) {
      const m = fc.match;
      if (m.destinationPort !== null && m.destinationPort !== port) continue;
      if (m.prefixRanges.length > 0 && addr !== null && !m.prefixRanges.some((r) => Cidr.parse(r.address, r.prefixLen)?.contains(addr))) continue;
      if (
        m.serverNames.length > 0 ||
        m.transportProtocol !== null ||
        m.applicationProtocols.length > 0 ||
        (fc.tls === null && fc.network.kind === 'http_connection_manager' && fc.network.codecType === 'AUTO')
      ) {
        needs = true;
        break;
      }
    }
    if (this.sniffCache.size > 4096) this.sniffCache.clear();
    this.sniffCache.set(key, needs);
    return needs;
  }

  private sniffThenDispatch(socket: net.Socket, downstream: FilterDownstream & { peerPrincipal: string | null }): void {
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const timeoutMs = this.config.listenerFiltersTimeoutMs;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
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
      if (timer) clearTimeout(timer);
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
        if (timer) clearTimeout(timer);
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
    if (tlsCfg !== null && chain.hcm !== null) {
      const rbac = chain.rbac;
      chain.hcm.handleTls(stream, {
        downstream,
        secure: true,
        protocolHint: null,
        admit:
          rbac === null
            ? undefined
            : (d) => {
                if (this.connectionPermitted(rbac, d)) return true;
                this.deps.metrics.authzDenied.labels(chain.config.networkRbac!.statPrefix).inc();
                return false;
              },
      });
      return;
    }
    if (tlsCfg !== null && chain.secureContext === null) {
      socket.destroy();
      return;
    }
    if (tlsCfg !== null && chain.secureContext !== null) {
      const tlsSock = new tls.TLSSocket(stream, {
        isServer: true,
        secureContext: chain.secureContext,
        requestCert: tlsCfg.requireClientCertificate || tlsCfg.ca !== null || tlsCfg.workloadTrustBundle,
        rejectUnauthorized: tlsCfg.requireClientCertificate,
        ALPNProtocols: tlsCfg.alpnProtocols.length > 0 ? [...tlsCfg.alpnProtocols] : undefined,
      });
      tlsSock.on('error', () => tlsSock.destroy());
      const handshakeTimer = setTimeout(() => tlsSock.destroy(), 10_000);
      tlsSock.once('secure', () => {
        clearTimeout(handshakeTimer);
        const peer = tlsSock.getPeerCertificate();
        const hasPeer = peer && Object.keys(peer).length > 0;
        if (hasPeer && tlsCfg.matchSubjectAltNames.length > 0) {
          const err = verifyPeerSubjectAltNames(peer, tlsCfg.matchSubjectAltNames);
          if (err) {
            tlsSock.destroy();
            return;
          }
        }
        downstream.peerPrincipal = hasPeer ? spiffeIdOf(peer) : null;
        const alpn = tlsSock.alpnProtocol;
        this.hand(chain, tlsSock, downstream, true, alpn === 'h2' ? 'h2' : null);
      });
      tlsSock.once('close', () => clearTimeout(handshakeTimer));
      return;
    }
    this.hand(chain, stream, downstream, false, sniffed === 'http2' ? 'h2' : null);
  }

  private hand(
    chain: ChainRuntime,
    socket: net.Socket,
    downstream: FilterDownstream,
    secure: boolean,
    hint: 'h2' | null,
  ): void {
    if (chain.rbac !== null && !this.connectionPermitted(chain.rbac, downstream)) {
      this.deps.metrics.authzDenied.labels(chain.config.networkRbac!.statPrefix).inc();
      socket.destroy();
      return;
    }
    if (chain.hcm !== null) chain.hcm.handle(socket, { downstream, secure, protocolHint: hint });
    else if (chain.tcp !== null) chain.tcp.handle(socket, downstream);
    else socket.destroy();
  }

  /** Network RBAC: the connection's peer identity, address and destination port against the rules. */
  private connectionPermitted(rules: CompiledRules, downstream: FilterDownstream): boolean {
    const ctx: HttpFilterContext = {
      request: { method: '', scheme: '', authority: '', path: '', headers: {} },
      downstream,
      route: null,
      now: this.deps.now,
      random: this.deps.random,
    };
    return permitted(rules, ctx, { method: '', path: '', headers: {} });
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
