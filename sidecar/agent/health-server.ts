// The sidecar's health port (15020): the proxy's own readiness and the app's rewritten probes.
//
//   GET /healthz/ready                      200 while the proxy is LIVE, else 503 (the proxy's probes)
//   GET /app-health/<container>/<kind>      runs the app's original probe locally: 200 or 503 + reason
//
// Unknown paths, containers and kinds answer 404, so a typo shows up as a failing probe with a reason.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP_HEALTH_PATH_PREFIX, PORT_HEALTH, READY_PATH } from '../../src/mesh/constants';
import type { Logger } from '../../src/observability/logger';
import type { AppProbes } from './app-probes';
import { runAppProbe, type ProbeResult, type ProbeTarget } from './app-probe-runner';

export interface HealthServerOptions {
  /** True while the proxy is LIVE (configured and not draining). */
  readonly ready: () => boolean;
  readonly probes: AppProbes;
  /** Listen address; default: every address (the kubelet probes the pod IP). */
  readonly host?: string;
  /** Default 15020; tests use 0. */
  readonly port?: number;
  /** Where the app's probes go (default 127.0.0.1) and the Host header they carry. */
  readonly target?: ProbeTarget;
  readonly logger?: Logger;
  /** Replaceable for tests; default runs the probe for real. */
  readonly runProbe?: typeof runAppProbe;
}

export class HealthServer {
  private server: http.Server | null = null;
  port = 0;

  constructor(private readonly options: HealthServerOptions) {}

  listen(): Promise<number> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? PORT_HEALTH, this.options.host, () => {
        server.off('error', reject);
        this.port = (server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'use GET');
    const path = (req.url ?? '/').split('?')[0];
    if (path === READY_PATH) {
      let ready = false;
      try {
        ready = this.options.ready();
      } catch {
        ready = false;
      }
      return text(ready ? 200 : 503, ready ? 'LIVE' : 'not ready');
    }
    if (!path.startsWith(APP_HEALTH_PATH_PREFIX)) return text(404, `no health endpoint ${path}`);
    let key: string;
    try {
      key = decodeURIComponent(path.slice(APP_HEALTH_PATH_PREFIX.length));
    } catch {
      return text(404, `no app probe ${path.slice(APP_HEALTH_PATH_PREFIX.length)}`);
    }
    const probe = this.options.probes.get(key);
    if (!probe) return text(404, `no app probe ${key} (known: ${[...this.options.probes.keys()].join(', ') || 'none'})`);
    if ('invalid' in probe) return text(503, `probe ${key} cannot run: ${probe.invalid}`);
    const run = this.options.runProbe ?? runAppProbe;
    run(probe.action, probe.timeoutMs, this.options.target).then(
      (r: ProbeResult) => {
        if (!r.ok) this.options.logger?.debug('app probe failed', { probe: key, detail: r.detail });
        text(r.ok ? 200 : 503, r.detail);
      },
      (err: unknown) => text(503, `probe ${key} failed: ${String(err)}`),
    );
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = null;
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
