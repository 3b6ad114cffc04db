// HTTP/1.1 pipelining: node:http sends responses in request order, each queued behind the one in flight.
//
// Whatever else writes to the connection (an error reply, an upgrade's answer or tunnel) must wait
// until those responses have gone out, or they are lost or overtaken.

import type { ServerResponse } from 'node:http';
import type * as net from 'node:net';

/** A socket as node:http's server sees it: the response it is writing now sits in `_httpMessage`. */
type ServedSocket = net.Socket & { readonly _httpMessage?: ServerResponse | null };

/** The response node:http is sending on `socket` now, if any (later ones queue behind it). */
export function responseInFlight(socket: net.Socket): ServerResponse | null {
  return (socket as ServedSocket)._httpMessage ?? null;
}

export function hasQueuedResponses(socket: net.Socket): boolean {
  return responseInFlight(socket) !== null;
}

/** Runs `fn` once every response queued on `socket` has gone out; never if the socket is gone by then. */
export function afterQueuedResponses(socket: net.Socket, fn: () => void): void {
  const res = responseInFlight(socket);
  if (res === null) {
    if (!socket.destroyed) fn();
    return;
  }
  // 'close' follows 'finish', by when node:http has handed the socket to the next queued response.
  res.once('close', () => afterQueuedResponses(socket, fn));
}
