// What the controller's /debug/syncz shows of each proxy's ADS stream: per type, what was sent and acknowledged.

import type { SyncStatus } from './stream-state';

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
  readonly connectedAt: string;
  /** By short type name: CDS, EDS, LDS, RDS, SDS. */
  readonly types: Readonly<Record<string, SynczType>>;
}
