// Loopback helpers for tests that drive real peers: a free port, a named HTTP backend, a GET, polling.

import { createServer, get, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

/** A port nothing listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** An HTTP server on 127.0.0.1 answering every request with `name`. */
export async function backend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** GET / on 127.0.0.1:port: the body of a 200, else null (errors and timeouts included). */
export function fetchText(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Polls `cond` every 50 ms; fails naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
