// Model → the api_listeners proxyless gRPC clients resolve: one per `<svc>.<ns>.svc.cluster.local:<port>`.
//
// gRPC needs api_listener (Envoy rejects them over LDS, so sidecars never get these). The route
// configuration is inline, with only what grpc-js-xds accepts: prefix/path/regex matches,
// header string matches, cluster or weighted_clusters, max_stream_duration, gRPC-code retries.

import type { MeshService } from '../model/types';
import { HCM_TYPE, routerFilter } from './envoy-names';
import { serviceRoutes } from './routes';

type Json = Record<string, unknown>;

export function grpcListenerName(svc: MeshService, port: number): string {
  return `${svc.hostname}:${port}`;
}

export function grpcApiListener(svc: MeshService, port: number): Json {
  const name = grpcListenerName(svc, port);
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM_TYPE,
        stat_prefix: name,
        route_config: { name, virtual_hosts: [{ name, domains: ['*'], routes: serviceRoutes(svc, port, true) }] },
        http_filters: [routerFilter('router')],
      },
    },
  };
}
