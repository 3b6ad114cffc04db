// The injection webhook's HTTPS server: POST /inject, GET /healthz, GET /metrics; a thin shell around review().

import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../src/clock/clock';
import { WebhookMetrics } from '../src/observability/webhook-metrics';
import { FerryError } from '../src/errors';
import { Logger } from '../src/observability/logger';
import { review } from './admission';
import type { InjectOptions } from './types';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface WebhookOptions {
  /** `host:port`, `[v6]:port` or `:port` (all interfaces). Port 0 picks a free one. */
  readonly listen: string;
  /** Paths of the PEM certificate chain and key. */
  readonly cert: string;
  readonly key: string;
  readonly injectOptions: InjectOptions;
  readonly logger?: Logger;
  /** Times each admission review for the duration metric; default systemClock. */
  readonly clock?: Clock;
}

export interface WebhookServer {
  readonly port: number;
  readonly registry: Registry;
  /** Re-reads the certificate and key (after rotation); new connections use them. */
  reloadCertificates(): void;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m || Number(m[3]) > 65535) throw new FerryError('FERRY_ERR_USAGE', `--listen: "${listen}" must be host:port, [ipv6]:port or :port`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port: Number(m[3]) };
}

export async function startWebhook(opts: WebhookOptions): Promise<WebhookServer> {
  const log = opts.logger ?? new Logger('webhook');
  const clock = opts.clock ?? systemClock;
  const { host, port } = parseListen(opts.listen);
  const metrics = new WebhookMetrics();
  const readPem = () => ({ cert: readFileSync(opts.cert), key: readFileSync(opts.key) });

  const server = https.createServer(readPem(), (req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const url = req.url?.split('?')[0];
    if (url === '/healthz' && req.method === 'GET') return send(200, 'text/plain', 'ok\n');
    if (url === '/metrics' && req.method === 'GET') {
      metrics.registry.metrics().then(
        (text) => send(200, metrics.registry.contentType, text),
        (err: Error) => send(500, 'text/plain', `metrics: ${err.message}\n`),
      );
      return;
    }
    if (url !== '/inject') return send(404, 'text/plain', `not found: ${url}\n`);
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return send(405, 'text/plain', 'POST an AdmissionReview to /inject\n');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!tooBig) {
          tooBig = true;
          metrics.requests.inc({ result: 'bad_request' });
          res.setHeader('connection', 'close');
          send(413, 'text/plain', `body larger than ${MAX_BODY_BYTES} bytes\n`);
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (tooBig) return;
      const started = clock.now();
      const answer = review(Buffer.concat(chunks).toString('utf8'), opts.injectOptions);
      metrics.duration.observe((clock.now() - started) / 1000);
      metrics.requests.inc({ result: answer.result });
      if (answer.result === 'error' || answer.result === 'denied' || answer.result === 'bad_request') {
        log.warn('admission request not injected', { result: answer.result, detail: answer.detail });
      } else if (log.enabled('debug')) {
        log.debug('admission request', { result: answer.result, detail: answer.detail });
      }
      send(answer.httpStatus, answer.contentType, answer.body);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error('webhook server error', { err }));
  const bound = (server.address() as AddressInfo).port;
  log.info('webhook listening', { port: bound });

  return {
    port: bound,
    registry: metrics.registry,
    reloadCertificates: () => server.setSecureContext(readPem()),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
