// Loader for the SO_ORIGINAL_DST addon: where a REDIRECTed connection was originally headed.

import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { FerryError } from '../../src/errors';

export interface OriginalDst {
  readonly address: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
}

interface Addon {
  getOriginalDst(fd: number): OriginalDst | null;
}

/** The addon's build output, from `sidecar/native/build.sh`; FERRY_NATIVE_ADDON overrides it. */
export function addonPath(): string {
  if (process.env.FERRY_NATIVE_ADDON) return process.env.FERRY_NATIVE_ADDON;
  // Compiled file: dist/sidecar/native/original-dst.js → sidecar/native/build/Release.
  return path.resolve(__dirname, '..', '..', '..', 'sidecar', 'native', 'build', 'Release', 'original_dst.node');
}

let addon: Addon | null = null;

function load(): Addon {
  if (addon) return addon;
  const file = addonPath();
  if (!existsSync(file)) {
    throw new FerryError(
      'FERRY_ERR_NATIVE_MISSING',
      `the SO_ORIGINAL_DST addon is not built (${file} missing); run sidecar/native/build.sh (part of make build)`,
    );
  }
  try {
    addon = require(file) as Addon;
  } catch (err) {
    throw new FerryError('FERRY_ERR_NATIVE_MISSING', `the SO_ORIGINAL_DST addon at ${file} failed to load: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return addon;
}

/** Whether the addon is built and loads (for callers that can run without transparent capture). */
export function originalDstAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/**
 * The destination the client asked for before iptables redirected it. A connection that was not
 * NATed answers its own local address while conntrack tracks it, and null when conntrack has no
 * entry. IPv4 clients on a dual-stack (`::`) listener answer with family IPv4. Throws FerryError
 * when the addon is missing or the socket has no fd.
 */
export function getOriginalDst(socket: Socket): OriginalDst | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new FerryError('FERRY_ERR_ORIGINAL_DST', 'getOriginalDst: the socket has no file descriptor (closed, or not a TCP socket)');
  }
  return load().getOriginalDst(fd);
}
