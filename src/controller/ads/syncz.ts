// What the controller's /debug/syncz shows of each proxy's ADS stream: per type, what was sent and acknowledged.

import type { Clock } from '../../clock/clock';
import type { SyncStatus } from './stream-state';

/** A time read from `clock.now()` (monotonic ms) as the ISO wall-clock time it corresponds to. */
export function wallIso(clock: Clock, monotonicMs: number): string {
  return new Date(clock.wallNow() - (clock.now() - monotonicMs)).toISOString();
}

export interface SynczType {
  readonly status: SyncStatus;
  readonly versionSent: string | null;
  readonly versionAcked: string | null;
  readonly nonceSent: string | null;
  readonly resources: number;
  readonly lastNack: { readonly version: string; readonly message: string; readonly at: string } | null;
}

export interface SynczProxy {
  readonly id: string;
  readonly kind: string;
  readonly userAgent: string;
  readonly nodeKey: string;
  readonly stream: number;
  /** The xDS variant the stream speaks: state of the world or incremental (delta); the server always sets it. */
  readonly protocol?: 'sotw' | 'delta';
  /** ISO wall-clock time. */
  readonly connectedAt: string;
  /** By short type name: CDS, EDS, LDS, RDS, SDS. */
  readonly types: Readonly<Record<string, SynczType>>;
}
