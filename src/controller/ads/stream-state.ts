// One ADS stream's protocol state per type: subscriptions, versions and nonces sent, ACKs and NACKs.
//
// Pure (no I/O, `now` passed in). The server feeds it each DiscoveryRequest (`onRequest`) and asks
// it what to send when a request or a snapshot change calls for a response (`plan`).

import { FULL_STATE_TYPES } from '../../xds/type-urls';
import type { EncodedResource, TypeSnapshot } from './snapshot-cache';

export type SyncStatus = 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACKED';

export interface NackRecord {
  /** The version the client rejected. */
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  readonly at: number;
}

export interface TypeStreamState {
  wildcard: boolean;
  names: ReadonlySet<string>;
  sentVersion: string | null;
  sentNonce: string | null;
  sent: ReadonlyMap<string, EncodedResource>;
  sentAt: number | null;
  /** When the change behind the last response happened (for convergence time); null once ACKed. */
  changeAt: number | null;
  ackedVersion: string | null;
  ackedNonce: string | null;
  lastNack: NackRecord | null;
}

export interface RequestIn {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly resourceNames: readonly string[];
  readonly responseNonce: string;
  readonly errorMessage: string | null;
}

export type RequestOutcome =
  /** The nonce is not the latest sent for this type: the request is ignored (protocol rule). */
  | { readonly kind: 'stale' }
  /** The first request for this type on the stream: always answered. */
  | { readonly kind: 'subscribe'; readonly respond: true }
  | { readonly kind: 'ack'; readonly version: string; readonly convergenceMs: number | null; readonly respond: boolean }
  | { readonly kind: 'nack'; readonly version: string; readonly message: string; readonly respond: boolean };

export interface PlannedResponse {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly resources: readonly EncodedResource[];
  /** Identifies the resource subset: "*" for all of them, else the sorted names. */
  readonly subsetKey: string;
}

export class StreamState {
  private readonly types = new Map<string, TypeStreamState>();

  /** `nextNonce` must return a string never returned before on this stream. */
  constructor(private readonly nextNonce: () => string) {}

  /** The state of one type, or undefined if the client never asked for it. */
  type(typeUrl: string): Readonly<TypeStreamState> | undefined {
    return this.types.get(typeUrl);
  }

  typeUrls(): string[] {
    return [...this.types.keys()];
  }

  onRequest(req: RequestIn, now: number): RequestOutcome {
    let st = this.types.get(req.typeUrl);
    const wildcard = FULL_STATE_TYPES.has(req.typeUrl) && (req.resourceNames.length === 0 || req.resourceNames.includes('*'));
    const names = new Set(req.resourceNames.filter((n) => n !== '*'));
    if (!st || req.responseNonce === '') {
      // A new subscription, or a client that resubscribes without a nonce (e.g. after a reconnect).
      st = {
        wildcard,
        names,
        sentVersion: st?.sentVersion ?? null,
        sentNonce: st?.sentNonce ?? null,
        sent: new Map(),
        sentAt: st?.sentAt ?? null,
        changeAt: now,
        ackedVersion: req.versionInfo || (st?.ackedVersion ?? null),
        ackedNonce: st?.ackedNonce ?? null,
        lastNack: st?.lastNack ?? null,
      };
      this.types.set(req.typeUrl, st);
      return { kind: 'subscribe', respond: true };
    }
    if (req.responseNonce !== st.sentNonce) return { kind: 'stale' };
    const namesChanged = st.wildcard !== wildcard || !sameNames(st.names, names);
    st.wildcard = wildcard;
    st.names = names;
    if (req.errorMessage !== null) {
      const version = st.sentVersion ?? '';
      st.lastNack = { version, nonce: req.responseNonce, message: req.errorMessage, at: now };
      st.ackedVersion = req.versionInfo || st.ackedVersion;
      return { kind: 'nack', version, message: req.errorMessage, respond: namesChanged };
    }
    st.ackedVersion = req.versionInfo;
    st.ackedNonce = req.responseNonce;
    const convergenceMs = st.changeAt === null ? null : now - st.changeAt;
    st.changeAt = null;
    return { kind: 'ack', version: req.versionInfo, convergenceMs, respond: namesChanged };
  }

  /**
   * What to send for `typeUrl` given the node's current snapshot of that type, or null. A response
   * is planned on a first request (`force`), or when the resources this client should have differ
   * from those last sent — so a NACKed response is never sent again unchanged, and names a client
   * asked for before they existed are sent when they appear. Records the response as sent.
   */
  plan(typeUrl: string, ts: TypeSnapshot | undefined, now: number, changeAt: number, force = false): PlannedResponse | null {
    const st = this.types.get(typeUrl);
    if (!st || !ts) return null;
    const subset: EncodedResource[] = [];
    if (st.wildcard) subset.push(...ts.resources.values());
    else for (const n of [...st.names].sort()) {
      const r = ts.resources.get(n);
      if (r) subset.push(r);
    }
    const fullState = FULL_STATE_TYPES.has(typeUrl);
    // Named RDS/EDS with nothing known yet: wait (absence in a response would not mean "gone").
    if (!fullState && subset.length === 0) return null;
    if (!force && st.sentNonce !== null && sameResources(st.sent, subset)) return null;
    const nonce = this.nextNonce();
    st.sentVersion = ts.version;
    st.sentNonce = nonce;
    st.sent = new Map(subset.map((r) => [r.name, r]));
    st.sentAt = now;
    st.changeAt = st.changeAt === null ? changeAt : Math.min(st.changeAt, changeAt);
    return { typeUrl, version: ts.version, nonce, resources: subset, subsetKey: st.wildcard ? '*' : subset.map((r) => r.name).join('\n') };
  }

  status(typeUrl: string): SyncStatus {
    const st = this.types.get(typeUrl);
    if (!st || st.sentNonce === null) return 'NOT SENT';
    if (st.lastNack && st.lastNack.nonce === st.sentNonce) return 'NACKED';
    return st.ackedNonce === st.sentNonce ? 'SYNCED' : 'STALE';
  }
}

function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

function sameResources(sent: ReadonlyMap<string, EncodedResource>, subset: readonly EncodedResource[]): boolean {
  if (sent.size !== subset.length) return false;
  for (const r of subset) if (sent.get(r.name)?.hash !== r.hash) return false;
  return true;
}
