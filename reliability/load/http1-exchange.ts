// The load client's HTTP/1.1 requests: a keep-alive agent with no socket cap, and optionally a retry on a fresh connection of an attempt that provably was not processed.

import * as http from 'node:http';
import type { Clock } from '../../src/clock/clock';
import type { Exchange, Exchanger } from './exchange';
import { failed, flagOf } from './exchange';
import { freshRetryDelayMs, freshRetryReason } from './fresh-retry';

export interface Http1Options {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly body: Buffer;
  readonly retryOnFreshConnection: boolean;
}

export function http1Exchanger(o: Http1Options, clock: Clock, random: () => number): Exchanger {
  // A POST always says its length, even 0.
  const headers: http.OutgoingHttpHeaders = o.body.length > 0 || o.method === 'POST' ? { 'content-length': String(o.body.length) } : {};
  if (o.body.length > 0) headers['content-type'] = 'application/octet-stream';
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  return {
    send(x: Exchange) {
      let current: http.ClientRequest | null = null;
      let backoff: ReturnType<Clock['setTimeout']> | null = null;
      const attempt = (fresh: boolean): void => {
        // A retry goes on a connection of its own (agent: false), never on another kept-alive one.
        const req = http.request({ host: o.host, port: o.port, path: o.path, method: o.method, agent: fresh ? false : agent, headers }, (res) => {
          const flag = flagOf(res.headers);
          res.resume();
          res.once('end', () => x.settle({ status: res.statusCode ?? 0, flag, error: '' }));
          res.once('error', (err: NodeJS.ErrnoException) => x.settle(failed(err.code ?? 'response error', flag)));
        });
        current = req;
        // Bytes the connection had read before this attempt was written on it: any more is a response.
        let readBefore = -1;
        req.once('socket', (sock) => (readBefore = sock.bytesRead));
        req.once('error', (err: NodeJS.ErrnoException) => {
          const code = err.code ?? err.message;
          const reason = o.retryOnFreshConnection
            ? freshRetryReason({ code, method: o.method, reusedConnection: req.reusedSocket, responseBytes: readBefore < 0 || !req.socket ? 0 : req.socket.bytesRead - readBefore })
            : null;
          const delay = reason === null ? 0 : freshRetryDelayMs(reason, x.retries.length + 1, random);
          if (reason === null || x.settled() || clock.now() + delay >= x.deadline) return x.settle(failed(code));
          x.retries.push(reason);
          current = null;
          if (delay === 0) attempt(true);
          else backoff = clock.setTimeout(() => attempt(true), delay);
        });
        req.end(o.body.length > 0 ? o.body : undefined);
      };
      attempt(false);
      return () => {
        clock.clearTimeout(backoff);
        const err: NodeJS.ErrnoException = new Error('timed out');
        err.code = 'ETIMEDOUT';
        if (current && !current.destroyed) current.destroy(err);
      };
    },
    close: () => agent.destroy(),
  };
}
