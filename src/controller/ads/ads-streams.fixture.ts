// Shared by the ADS server's stream tests: a client stream with a response queue, and small xDS resources.

import assert from 'node:assert/strict';
import type { ClientDuplexStream } from '@grpc/grpc-js';

/** One client stream with a queue of received responses. */
export class ClientStream<Req, Res> {
  private readonly queue: Res[] = [];
  private waiters: ((r: Res) => void)[] = [];
  readonly ended: Promise<{ code: number; details: string }>;
  constructor(readonly call: ClientDuplexStream<Req, Res>) {
    call.on('data', (r: Res) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.ended = new Promise((resolve) => {
      call.on('error', (e: { code: number; details: string }) => resolve(e));
      call.on('status', (s: { code: number; details: string }) => resolve(s));
    });
  }
  send(r: Req): void {
    this.call.write(r);
  }
  next(timeoutMs = 3000): Promise<Res> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response within timeout')), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
  /** Resolves when no response arrives for `ms` (a response that does arrive fails the test). */
  async quiet(ms = 150): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(this.queue.length, 0, `unexpected responses: ${JSON.stringify(this.queue)}`);
  }
  get buffered(): number {
    return this.queue.length;
  }
}

export const cluster = (name: string, ms = 1000) => ({ name, type: 'EDS', connect_timeout: `${ms / 1000}s`, eds_cluster_config: { eds_config: { ads: {} } } });
export const cla = (name: string, ip: string) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 80 } } } }] }] });
export const listener = (name: string, route: string) => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
  filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 'x', rds: { route_config_name: route, config_source: { ads: {} } }, http_filters: [{ name: 'router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] } }] }],
});
export const routeConfig = (name: string, clusterName: string) => ({ name, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] }] });
