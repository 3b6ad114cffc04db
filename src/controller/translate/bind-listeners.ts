// Bind mode (a local mesh without iptables): a listener bound at each service VIP:port, and one at the pod's own address per workload port.

import { ConfigError } from '../../errors';
import type { MeshService } from '../model/types';
import { ADS_SOURCE, LISTENER_FILTERS, outboundClusterName, socketAddress } from './envoy-names';
import { chains, hcm, inboundChains, inspectorsFor, tcpProxy, type InboundPort, type TcpClusterFn } from './listeners';
import type { MeshSecurity } from './mtls';
import { serviceRouteConfiguration } from './routes';

type Json = Record<string, unknown>;

/** Addresses the machine owns without configuration: 127.0.0.0/8 and ::1. */
export function isLoopback(ip: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip) || ip === '::1';
}

/** Where the app listens inside the "pod": the sidecar forwards inbound traffic to 127.0.0.1:<port>. */
export const APP_ADDRESSES = new Set(['127.0.0.1', '::1']);

/**
 * Node metadata `APP_PORTS` (`"8080:18080,9090:19090"`): the workload port the registry lists →
 * the port the app really listens at on 127.0.0.1. On one machine two replicas cannot both hold
 * 127.0.0.1:8080, so each says where its app is. A port not listed is the app's port too.
 */
export function appPorts(metadata: Readonly<Record<string, unknown>>): ReadonlyMap<number, number> {
  const raw = metadata.APP_PORTS;
  const out = new Map<number, number>();
  if (raw === undefined || raw === '') return out;
  if (typeof raw !== 'string') throw new ConfigError('node.metadata.APP_PORTS', 'must be a string like "8080:18080"');
  const port = (s: string): number => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new ConfigError('node.metadata.APP_PORTS', `${JSON.stringify(s)} is not a port 1–65535`);
    return n;
  };
  for (const item of raw.split(',')) {
    const [from, to, ...rest] = item.trim().split(':');
    if (to === undefined || rest.length) throw new ConfigError('node.metadata.APP_PORTS', `${JSON.stringify(item)} is not PORT:APP_PORT`);
    out.set(port(from), port(to));
  }
  return out;
}

/** The pod label that stands for BIND_OUTBOUND when a sidecar's node metadata comes from the pod (FERRY_POD_LABELS). */
export const LABEL_BIND_OUTBOUND = 'ferry.io/bind-outbound';

/**
 * Node metadata `BIND_OUTBOUND` (`"true"` by default): whether this proxy binds the service VIPs.
 * One socket address has one owner, so on one machine a single sidecar carries the outbound side
 * and the others (`"false"`) serve only their pod's inbound ports. A sidecar started from the pod
 * environment has no free-form metadata; its pod label `ferry.io/bind-outbound` says the same.
 */
export function bindsOutbound(metadata: Readonly<Record<string, unknown>>): boolean {
  const labels = metadata.LABELS;
  const fromLabel = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>)[LABEL_BIND_OUTBOUND] : undefined;
  const v = metadata.BIND_OUTBOUND ?? fromLabel;
  if (v === undefined || v === 'true' || v === true) return true;
  if (v === 'false' || v === false) return false;
  const path = metadata.BIND_OUTBOUND !== undefined ? 'node.metadata.BIND_OUTBOUND' : `node.metadata.LABELS["${LABEL_BIND_OUTBOUND}"]`;
  throw new ConfigError(path, `${JSON.stringify(v)} is not "true" or "false"`);
}

function httpInspector(protocol: string): Json[] {
  // Only a port of unknown protocol is sniffed; declared ports need no listener filter.
  return protocol === 'unknown' ? [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': LISTENER_FILTERS.httpInspector } }] : [];
}

/** `<ip>_<port>` (Istio's listener naming). */
function bindName(ip: string, port: number): string {
  return `${ip}_${port}`;
}

export interface BoundOutbound {
  /** Listener name → Listener. */
  readonly listeners: [string, Json][];
  /** Route configuration name → RouteConfiguration (HTTP ports only). */
  readonly routes: [string, Json][];
}

/**
 * One listener per service VIP:port, bound at that address, HTTP through RDS `<vip>_<port>` (a
 * single `*` virtual host: the address already names the service) or TCP to the cluster. Services
 * whose VIP is not a loopback address are left out: no local socket could bind it.
 */
export function boundOutbound(services: readonly MeshService[], tcpCluster: TcpClusterFn = (svc, p) => outboundClusterName(p.port, svc.hostname)): BoundOutbound {
  const listeners: [string, Json][] = [];
  const routes: [string, Json][] = [];
  for (const svc of services) {
    if (!svc.clusterIP || svc.headless || !isLoopback(svc.clusterIP)) continue;
    for (const p of svc.ports) {
      const name = bindName(svc.clusterIP, p.port);
      const cluster = tcpCluster(svc, p);
      const filterChains = chains(
        name,
        {},
        p.protocol,
        () => hcm(`outbound_${name}`, { rds: { route_config_name: name, config_source: ADS_SOURCE } }),
        () => tcpProxy(cluster, cluster),
      );
      listeners.push([
        name,
        {
          name,
          address: socketAddress(svc.clusterIP, p.port),
          traffic_direction: 'OUTBOUND',
          listener_filters: httpInspector(p.protocol),
          filter_chains: filterChains,
        },
      ]);
      if (p.protocol !== 'tcp') routes.push([name, serviceRouteConfiguration(name, svc, p.port)]);
    }
  }
  return { listeners, routes };
}

/**
 * The workload's ports, each a listener at `<podIp>:<port>` forwarding to the app on
 * 127.0.0.1:<port>. A pod whose address is 127.0.0.1 itself gets none: the app holds those ports.
 */
export function boundInbound(ports: readonly InboundPort[], podIp: string | null, sec: MeshSecurity | null = null): [string, Json][] {
  if (!podIp || APP_ADDRESSES.has(podIp)) return [];
  return ports.map((p) => {
    const name = `inbound_${bindName(podIp, p.port)}`;
    const filterChains = inboundChains(p, {}, sec);
    return [
      name,
      {
        name,
        address: socketAddress(podIp, p.port),
        traffic_direction: 'INBOUND',
        listener_filters: inspectorsFor(filterChains),
        filter_chains: filterChains,
      },
    ];
  });
}
