// ClusterLoadAssignment (inline load_assignment or an EDS resource) → LoadAssignmentConfig.

import { isIP } from 'node:net';
import { ConfigError, UnsupportedConfigError } from '../errors';
import type { EndpointConfig, HealthStatus, LoadAssignmentConfig, LocalityEndpointsConfig } from './types';
import { metadataMap, socketAddress } from './common';
import { Reader } from './reader';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

function lbEndpoint(v: unknown, path: string, requireIp: boolean): EndpointConfig {
  const r = new Reader(v, path);
  const e = r.obj('endpoint');
  if (!e) throw new UnsupportedConfigError(r.at('endpoint'), 'is required (endpoint_name is not supported)');
  r.reject('endpoint_name');
  const av = e.get('address');
  if (av === undefined) throw new ConfigError(e.at('address'), 'is required');
  const address = socketAddress(av, e.at('address'), { requireIp });
  let healthCheckPort: number | null = null;
  const hc = e.obj('health_check_config');
  if (hc) {
    const p = hc.int('port_value', 0, 0, 65535);
    healthCheckPort = p === 0 ? null : p;
    hc.reject('hostname', 'address', 'disable_active_health_check');
    hc.done();
  }
  const hostname = e.str('hostname');
  e.reject('additional_addresses');
  e.done();
  const out: EndpointConfig = {
    address,
    healthStatus: r.enumOf('health_status', HEALTH, 'UNKNOWN', 'health_status'),
    weight: r.int('load_balancing_weight', 1, 1, 0xffffffff),
    hostname,
    healthCheckPort,
    metadata: metadataMap(r, 'metadata'),
  };
  // Envoy sends degraded hosts traffic only when the healthy ones fall short; Ferry has no degraded load.
  if (out.healthStatus === 'DEGRADED') throw new UnsupportedConfigError(r.at('health_status'), 'DEGRADED is not supported');
  r.done();
  return out;
}

function localityEndpoints(v: unknown, path: string, requireIp: boolean): LocalityEndpointsConfig {
  const r = new Reader(v, path);
  let locality: LocalityEndpointsConfig['locality'] = null;
  const l = r.obj('locality');
  if (l) {
    locality = { region: l.str('region'), zone: l.str('zone'), subZone: l.str('sub_zone') };
    l.done();
  }
  const endpoints = r.list('lb_endpoints', (item, p) => lbEndpoint(item, p, requireIp));
  const out: LocalityEndpointsConfig = {
    locality,
    priority: r.int('priority', 0, 0, 128),
    weight: r.int('load_balancing_weight', 0, 1, 0xffffffff),
    endpoints,
  };
  r.ignore('metadata');
  r.reject('proximity', 'leds_cluster_locality_config');
  r.done();
  return out;
}

/**
 * A ClusterLoadAssignment. `requireIp` is set for STATIC clusters and EDS resources, whose
 * endpoints must be IP literals.
 */
export function translateClusterLoadAssignment(obj: unknown, path: string, requireIp = true): LoadAssignmentConfig {
  const r = new Reader(obj, path);
  const clusterName = r.requiredStr('cluster_name');
  const localities = r.list('endpoints', (item, p) => localityEndpoints(item, p, requireIp));
  let overprovisioningFactor = 140;
  const p = r.obj('policy');
  if (p) {
    overprovisioningFactor = p.int('overprovisioning_factor', 140, 1, 0xffffffff);
    p.reject('drop_overloads', 'weighted_priority_health', 'endpoint_stale_after', 'disable_overprovisioning');
    p.done();
  }
  r.reject('named_endpoints');
  r.done();
  return { clusterName, localities, overprovisioningFactor };
}

/** Every endpoint address of an assignment, in order (for DNS-type checks). */
export function endpointHosts(la: LoadAssignmentConfig): string[] {
  return la.localities.flatMap((l) => l.endpoints.map((e) => e.address.host));
}

export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}
