// The controller's admin HTTP server: health, readiness, Prometheus metrics, /debug views, /api JSON and pages (the dashboard).

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControllerMetrics } from '../../observability/controller-metrics';
import type { SynczProxy } from '../ads/syncz';

export interface AdminSources {
  readonly metrics: ControllerMetrics;
  readonly syncz: () => SynczProxy[];
  readonly configDump: (proxyId: string) => Record<string, unknown> | null;
  /** Ready when the first model is loaded and translated and the xDS ports are bound. */
  readonly ready: () => boolean;
  /** Further JSON views under /debug/<name> (e.g. registry: allocations, last error). */
  readonly debug?: Readonly<Record<string, () => unknown>>;
  /** JSON APIs under /api/<name> (mesh stats, Prometheus service discovery); a RangeError is a 400. */
  readonly api?: Readonly<Record<string, (query: URLSearchParams) => unknown>>;
  /** Any other path (e.g. the dashboard at / and /dashboard/…): a reply, or null for a 404. */
  readonly pages?: (pathname: string, headers: IncomingHttpHeaders) => Promise<AdminPage | null>;
}

/** A whole reply from a page source. */
export interface AdminPage {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

export class AdminServer {
  private server: Server | null = null;

  constructor(private readonly sources: AdminSources) {}

  /** Listens on host:port (port 0 picks one); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain', `${String(err)}\n`);
        else res.destroy();
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    s.closeAllConnections();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    const s = this.sources;
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/readyz':
        return s.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
      case '/metrics':
        return send(res, 200, s.metrics.registry.contentType, await s.metrics.registry.metrics());
      case '/debug/syncz':
        return json(res, 200, s.syncz());
      case '/debug/config_dump': {
        const id = url.searchParams.get('proxy');
        if (!id) return json(res, 400, { error: 'give ?proxy=<node id>', proxies: s.syncz().map((p) => p.id) });
        const dump = s.configDump(id);
        return dump ? json(res, 200, dump) : json(res, 404, { error: `proxy ${id} is not connected` });
      }
      default: {
        const apiName = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
        const api = apiName ? s.api?.[apiName] : undefined;
        if (api) {
          let body: unknown;
          try {
            body = api(url.searchParams);
          } catch (err) {
            if (err instanceof RangeError) return json(res, 400, { error: err.message });
            throw err;
          }
          return json(res, 200, body);
        }
        const name = url.pathname.startsWith('/debug/') ? url.pathname.slice('/debug/'.length) : '';
        const view = name ? s.debug?.[name] : undefined;
        if (view) return json(res, 200, view());
        const page = s.pages ? await s.pages(url.pathname, req.headers) : null;
        if (page) {
          res.writeHead(page.status, page.status === 304 ? page.headers : { ...page.headers, 'content-length': Buffer.byteLength(page.body) });
          return void res.end(page.body);
        }
        const paths = ['/healthz', '/readyz', '/metrics', '/debug/syncz', '/debug/config_dump?proxy=ID', ...Object.keys(s.debug ?? {}).map((n) => `/debug/${n}`), ...Object.keys(s.api ?? {}).map((n) => `/api/${n}`)];
        return send(res, 404, 'text/plain', `not found; try:\n${paths.join('\n')}\n`);
      }
    }
  }
}

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, code: number, v: unknown): void {
  send(res, code, 'application/json', `${JSON.stringify(v, null, 2)}\n`);
}
