// How a client sidecar names a service's cluster and one replica's endpoint in it, for watching that endpoint (see mesh/host-watch.ts).

import { DEFAULT_CLUSTER_DOMAIN } from '../../src/controller/model/defaults';
import { outboundClusterName } from '../../src/controller/translate/envoy-names';
import type { Mesh } from '../mesh/mesh-up';

export function upstreamHost(mesh: Mesh, service: string, pod: string): { cluster: string; host: string; port: number } {
  const { cluster, port } = serviceCluster(mesh, service);
  // The Service's port is its target port in the chaos mesh (catalog.yaml: port 8080 → http 8080).
  return { cluster, host: `${mesh.pod(pod).ip}:${port}`, port };
}

/** The client sidecar's cluster for a service's first port. */
export function serviceCluster(mesh: Mesh, service: string): { cluster: string; port: number } {
  const s = mesh.state.services.find((x) => x.name === service);
  if (!s) throw new Error(`no service ${service} in the mesh`);
  const port = s.ports[0];
  return { cluster: outboundClusterName(port, `${s.name}.${s.namespace}.svc.${DEFAULT_CLUSTER_DOMAIN}`), port };
}
