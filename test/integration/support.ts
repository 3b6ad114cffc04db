// Test support for integration tests: upstream servers on port 0, a proxy from a fixture, and an
// HTTP client that reports status, headers and body.

import * as http from 'node:http';
import * as net from 'node:net';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadBootstrapFile } from '../../src/config/bootstrap';
import { Logger } from '../../src/observability/logger';
import { parsePrometheusText, sumWhere } from '../../src/observability/prom-text';
import { Proxy, type ProxyOptions } from '../../sidecar/proxy';
import type { BootstrapConfig } from '../../src/config/types';
import { renderFixture } from '../fixtures/envoy/render';

export interface Upstream {
  readonly port: number;
  readonly server: http.Server | net.Server;
  hits: number;
  close(): Promise<void>;
}

export async function httpUpstream(handler: http.RequestListener): Promise<Upstream> {
  const server = http.createServer();
  const u: Upstream = {
    port: 0,
    server,
    hits: 0,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  server.on('request', (req, res) => {
    u.hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (u as { port: number }).port = (server.address() as AddressInfo).port;
  return u;
}

export async function tcpUpstream(onConn: (s: net.Socket) => void): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    u.hits++;
    onConn(s);
  });
  const u: Upstream = {
    port: 0,
    server,
    hits: 0,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (u as { port: number }).port = (server.address() as AddressInfo).port;
  return u;
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startProxy(
  fixture: string,
  vars: Record<string, string | number>,
  options: ProxyOptions = {},
  edit: (cfg: BootstrapConfig) => BootstrapConfig = (c) => c,
): Promise<Proxy> {
  const file = renderFixture(fixture, vars);
  try {
    const proxy = new Proxy(edit(loadBootstrapFile(file)), { logger: new Logger('test', 'error'), ...options });
    await proxy.start();
    return proxy;
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export function request(
  port: number,
  path: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string; agent?: http.Agent | false } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export async function metric(proxy: Proxy, name: string, where: Record<string, string> = {}): Promise<number> {
  return sumWhere(parsePrometheusText(await proxy.metricsText()), name, where);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 5_000, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
}
