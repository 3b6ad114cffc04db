// The Envoy v3 bootstrap (YAML or JSON file) → Ferry's frozen BootstrapConfig, with cross-resource checks.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { ConfigError, ConfigFileError, UnsupportedConfigError } from '../errors';
import type { AdminConfig, BootstrapConfig, ClusterConfig, DynamicResourcesConfig, ListenerConfig, NodeConfig } from './types';
import { metadataMap, socketAddress } from './common';
import { translateCluster } from './cluster';
import { deepFreeze } from './freeze';
import { adsConfigSource, DEFAULT_INITIAL_FETCH_TIMEOUT_MS } from './http-connection-manager';
import { translateListener } from './listener';
import { Reader } from './reader';
import { referencedClusters, validatesClusters } from './route';

export { translateCluster } from './cluster';
export { translateClusterLoadAssignment } from './endpoints';
export { registerHttpFilterType } from './http-filters';
export { translateListener } from './listener';
export { translateRouteConfiguration } from './route';

function node(r: Reader): NodeConfig {
  const n = r.obj('node');
  if (!n) return { id: '', cluster: '', metadata: {} };
  const out = { id: n.str('id'), cluster: n.str('cluster'), metadata: metadataMap(n, 'metadata') };
  n.ignore('locality', 'user_agent_name', 'user_agent_version', 'user_agent_build_version', 'extensions', 'client_features', 'listening_addresses', 'dynamic_parameters');
  n.done();
  return out;
}

function admin(r: Reader): AdminConfig | null {
  const a = r.obj('admin');
  if (!a) return null;
  const addr = a.get('address');
  a.ignore('access_log', 'access_log_path', 'profile_path', 'ignore_global_conn_limit');
  a.reject('socket_options');
  a.done();
  return addr === undefined ? null : { address: socketAddress(addr, a.at('address'), { requireIp: true }) };
}

function dynamicResources(r: Reader): DynamicResourcesConfig | null {
  const d = r.obj('dynamic_resources');
  if (!d) return null;
  let adsCluster = '';
  const ads = d.obj('ads_config');
  if (ads) {
    const api = ads.enumOf('api_type', ['GRPC', 'DELTA_GRPC', 'AGGREGATED_GRPC', 'AGGREGATED_DELTA_GRPC', 'REST'], 'GRPC', 'api_type');
    if (api !== 'GRPC' && api !== 'AGGREGATED_GRPC') throw new UnsupportedConfigError(ads.at('api_type'), `${api} is not supported (only GRPC)`);
    ads.enumOf('transport_api_version', ['V3'], 'V3', 'transport_api_version (only V3 is supported)');
    const services = ads.objList('grpc_services', (g) => {
      const e = g.obj('envoy_grpc');
      if (!e) throw new UnsupportedConfigError(g.at('envoy_grpc'), 'is required (google_grpc is not supported)');
      const cluster = e.requiredStr('cluster_name');
      e.ignore('authority');
      e.reject('retry_policy', 'max_receive_message_length', 'skip_envoy_headers');
      e.done();
      g.reject('google_grpc', 'initial_metadata', 'retry_policy');
      g.ignore('timeout');
      g.done();
      return cluster;
    });
    if (services.length !== 1) throw new UnsupportedConfigError(ads.at('grpc_services'), 'exactly one gRPC service is supported');
    adsCluster = services[0];
    ads.ignore('set_node_on_first_message_only', 'rate_limit_settings', 'request_timeout');
    ads.reject('cluster_names', 'refresh_delay', 'config_validators', 'xds_config_tracker_extension');
    ads.done();
  }
  const timeouts: number[] = [];
  const source = (key: string): boolean => {
    const v = d.get(key);
    if (v === undefined) return false;
    timeouts.push(adsConfigSource(v, d.at(key)).initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS);
    if (!ads) throw new ConfigError(d.at(key), 'uses ads but dynamic_resources.ads_config is missing');
    return true;
  };
  const lds = source('lds_config');
  const cds = source('cds_config');
  // Start-up waits for both: as long as the longer of the two, or without limit if either has none.
  const initialFetchTimeoutMs = timeouts.length === 0 ? DEFAULT_INITIAL_FETCH_TIMEOUT_MS : timeouts.includes(0) ? 0 : Math.max(...timeouts);
  d.reject('lds_resources_locator', 'cds_resources_locator');
  d.done();
  if (!ads) return null;
  return { adsCluster, lds, cds, initialFetchTimeoutMs };
}

function uniqueNames(items: readonly { name: string }[], path: string): void {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.name)) throw new ConfigError(`${path}[${i}].name`, `duplicate name ${it.name}`);
    seen.add(it.name);
  });
}

function crossCheck(listeners: ListenerConfig[], clusters: ClusterConfig[], dyn: DynamicResourcesConfig | null): void {
  uniqueNames(listeners, 'static_resources.listeners');
  uniqueNames(clusters, 'static_resources.clusters');
  const addrs = new Map<string, string>();
  listeners.forEach((l, i) => {
    const key = `${l.address.host}:${l.address.port}`;
    if (l.address.port !== 0 && addrs.has(key)) {
      throw new ConfigError(`static_resources.listeners[${i}].address`, `${key} is also used by listener ${addrs.get(key)}`);
    }
    addrs.set(key, l.name);
  });
  const known = new Set(clusters.map((c) => c.name));
  if (dyn) {
    if (!known.has(dyn.adsCluster)) {
      throw new ConfigError('dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', `unknown cluster ${dyn.adsCluster} (must be a static cluster)`);
    }
    const ads = clusters.find((c) => c.name === dyn.adsCluster)!;
    if (ads.type === 'EDS') throw new ConfigError('dynamic_resources.ads_config', `ADS cluster ${ads.name} must not be an EDS cluster`);
  } else {
    clusters.forEach((c, i) => {
      if (c.type === 'EDS') throw new ConfigError(`static_resources.clusters[${i}].eds_cluster_config`, 'EDS needs dynamic_resources.ads_config');
    });
  }
  if (dyn?.cds) return; // clusters may arrive later over CDS
  const check = (name: string, path: string) => {
    if (!known.has(name)) throw new ConfigError(path, `unknown cluster '${name}'`);
  };
  listeners.forEach((l, i) => {
    const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
    chains.forEach((fc, j) => {
      const base = `static_resources.listeners[${i}].${j < l.filterChains.length ? `filter_chains[${j}]` : 'default_filter_chain'}.filters[0].typed_config`;
      const n = fc.network;
      if (n.kind === 'tcp_proxy') {
        if (n.cluster) check(n.cluster, `${base}.cluster`);
        n.weightedClusters?.forEach((w, k) => check(w.name, `${base}.weighted_clusters.clusters[${k}].name`));
      } else if (n.routeConfig && validatesClusters(n.routeConfig)) {
        for (const ref of referencedClusters(n.routeConfig)) check(ref.cluster, `${base}.route_config.${ref.path}`);
      }
    });
  });
}

/** Translates a parsed bootstrap object. `source` names the file in messages. */
export function translateBootstrap(obj: unknown, source?: string): BootstrapConfig {
  try {
    const r = new Reader(obj ?? {}, '');
    const n = node(r);
    const adm = admin(r);
    let listeners: ListenerConfig[] = [];
    let clusters: ClusterConfig[] = [];
    const s = r.obj('static_resources');
    if (s) {
      listeners = s.list('listeners', translateListener);
      clusters = s.list('clusters', translateCluster);
      s.reject('secrets');
      s.done();
    }
    const dyn = dynamicResources(r);
    if (dyn && (n.id === '' || n.cluster === '')) {
      throw new ConfigError('node', "'id' and 'cluster' are required with dynamic_resources");
    }
    r.ignore(
      'stats_config',
      'stats_sinks',
      'stats_flush_interval',
      'stats_flush_on_admin',
      'stats_server_version_override',
      'watchdog',
      'watchdogs',
      'flags_path',
      'fatal_actions',
      'node_context_params',
      'enable_dispatcher_stats',
      'application_log_config',
      'perf_tracing_file_path',
    );
    r.reject(
      'layered_runtime',
      'cluster_manager',
      'hds_config',
      'tracing',
      'overload_manager',
      'use_tcp_for_dns_lookups',
      'dns_resolution_config',
      'typed_dns_resolver_config',
      'bootstrap_extensions',
      'config_sources',
      'default_config_source',
      'default_socket_interface',
      'certificate_provider_instances',
      'inline_headers',
      'header_prefix',
      'default_regex_engine',
      'xds_delegate_extension',
      'xds_config_tracker_extension',
      'listener_manager',
      'grpc_async_client_manager_config',
      'memory_allocator_manager',
      'dynamic_modules',
    );
    r.done();
    crossCheck(listeners, clusters, dyn);
    return deepFreeze({ node: n, admin: adm, listeners, clusters, dynamicResources: dyn, statsAddress: null });
  } catch (e) {
    if (source && e instanceof ConfigError && !e.message.startsWith(source)) {
      e.message = `${source}: ${e.message}`;
    }
    throw e;
  }
}

/** Where the YAML parser (JSON is YAML) first fails, when JSON.parse does not say. */
function yamlErrorLine(text: string): number | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return doc.errors.length > 0 ? lineCounter.linePos(doc.errors[0].pos[0]).line : null;
}

/** Reads a .yaml/.yml/.json bootstrap file and translates it. */
export function loadBootstrapFile(file: string): BootstrapConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(file, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  let obj: unknown;
  if (extname(file).toLowerCase() === '.json') {
    try {
      obj = JSON.parse(text);
    } catch (e) {
      const m = /position (\d+)/.exec((e as Error).message);
      const line = m ? text.slice(0, Number(m[1])).split('\n').length : yamlErrorLine(text);
      throw new ConfigFileError(file, `${line ? `line ${line}: ` : ''}invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  } else {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, schema: 'yaml-1.1' });
    if (doc.errors.length > 0) {
      const err = doc.errors[0];
      const pos = lineCounter.linePos(err.pos[0]);
      throw new ConfigFileError(file, `line ${pos.line}, column ${pos.col}: ${err.message.split('\n')[0]}`, { cause: err });
    }
    if (doc.contents !== null && !isMap(doc.contents)) {
      throw new ConfigFileError(file, 'line 1: the bootstrap must be a YAML mapping');
    }
    try {
      obj = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (e) {
      // An alias before its anchor, or too many aliases: the parse lets them through.
      throw new ConfigFileError(file, (e as Error).message, { cause: e });
    }
  }
  return translateBootstrap(obj, file);
}
