// Validators for the core Kubernetes objects the mesh reads: Service, EndpointSlice, Pod, Namespace.
//
// These objects come from the API server with many fields the mesh does not read, so unknown
// fields are allowed here (unlike Ferry's own CRDs); the fields read are type-checked by path.

import { workloadFromOwner, type OwnerReference } from '../../mesh/workload-name';
import { isIP } from 'node:net';
import { ConfigError } from '../../errors';
import { Reader } from '../../config/reader';
import { inObject, ipField, objectId, readMeta } from './object-context';
import type { EndpointSliceObject, EndpointSpec, NamespaceObject, PodObject, PortProtocol, ServiceObject, ServicePortSpec } from './types';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * Ports of server-first protocols, where the server speaks before the client: they are opaque TCP
 * unless the Service says otherwise, so no sidecar waits to sniff a first byte that never comes
 * (MySQL, PostgreSQL, Redis, SMTP and submission, Memcached, MongoDB, NATS).
 */
export const SERVER_FIRST_PORTS: ReadonlySet<number> = new Set([3306, 5432, 6379, 25, 587, 11211, 27017, 4222]);

/**
 * The protocol of a port: appProtocol first, else the port name's prefix (`http-web`, `grpc`, `tcp-db`),
 * else opaque TCP for a well-known server-first port, else `unknown` (sniffed).
 */
export function portProtocol(appProtocol: string | null, name: string, port = 0): PortProtocol {
  const p = (appProtocol ?? '').toLowerCase();
  const fromApp = classify(p);
  if (fromApp !== 'unknown') return fromApp;
  const prefix = name.toLowerCase().split('-')[0];
  const fromName = classify(prefix);
  if (fromName !== 'unknown') return fromName;
  return SERVER_FIRST_PORTS.has(port) ? 'tcp' : 'unknown';
}

function classify(p: string): PortProtocol {
  switch (p) {
    case 'http':
    case 'http1':
    case 'kubernetes.io/ws':
      return 'http';
    case 'http2':
    case 'h2c':
    case 'kubernetes.io/h2c':
      return 'http2';
    case 'grpc':
    case 'grpc-web':
      return p === 'grpc' ? 'grpc' : 'http';
    case 'tcp':
    case 'tls':
    case 'https':
    case 'kubernetes.io/wss':
    case 'mongo':
    case 'mysql':
    case 'redis':
      return 'tcp';
    default:
      return 'unknown';
  }
}

function port(r: Reader, key: string, min = 1): number {
  if (!r.has(key)) throw new ConfigError(r.at(key), 'is required');
  return r.int(key, 0, min, 65535);
}

export function parseService(obj: Record<string, unknown>): ServiceObject {
  const meta = readMeta(obj, 'Service', true);
  const id = objectId('Service', meta.namespace, meta.name);
  return inObject(id, () => {
    const spec = new Reader(obj.spec ?? {}, 'spec');
    const type = spec.str('type', 'ClusterIP');
    const rawIp = spec.str('clusterIP');
    const headless = rawIp === 'None';
    const clusterIP = rawIp === '' || headless ? null : ipField(rawIp, spec.at('clusterIP'));
    const names = new Set<string>();
    const ports = spec.objList('ports', (p): ServicePortSpec => {
      const name = p.str('name');
      const number = port(p, 'port');
      const proto = p.str('protocol', 'TCP');
      if (proto !== 'TCP') throw new ConfigError(p.at('protocol'), `${proto} is not supported (only TCP)`);
      const tp = p.get('targetPort');
      let targetPort: number | string = number;
      if (typeof tp === 'string' && !/^\d+$/.test(tp)) targetPort = tp;
      else if (tp !== undefined) targetPort = p.int('targetPort', 0, 1, 65535);
      const appProtocol = p.optStr('appProtocol');
      if (names.has(name)) throw new ConfigError(p.at('name'), `duplicate port name ${JSON.stringify(name)}`);
      names.add(name);
      return { name, port: number, targetPort, appProtocol, protocol: portProtocol(appProtocol, name, number) };
    });
    if (ports.length > 1 && ports.some((p) => p.name === '')) {
      throw new ConfigError(spec.at('ports'), 'every port must be named when there are several');
    }
    const selector = spec.map('selector') as Record<string, string>;
    if (type === 'ExternalName') throw new ConfigError(spec.at('type'), 'ExternalName services are not supported');
    return { kind: 'Service', name: meta.name, namespace: meta.namespace, clusterIP, headless, ports, selector, labels: meta.labels };
  });
}

function endpoint(r: Reader, addressType: string): EndpointSpec {
  const addresses = r.strList('addresses').map((a, i) => {
    if (addressType !== 'FQDN' && isIP(a) === 0) throw new ConfigError(`${r.at('addresses')}[${i}]`, `${a} is not an IP address`);
    return a;
  });
  if (addresses.length === 0) throw new ConfigError(r.at('addresses'), 'at least one address is required');
  const c = r.obj('conditions');
  const ready = c ? c.bool('ready', true) : true;
  const serving = c ? c.bool('serving', ready) : ready;
  const terminating = c ? c.bool('terminating', false) : false;
  let zone = r.str('zone');
  const hints = r.obj('hints');
  if (zone === '' && hints) {
    const zones = hints.objList('forZones', (z) => z.str('name'));
    zone = zones[0] ?? '';
  }
  const t = r.obj('targetRef');
  const targetRef = t ? { kind: t.str('kind'), namespace: t.str('namespace'), name: t.str('name') } : null;
  return { addresses, ready, serving, terminating, zone, nodeName: r.str('nodeName'), targetRef };
}

export function parseEndpointSlice(obj: Record<string, unknown>): EndpointSliceObject {
  const meta = readMeta(obj, 'EndpointSlice', true);
  const id = objectId('EndpointSlice', meta.namespace, meta.name);
  return inObject(id, () => {
    const r = new Reader(obj, '');
    const serviceName = meta.labels[SERVICE_NAME_LABEL];
    if (!serviceName) throw new ConfigError(`metadata.labels.${SERVICE_NAME_LABEL}`, 'is required');
    const addressType = r.enumOf('addressType', ['IPv4', 'IPv6', 'FQDN'], 'IPv4', 'addressType');
    const ports = r.objList('ports', (p) => ({ name: p.str('name'), port: port(p, 'port'), appProtocol: p.optStr('appProtocol') }));
    const endpoints = r.objList('endpoints', (e) => endpoint(e, addressType));
    return { kind: 'EndpointSlice', name: meta.name, namespace: meta.namespace, serviceName, addressType, ports, endpoints };
  });
}

export function parsePod(obj: Record<string, unknown>): PodObject {
  const meta = readMeta(obj, 'Pod', true);
  const id = objectId('Pod', meta.namespace, meta.name);
  return inObject(id, () => {
    const spec = new Reader(obj.spec ?? {}, 'spec');
    const sa = spec.str('serviceAccountName') || spec.str('serviceAccount') || 'default';
    const status = new Reader(obj.status ?? {}, 'status');
    const ips = new Set<string>();
    const podIP = status.str('podIP');
    if (podIP) ips.add(ipField(podIP, status.at('podIP')));
    status.objList('podIPs', (p) => ips.add(ipField(p.str('ip'), p.at('ip'))));
    const m = obj.metadata as { ownerReferences?: unknown };
    const owners = Array.isArray(m.ownerReferences) ? (m.ownerReferences as OwnerReference[]) : null;
    const workload = workloadFromOwner({ labels: meta.labels, ownerReferences: owners });
    return { kind: 'Pod', name: meta.name, namespace: meta.namespace, serviceAccountName: sa, ips: [...ips], labels: meta.labels, workload };
  });
}

export function parseNamespace(obj: Record<string, unknown>): NamespaceObject {
  const meta = readMeta(obj, 'Namespace', false);
  return { kind: 'Namespace', name: meta.name, labels: meta.labels };
}
