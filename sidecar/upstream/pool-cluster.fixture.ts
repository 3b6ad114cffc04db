// Shared helpers for the pool tests that configure pools from a cluster: the cluster, a loopback listener,
// waiting for a condition.

import type { TestContext } from 'node:test';
import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { translateCluster } from '../../src/config/cluster';
import type { ClusterConfig } from '../../src/config/types';

/** A cluster named c with one loopback endpoint on `port`; `extra` adds Envoy cluster fields. */
export function cluster(port: number, extra: Record<string, unknown> = {}): ClusterConfig {
  return translateCluster(
    {
      name: 'c',
      connect_timeout: '1s',
      load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
      ...extra,
    },
    'clusters[0]',
  );
}

/** Listens on loopback; after the test, `drop` ends open connections, then the server closes. */
export async function listen(t: TestContext, server: http.Server | http2.Http2Server, drop: () => void): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    drop();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as AddressInfo).port;
}

/** Resolves once `cond` holds, checking after each turn of the event loop (the test's timeout bounds it). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}
