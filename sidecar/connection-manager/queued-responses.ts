// HTTP/1.1 pipelining: node:http sends responses in request order, each queued behind the one in flight.
//
// Whatever else writes to the connection (an error reply, an upgrade's answer or tunnel) must wait
// until those responses have gone out, or they are lost or overtaken.

import type { ServerResponse } from 'node:http';
import type * as net from 'node:net';

/** The response node:http is sending on `socket` now, if any (later ones queue behind it). */
function inFlight(socket: net.Socket): ServerResponse | null {
  return (socket as unknown as { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

export function hasQueuedResponses(socket: net.Socket): boolean {
  return inFlight(socket) !== null;
}

/** Runs `fn` once every response queued on `socket` has gone out; never if the socket is gone by then. */
export function afterQueuedResponses(socket: net.Socket, fn: () => void): void {
  const res = inFlight(socket);
  if (res === null) {
    if (!socket.destroyed) fn();
    return;
  }
  // 'close' follows 'finish', by when node:http has handed the socket to the next queued response.
  res.once('close', () => afterQueuedResponses(socket, fn));
}
