// The admin server (127.0.0.1:15000 by default): readiness, config dump, clusters, stats, drain, certificate renewal, quit.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the admin server asks of the proxy it administers. */
export interface AdminTarget {
  readonly state: 'PRE_INITIALIZING' | 'LIVE' | 'DRAINING';
  /** False while a required workload certificate is missing (not ready, though LIVE). */
  readonly identityReady?: boolean;
  configDump(): unknown;
  clustersText(): string;
  clustersJson(): unknown;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  drainListeners(): void;
  quit(): void;
  /** Renews the workload certificate now: its serial, expiry and root; null without one to renew. */
  renewIdentity?(): Promise<{ serial: string; notAfter: string; root: string } | null>;
}

export class AdminServer {
  private server: http.Server | null = null;

  constructor(
    private readonly target: AdminTarget,
    private readonly address: { host: string; port: number },
  ) {}

  listen(): Promise<number> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`admin error: ${String(err)}\n`);
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    const t = this.target;
    const text = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, jsonReplacer, 2) + '\n');
    };
    switch (url.pathname) {
      case '/ready': {
        const ready = t.state === 'LIVE' && t.identityReady !== false;
        return text(ready ? 200 : 503, ready || t.state !== 'LIVE' ? `${t.state}\n` : 'LIVE (no workload certificate)\n');
      }
      case '/server_info':
        return json(200, { state: t.state, version: 'ferry/0.1.0' });
      case '/config_dump':
        return json(200, t.configDump());
      case '/clusters':
        if (url.searchParams.get('format') === 'json') return json(200, t.clustersJson());
        return text(200, t.clustersText());
      case '/stats/prometheus':
      case '/metrics': {
        const body = await t.metricsText();
        res.writeHead(200, { 'content-type': t.metricsContentType });
        res.end(body);
        return;
      }
      case '/drain_listeners':
        if (method !== 'POST') return text(405, 'use POST\n');
        t.drainListeners();
        return text(200, 'OK\n');
      case '/identity/renew': {
        if (method !== 'POST') return text(405, 'use POST\n');
        try {
          const renewed = t.renewIdentity ? await t.renewIdentity() : null;
          if (renewed === null) return text(404, 'this proxy has no workload identity to renew\n');
          return json(200, renewed);
        } catch (err) {
          // The CA refused or is away: the certificate in use stays, the loop retries with back-off.
          return text(503, `renewal failed: ${(err as Error).message}\n`);
        }
      }
      case '/quitquitquit':
        if (method !== 'POST') return text(405, 'use POST\n');
        text(200, 'OK\n');
        setImmediate(() => t.quit());
        return;
      case '/':
        return text(
          200,
          ['/ready', '/server_info', '/config_dump', '/clusters', '/stats/prometheus', 'POST /drain_listeners', 'POST /identity/renew', 'POST /quitquitquit'].join(
            '\n',
          ) + '\n',
        );
      default:
        return text(404, `no admin endpoint ${url.pathname}\n`);
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** JSON for config objects: Buffers (keys, certificates) are redacted, Sets and RegExps shown. */
export function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  if (value instanceof Set) return [...value];
  if (value instanceof RegExp) return value.source;
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return key === 'privateKey' ? '[redacted]' : `[${(value as { data: unknown[] }).data.length} bytes]`;
  }
  return value;
}
