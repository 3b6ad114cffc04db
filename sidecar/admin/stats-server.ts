// The stats server (the bootstrap's stats address, 15090 in a pod): Prometheus metrics at /metrics and /stats/prometheus.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where the metrics come from: the proxy's registry. */
export interface MetricsSource {
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
}

/** The paths that serve metrics; anything else is 404 pointing at /metrics. */
export const METRICS_PATHS: ReadonlySet<string> = new Set(['/metrics', '/stats/prometheus']);

export class StatsServer {
  private server: http.Server | null = null;

  constructor(
    private readonly source: MetricsSource,
    private readonly address: { readonly host: string; readonly port: number },
  ) {}

  /** Binds the address; resolves with the port (the address may name port 0). */
  listen(): Promise<number> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!METRICS_PATHS.has(req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('metrics are at /metrics\n');
      return;
    }
    this.source.metricsText().then(
      (body) => {
        res.writeHead(200, { 'content-type': this.source.metricsContentType });
        res.end(body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  }

  /** Closes the server and the connections it holds. */
  close(): Promise<void> {
    const server = this.server;
    if (server === null) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
