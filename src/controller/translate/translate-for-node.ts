// Pure model → xDS translation for one proxy: sidecars (Ferry, Envoy) get capture or bound listeners, gRPC clients api_listeners.

import { deepFreeze } from '../../config/freeze';
import { INBOUND_PASSTHROUGH_SOURCE_V4 } from '../../mesh/constants';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../xds/type-urls';
import type { MeshModel, MeshPort, MeshService } from '../model/types';
import type { NodeInfo, Snapshot, Translator } from '../types';
import { blackholeCluster, inboundCluster, inboundPassthroughCluster, loadAssignment, meshedPort, opaqueCluster, opaqueClusterName, outboundCluster, passthroughCluster } from './clusters';
import { outboundClusterName } from './envoy-names';
import { grpcApiListener } from './grpc-listeners';
import { APP_ADDRESSES, appPorts, bindsOutbound, boundInbound, boundOutbound, LABEL_BIND_OUTBOUND } from './bind-listeners';
import { withAccessLogs, type AccessLogSpec } from './access-log';
import { inboundListener, outboundListener, type InboundPort, type TcpClusterFn } from './listeners';
import { type InboundMtlsMode, type MeshSecurity } from './mtls';
import { portRouteConfiguration } from './routes';
import { TranslationCache, type Shared } from './translation-cache';

export { TranslationCache } from './translation-cache';

type Json = Record<string, unknown>;
type Resources = Map<string, Json>;

/** How outbound traffic reaches the sidecar: iptables capture to 15001, or listeners bound at each VIP. */
export type OutboundMode = 'capture' | 'bind';

export interface TranslateOptions {
  /** Unknown outbound destinations go to their original destination (default true); false: BlackHoleCluster. */
  passthrough?: boolean;
  /**
   * `capture` (default): 0.0.0.0:15001 with original-destination chains and 0.0.0.0:15006 inbound.
   * `bind`: no iptables (a local mesh on one machine): a listener per loopback service VIP:port and
   * one per workload port at the pod's own address; unknown destinations are simply not intercepted.
   */
  outbound?: OutboundMode;
  /**
   * The controller runs the mesh CA, so sidecars hold workload certificates. Ferry sidecars then
   * speak mTLS to meshed services (SPIFFE IDs checked), serve their inbound ports per AccessPolicy
   * mode, and every sidecar enforces AccessPolicy allow rules (RBAC). Envoy sidecars stay plaintext:
   * nothing serves them the SDS secrets. Default false.
   */
  mtls?: boolean;
  /** The inbound mode of services no AccessPolicy covers (default PERMISSIVE). */
  mtlsMode?: InboundMtlsMode;
  /** SPIFFE trust domain of workload identities (default: the model's). */
  trustDomain?: string;
  /** Sidecars log every request and TCP connection here (default: no access log). */
  accessLog?: AccessLogSpec | null;
}

export interface ProxyIdentity {
  readonly grpc: boolean;
  readonly namespace: string;
  readonly podIp: string | null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * Who the node is: gRPC (kind, or a user agent naming gRPC) or a sidecar; its namespace and pod IP
 * from metadata (NAMESPACE, POD_IP or INSTANCE_IPS), else from an Istio-style id `sidecar~IP~pod.ns~…`.
 */
export function proxyIdentity(node: NodeInfo): ProxyIdentity {
  const grpc = node.kind === 'grpc' || /grpc/i.test(node.userAgentName);
  const parts = node.id.split('~');
  const fromId = parts.length >= 3 ? parts : null;
  const namespace = str(node.metadata.NAMESPACE) || (fromId ? fromId[2].split('.').slice(1).join('.') : '') || 'default';
  const ips = str(node.metadata.POD_IP) || str(node.metadata.INSTANCE_IPS).split(',')[0] || (fromId ? fromId[1] : '');
  return { grpc, namespace, podIp: ips.trim() || null };
}

/** Proxies with equal keys get equal snapshots. */
export function nodeKey(node: NodeInfo): string {
  const p = proxyIdentity(node);
  if (p.grpc) return 'grpc';
  // Bind mode's per-node choices; absent (as in capture mode) they leave the key as it was.
  const labels = node.metadata.LABELS;
  const bindLabel = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>)[LABEL_BIND_OUTBOUND] : undefined;
  const extra = [node.metadata.APP_PORTS, node.metadata.BIND_OUTBOUND ?? bindLabel].filter((v) => v !== undefined && v !== '');
  // Ferry sidecars resolve workload TLS in-process, Envoy sidecars are served plaintext: never one snapshot for both.
  const kind = node.kind === 'ferry' ? 'ferry' : 'envoy';
  return ['sidecar', kind, p.namespace, p.podIp ?? '', ...extra.map(String)].join('|');
}

function policyId(s: Shared, policy: object | null | undefined): number {
  if (!policy) return 0;
  let id = s.policyIds.get(policy);
  if (id === undefined) s.policyIds.set(policy, (id = s.policyIds.size + 1));
  return id;
}

function frozenMap(entries: Iterable<[string, Json]>): Resources {
  return deepFreeze(new Map(entries));
}

/** With mesh TLS, the trust domain whose identities outbound clusters check; else null (plaintext). */
function tlsDomain(sec: MeshSecurity | null): string | null {
  return sec?.tls ? sec.trustDomain : null;
}

function clusters(cache: TranslationCache, model: MeshModel, grpc: boolean, sec: MeshSecurity | null = null): Resources {
  const out: [string, Json][] = [];
  const td = grpc ? null : tlsDomain(sec);
  const opt = `${grpc}|${td}`;
  for (const svc of model.services) {
    if (svc.headless) continue;
    const memo = cache.service(svc);
    let mine = memo.clusters.get(opt);
    if (!mine) {
      mine = [];
      for (const p of svc.ports) {
        if (grpc && p.protocol === 'tcp') continue;
        const c = deepFreeze(outboundCluster(svc, p, grpc, td));
        mine.push([c.name as string, c]);
        // A meshed port of unknown protocol: its TCP chain gets a twin without ALPN h2.
        if (td !== null && p.protocol === 'unknown' && meshedPort(p, td)) {
          const o = deepFreeze(opaqueCluster(svc, p, td));
          mine.push([o.name as string, o]);
        }
      }
      memo.clusters.set(opt, mine);
    }
    out.push(...mine);
  }
  return frozenMap(out);
}

/** Which cluster a service port's TCP chain uses: the opaque twin for meshed unknown-protocol ports. */
function tcpClusterFn(sec: MeshSecurity | null): TcpClusterFn {
  const td = tlsDomain(sec);
  return (svc: MeshService, p: MeshPort) =>
    td !== null && p.protocol === 'unknown' && meshedPort(p, td) ? opaqueClusterName(p.port, svc.hostname) : outboundClusterName(p.port, svc.hostname);
}

function assignments(cache: TranslationCache, model: MeshModel): Resources {
  const out: [string, Json][] = [];
  for (const svc of model.services) {
    if (svc.headless) continue;
    const memo = cache.service(svc);
    if (!memo.assignments) {
      memo.assignments = svc.ports.map((p) => {
        const la = deepFreeze(loadAssignment(svc, p));
        return [la.cluster_name as string, la] as [string, Json];
      });
    }
    out.push(...memo.assignments);
  }
  return frozenMap(out);
}

function routeConfigs(model: MeshModel, namespace: string, passthrough: boolean): Resources {
  const ports = new Map<number, typeof model.services[number][]>();
  for (const svc of model.services) {
    if (!svc.clusterIP || svc.headless) continue;
    for (const p of svc.ports) {
      if (p.protocol === 'tcp') continue;
      const l = ports.get(p.port);
      if (l) l.push(svc);
      else ports.set(p.port, [svc]);
    }
  }
  const out: [string, Json][] = [];
  for (const port of [...ports.keys()].sort((a, b) => a - b)) {
    // Services of the proxy's own namespace first, so their short names win.
    const list = ports.get(port)!;
    const ordered = [...list.filter((s) => s.namespace === namespace), ...list.filter((s) => s.namespace !== namespace)];
    out.push([String(port), portRouteConfiguration(port, ordered, namespace, passthrough)]);
  }
  return frozenMap(out);
}

/**
 * The workload's own ports: every port at which an endpoint of some service is this pod's IP, with
 * the AccessPolicy of that service. Its mTLS mode is the policy's, or `defaultMode` when no policy
 * covers the service; two services on one port make it STRICT if either is.
 */
export function inboundPorts(model: MeshModel, podIp: string | null, defaultMode: InboundMtlsMode = 'PERMISSIVE'): InboundPort[] {
  if (!podIp) return [];
  return inboundPortsByIp(model, defaultMode).get(podIp) ?? [];
}

/** inboundPorts() for every pod IP of the model at once: one pass over the endpoints instead of one per proxy. */
export function inboundPortsByIp(model: MeshModel, defaultMode: InboundMtlsMode): Map<string, InboundPort[]> {
  const byIp = new Map<string, Map<number, InboundPort>>();
  for (const svc of model.services) {
    // A policy that names no mode (only allow rules or a rate limit) keeps the mesh-wide default.
    const mode = svc.accessPolicy.mtlsMode ?? defaultMode;
    for (const p of svc.ports) {
      for (const e of p.endpoints) {
        let out = byIp.get(e.ip);
        if (!out) byIp.set(e.ip, (out = new Map()));
        const prev = out.get(e.port);
        // Two services on one target port: a declared protocol beats `unknown`.
        if (!prev || (prev.protocol === 'unknown' && p.protocol !== 'unknown')) {
          const strict = mode === 'STRICT' || prev?.mtlsMode === 'STRICT';
          out.set(e.port, { port: e.port, protocol: p.protocol, rateLimit: svc.accessPolicy.rateLimit, policy: svc.accessPolicy, mtlsMode: strict ? 'STRICT' : 'PERMISSIVE' });
        } else if (mode === 'STRICT' && prev.mtlsMode !== 'STRICT') {
          out.set(e.port, { ...prev, mtlsMode: 'STRICT' });
        }
      }
    }
  }
  const result = new Map<string, InboundPort[]>();
  for (const [ip, ports] of byIp) result.set(ip, [...ports.values()].sort((a, b) => a.port - b.port));
  return result;
}

function grpcSnapshot(cache: TranslationCache, model: MeshModel, s: Shared): Snapshot {
  const listeners = cache.byShape('grpc', model.services, () => {
    const out: [string, Json][] = [];
    for (const svc of model.services) {
      if (svc.headless) continue;
      for (const p of svc.ports) {
        if (p.protocol === 'tcp') continue;
        const l = grpcApiListener(svc, p.port);
        out.push([l.name as string, l]);
      }
    }
    return frozenMap(out);
  });
  s.grpcClusters ??= clusters(cache, model, true);
  s.assignments ??= assignments(cache, model);
  return {
    [LISTENER_TYPE]: listeners,
    [ROUTE_TYPE]: frozenMap([]),
    [CLUSTER_TYPE]: s.grpcClusters,
    [ENDPOINT_TYPE]: s.assignments,
  };
}

/**
 * The resources one proxy is served. Pure: shared parts are memoized in `cache` (per model, per
 * service object, per mesh shape), never mutated; a fresh cache gives the same resources.
 */
export function translateForNode(model: MeshModel, node: NodeInfo, options: TranslateOptions = {}, cache = new TranslationCache()): Snapshot {
  const snapshot = sidecarOrGrpcSnapshot(model, node, options, cache);
  const log = options.accessLog;
  if (!log || proxyIdentity(node).grpc) return snapshot;
  // One logged copy per listener map: sidecars that share listeners share the logged ones (and their encoding).
  const listeners = snapshot[LISTENER_TYPE] as Resources;
  const logged = cache.derived(listeners, `access-log|${log.path}|${log.format}`, () =>
    frozenMap([...listeners].map(([name, l]) => [name, withAccessLogs(l, log)] as [string, Json])));
  return { ...snapshot, [LISTENER_TYPE]: logged };
}

function sidecarOrGrpcSnapshot(model: MeshModel, node: NodeInfo, options: TranslateOptions, cache: TranslationCache): Snapshot {
  const passthrough = options.passthrough ?? true;
  const mode = options.outbound ?? 'capture';
  const who = proxyIdentity(node);
  const sec: MeshSecurity | null = options.mtls && !who.grpc
    ? { tls: node.kind === 'ferry', authorize: true, trustDomain: options.trustDomain ?? model.trustDomain }
    : null;
  const defaultMode = options.mtlsMode ?? 'PERMISSIVE';
  const s = cache.shared(model, `${passthrough}|${mode}|${defaultMode}|${who.grpc || !sec ? '' : `${sec.tls}|${sec.authorize}|${sec.trustDomain}`}`);
  if (who.grpc) return (s.grpcSnapshot ??= grpcSnapshot(cache, model, s));

  s.sidecarClusters ??= clusters(cache, model, false, sec);
  s.assignments ??= assignments(cache, model);
  s.inbound ??= inboundPortsByIp(model, defaultMode);
  // In bind mode a pod at 127.0.0.1 gets no inbound listeners (the app holds those ports), so no inbound clusters.
  const ports = who.podIp === null || (mode === 'bind' && APP_ADDRESSES.has(who.podIp)) ? [] : (s.inbound.get(who.podIp) ?? []);
  const app = mode === 'bind' ? appPorts(node.metadata) : new Map<number, number>();
  const clusterKey = ports.map((p) => `${p.port}/${p.protocol}/${app.get(p.port) ?? p.port}`).join(',');
  let clusterMap = s.clusterMaps.get(clusterKey);
  if (!clusterMap) {
    const m = new Map(s.sidecarClusters);
    for (const p of ports) {
      // Capture mode: from 127.0.0.6, which the capture rules pass, so the hop to the app is not redirected again.
      const c = inboundCluster(p.port, p.protocol, app.get(p.port) ?? p.port, mode === 'capture' ? INBOUND_PASSTHROUGH_SOURCE_V4 : null);
      m.set(c.name as string, c);
    }
    if (mode === 'capture') {
      const extra = [passthrough ? passthroughCluster() : blackholeCluster(), inboundPassthroughCluster(INBOUND_PASSTHROUGH_SOURCE_V4)];
      for (const c of extra) m.set(c.name as string, c);
    }
    s.clusterMaps.set(clusterKey, (clusterMap = deepFreeze(m)));
  }
  if (mode === 'bind') {
    s.bound ??= cache.byShape(`bound|${tlsDomain(sec)}`, model.services, () => {
      const b = boundOutbound(model.services, tcpClusterFn(sec));
      return { listeners: frozenMap(b.listeners), routes: frozenMap(b.routes) };
    });
    const inbound = boundInbound(ports, who.podIp, sec).map(([n, l]) => [n, deepFreeze(l)] as [string, Json]);
    const outbound = bindsOutbound(node.metadata);
    const listeners = outbound ? s.bound.listeners : frozenMap([]);
    return {
      [LISTENER_TYPE]: inbound.length ? frozenMap([...listeners, ...inbound]) : listeners,
      [ROUTE_TYPE]: outbound ? s.bound.routes : frozenMap([]),
      [CLUSTER_TYPE]: clusterMap,
      [ENDPOINT_TYPE]: s.assignments,
    };
  }

  s.outbound ??= cache.byShape(`outbound|${passthrough}|${tlsDomain(sec)}`, model.services, () => deepFreeze(outboundListener(model.services, passthrough, tcpClusterFn(sec))));
  let routes = s.routes.get(who.namespace);
  if (!routes) {
    routes = cache.byShape(`routes|${who.namespace}|${passthrough}`, model.services, () => routeConfigs(model, who.namespace, passthrough));
    s.routes.set(who.namespace, routes);
  }
  // The inbound listener is a function of the ports, their policies and the options: pods alike share it.
  const listenerKey = ports.map((p) => `${p.port}/${p.protocol}/${p.mtlsMode}/${policyId(s, p.policy)}/${policyId(s, p.rateLimit)}`).join(',');
  let listeners = s.listenerMaps.get(listenerKey);
  if (!listeners) {
    const inbound = inboundListener(ports, sec, options.mtlsMode === 'STRICT');
    s.listenerMaps.set(listenerKey, (listeners = frozenMap([
      [s.outbound.name as string, s.outbound],
      [inbound.name as string, inbound],
    ])));
  }
  return {
    [LISTENER_TYPE]: listeners,
    [ROUTE_TYPE]: routes,
    [CLUSTER_TYPE]: clusterMap,
    [ENDPOINT_TYPE]: s.assignments,
  };
}

/** The translator the ADS server calls, with options bound and its cache (the controller's, one per translator). */
export function createTranslator(options: TranslateOptions = {}, cache = new TranslationCache()): Translator<MeshModel> {
  return (model, node) => translateForNode(model, node, options, cache);
}
