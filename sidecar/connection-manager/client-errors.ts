// What node:http's HTTP/1.1 parser could not take (a malformed request, a header overflow, a
// timeout): answered once per connection as a 4xx with DPE and a body naming what was wrong, after
// the responses to requests parsed before it, then closed; counted.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { ProxyMetrics } from '../../src/observability/metrics';
import { Flags, RESPONSE_FLAGS_HEADER } from '../http/local-reply';
import { afterQueuedResponses, responseInFlight } from './queued-responses';
import type { ConnectionTable } from './downstream-connection';
import { StreamState } from './stream-state';

export class ClientErrorHandler {
  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly listenerName: string,
    private readonly connections: ConnectionTable,
  ) {}

  onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
    const conn = this.connections.of(socket);
    if (conn.noMoreRequests) return; // the parser stays failed; one answer per connection
    const code = err.code ?? 'unknown';
    const inFlight = responseInFlight(socket);
    if (code === 'HPE_CLOSED_CONNECTION' && inFlight !== null) {
      // Bytes after a `Connection: close` request are not read (RFC 9112 §9.6); its response still goes out.
      conn.noMoreRequests = true;
      return;
    }
    this.metrics.downstreamProtocolErrors.labels(this.listenerName, code).inc();
    if (code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const inFlightReq = inFlight === null ? undefined : StreamState.of(inFlight)?.req;
    if (inFlight !== null && inFlightReq?.complete === true) {
      // A later pipelined request is broken: every request parsed before it is answered first, then this one.
      conn.noMoreRequests = true;
      afterQueuedResponses(socket, () => this.answer(err, code, socket));
      return;
    }
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    this.answer(err, code, socket);
  }

  /** The codec's error as a 4xx with DPE and a body naming what was wrong, then close. */
  private answer(err: NodeJS.ErrnoException, code: string, socket: net.Socket): void {
    this.connections.of(socket).noMoreRequests = true;
    if (socket.writableEnded) return; // already closing after a reply (e.g. a refused head)
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    let status = 400;
    if (code === 'HPE_HEADER_OVERFLOW') status = 431;
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ETIMEDOUT') status = 408;
    const reason = (err as { reason?: string }).reason ?? err.message;
    const body = `${reason} (${code})\n`;
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n${RESPONSE_FLAGS_HEADER}: ${Flags.downstreamProtocolError}\r\n\r\n${body}`,
    );
    socket.destroySoon();
  }
}
