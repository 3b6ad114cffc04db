// A tiny fake Kubernetes API server for tests: canned list responses and scripted chunked watch streams.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WatchRequest {
  readonly path: string;
  readonly resourceVersion: string;
}

/**
 * Serves `GET <path>` from `lists` (404 when absent, or a queued failure status), and
 * `GET <path>?watch=true` as a held-open stream the test writes events into.
 */
export class FakeKubeApi {
  readonly lists = new Map<string, unknown>();
  readonly listRequests: string[] = [];
  readonly watchRequests: WatchRequest[] = [];
  /** Status codes to answer the next list requests of a path with, in order. */
  readonly failNextLists = new Map<string, number[]>();
  private readonly streams = new Map<string, ServerResponse[]>();
  private readonly waiters: { path: string; resolve: () => void }[] = [];
  private server: Server | null = null;
  url = '';

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const list of this.streams.values()) for (const res of list) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Resolves once a watch on `path` is open. */
  watching(path: string): Promise<void> {
    if ((this.streams.get(path) ?? []).length > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ path, resolve }));
  }

  /** Writes one watch event (a JSON line) to every open watch on `path`. */
  send(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR' | 'BOOKMARK', object: unknown): void {
    for (const res of this.streams.get(path) ?? []) res.write(JSON.stringify({ type, object }) + '\n');
  }

  /** Ends the open watches on `path` (the server closing them, as the API server does after a timeout). */
  endWatches(path: string): void {
    for (const res of this.streams.get(path) ?? []) res.end();
    this.streams.set(path, []);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (url.searchParams.get('watch') === 'true') {
      this.watchRequests.push({ path, resourceVersion: url.searchParams.get('resourceVersion') ?? '' });
      if (!this.lists.has(path)) return this.status(res, 404);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const list = this.streams.get(path) ?? [];
      list.push(res);
      this.streams.set(path, list);
      req.on('close', () => this.streams.set(path, (this.streams.get(path) ?? []).filter((r) => r !== res)));
      for (const w of this.waiters.filter((x) => x.path === path)) w.resolve();
      this.waiters.splice(0, this.waiters.length, ...this.waiters.filter((x) => x.path !== path));
      return;
    }
    this.listRequests.push(path);
    const fail = this.failNextLists.get(path)?.shift();
    if (fail) return this.status(res, fail);
    const body = this.lists.get(path);
    if (body === undefined) return this.status(res, 404);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: code === 404 ? 'NotFound' : 'InternalError' }));
  }
}
