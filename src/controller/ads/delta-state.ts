// One incremental (delta) ADS stream's state per type: subscriptions, what the client holds, nonces, ACK/NACK.
//
// Pure (no I/O, `now` passed in). The server feeds it each DeltaDiscoveryRequest (`onRequest`) and
// asks it what to send when a request or a snapshot change calls for a response (`plan`). A
// resource's version is its content hash (EncodedResource.hash), so versions a client reports after
// a reconnect (initial_resource_versions) compare equal to ours across controller restarts.
//
// Planning is proportional to what changed: the state remembers the snapshot the client was last
// reconciled with (`base`), and the next plan looks only at the names `changedSince(base, next)`
// reports (computed once per snapshot pair for every stream) plus names whose subscription changed.

import { FULL_STATE_TYPES } from '../../xds/type-urls';
import { changedSince, type EncodedResource, type TypeSnapshot } from './snapshot-cache';
import type { NackRecord, SyncStatus } from './stream-state';

/** The wildcard subscription's reserved name. */
export const WILDCARD = '*';

/** Responses not yet ACKed or NACKed that a stream remembers per type; older ones are forgotten. */
export const MAX_OUTSTANDING = 64;

export interface DeltaRequestIn {
  readonly typeUrl: string;
  readonly subscribe: readonly string[];
  readonly unsubscribe: readonly string[];
  /** name → version the client holds; honoured on the first request of a type on the stream. */
  readonly initialVersions: Readonly<Record<string, string>>;
  readonly responseNonce: string;
  /** error_detail.message when the request is a NACK, else null. */
  readonly errorMessage: string | null;
}

export type DeltaOutcome =
  /** Acknowledges a response still outstanding; `convergenceMs` from the change it carried. */
  | { readonly kind: 'ack'; readonly nonce: string; readonly version: string; readonly convergenceMs: number; readonly respond: boolean }
  /** Rejects an outstanding response: its resources are not sent again until they change. */
  | { readonly kind: 'nack'; readonly nonce: string; readonly version: string; readonly message: string; readonly respond: boolean }
  /** A subscription request, or a nonce this stream does not (or no longer) expects an answer to. */
  | { readonly kind: 'request'; readonly respond: boolean };

export interface PlannedDelta {
  readonly typeUrl: string;
  /** The type's snapshot version (system_version_info; for debugging only). */
  readonly systemVersion: string;
  readonly nonce: string;
  /** Resources to add or update; each one's version is its hash. */
  readonly resources: readonly EncodedResource[];
  readonly removed: readonly string[];
}

interface SentRecord {
  readonly version: string;
  readonly changeAt: number;
}

export interface DeltaTypeState {
  /** Subscribed to "*" (explicitly, or by a first request naming nothing, for LDS/CDS). */
  wildcard: boolean;
  /** Names subscribed explicitly (besides the wildcard). */
  readonly names: Set<string>;
  /** What the client holds, name → version: what it reported, or what it was last sent. */
  readonly held: Map<string, string>;
  /** The snapshot `held` was last reconciled with, for every name the client wants; null: not yet. */
  base: TypeSnapshot | null;
  /** Names whose subscription changed since `base` (looked at by the next plan). */
  readonly dirty: Set<string>;
  /** Names the next response must mention even if the client holds no version of them. */
  readonly mustMention: Set<string>;
  /** A first wildcard request from a client holding nothing: answer it even if nothing is to be sent. */
  mustRespond: boolean;
  /** Responses sent and not yet ACKed or NACKed, by nonce (the client answers each one). */
  readonly outstanding: Map<string, SentRecord>;
  sentVersion: string | null;
  sentNonce: string | null;
  sentAt: number | null;
  ackedVersion: string | null;
  ackedNonce: string | null;
  lastNack: NackRecord | null;
}

export class DeltaState {
  private readonly types = new Map<string, DeltaTypeState>();

  /** `nextNonce` must return a string never returned before on this stream. */
  constructor(private readonly nextNonce: () => string) {}

  type(typeUrl: string): Readonly<DeltaTypeState> | undefined {
    return this.types.get(typeUrl);
  }

  typeUrls(): string[] {
    return [...this.types.keys()];
  }

  onRequest(req: DeltaRequestIn, now: number): DeltaOutcome {
    let st = this.types.get(req.typeUrl);
    const first = !st;
    if (!st) {
      st = {
        wildcard: false,
        names: new Set(),
        held: new Map(),
        base: null,
        dirty: new Set(),
        mustMention: new Set(),
        mustRespond: false,
        outstanding: new Map(),
        sentVersion: null,
        sentNonce: null,
        sentAt: null,
        ackedVersion: null,
        ackedNonce: null,
        lastNack: null,
      };
      this.types.set(req.typeUrl, st);
    }
    const wildcardCapable = FULL_STATE_TYPES.has(req.typeUrl);
    // Legacy wildcard: LDS/CDS asked for with no names at all on the stream's first request of the type.
    if (first && wildcardCapable && req.subscribe.length === 0 && req.unsubscribe.length === 0) this.subscribeWildcard(st);
    for (const name of req.subscribe) {
      if (name === WILDCARD && wildcardCapable) this.subscribeWildcard(st);
      else {
        // Sent again even if the client holds it: it may have dropped it before re-subscribing.
        st.names.add(name);
        st.held.delete(name);
        st.dirty.add(name);
      }
    }
    for (const name of req.unsubscribe) {
      if (name === WILDCARD && wildcardCapable) {
        if (!st.wildcard) continue;
        st.wildcard = false;
        for (const n of st.held.keys()) if (!st.names.has(n)) st.held.delete(n);
      } else if (st.names.delete(name) && st.wildcard) {
        // Still wanted through the wildcard? The client cannot tell: send it, or say it is removed.
        st.held.delete(name);
        st.dirty.add(name);
        st.mustMention.add(name);
      } else if (!st.wildcard) st.held.delete(name);
    }
    if (first) {
      const reported = Object.entries(req.initialVersions);
      for (const [name, version] of reported) {
        if (st.wildcard || st.names.has(name)) st.held.set(name, version);
      }
      // A client that holds nothing waits for its first LDS/CDS answer, even an empty one, to start.
      if (st.wildcard && reported.length === 0) st.mustRespond = true;
    }
    const respond = st.mustRespond || st.base === null || st.dirty.size > 0;
    const rec = req.responseNonce ? st.outstanding.get(req.responseNonce) : undefined;
    if (!rec) return { kind: 'request', respond };
    st.outstanding.delete(req.responseNonce);
    if (req.errorMessage !== null) {
      st.lastNack = { version: rec.version, nonce: req.responseNonce, message: req.errorMessage, at: now };
      return { kind: 'nack', nonce: req.responseNonce, version: rec.version, message: req.errorMessage, respond };
    }
    st.ackedVersion = rec.version;
    st.ackedNonce = req.responseNonce;
    return { kind: 'ack', nonce: req.responseNonce, version: rec.version, convergenceMs: now - rec.changeAt, respond };
  }

  /**
   * What to send for `typeUrl` given the node's current snapshot of that type, or null when the
   * client is up to date (or the type has no snapshot yet: nothing is removed on a guess). Sends
   * each wanted resource whose version differs from what the client holds, and removes names the
   * client holds that no longer exist; a subscribed name that does not exist is not mentioned
   * until it appears. Records what was sent as held, so a NACKed version is not sent again.
   */
  plan(typeUrl: string, ts: TypeSnapshot | undefined, now: number, changeAt: number): PlannedDelta | null {
    const st = this.types.get(typeUrl);
    if (!st || !ts) return null;
    const send: EncodedResource[] = [];
    const removed: string[] = [];
    const visit = (name: string) => {
      const wanted = st.wildcard || st.names.has(name);
      if (!wanted) return;
      const r = ts.resources.get(name);
      if (r) {
        if (st.held.get(name) !== r.hash) send.push(r);
      } else if (st.held.has(name) || st.mustMention.has(name)) removed.push(name);
    };
    if (st.base === null) {
      const seen = new Set<string>();
      const once = (n: string) => {
        if (!seen.has(n)) {
          seen.add(n);
          visit(n);
        }
      };
      if (st.wildcard) for (const n of ts.resources.keys()) once(n);
      for (const n of st.names) once(n);
      for (const n of st.held.keys()) once(n);
      for (const n of st.mustMention) once(n);
    } else {
      const changed = changedSince(st.base, ts);
      for (const n of changed) visit(n);
      for (const n of st.dirty) if (!changed.has(n)) visit(n);
    }
    const mustRespond = st.mustRespond;
    st.base = ts;
    st.dirty.clear();
    st.mustMention.clear();
    st.mustRespond = false;
    if (send.length === 0 && removed.length === 0 && !mustRespond) return null;
    send.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    removed.sort();
    for (const r of send) st.held.set(r.name, r.hash);
    for (const n of removed) st.held.delete(n);
    const nonce = this.nextNonce();
    if (st.outstanding.size >= MAX_OUTSTANDING) st.outstanding.delete(st.outstanding.keys().next().value!);
    st.outstanding.set(nonce, { version: ts.version, changeAt });
    st.sentVersion = ts.version;
    st.sentNonce = nonce;
    st.sentAt = now;
    return { typeUrl, systemVersion: ts.version, nonce, resources: send, removed };
  }

  /** What the client holds of a type, name → version (sorted by name). */
  held(typeUrl: string): [string, string][] {
    const st = this.types.get(typeUrl);
    return st ? [...st.held].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)) : [];
  }

  /**
   * NACKED: the client rejected the newest response of the type; STALE: a response awaits its
   * answer; SYNCED: every response answered, the newest one ACKed (or none needed: a reconnecting
   * client reported holding what it should); NOT SENT: nothing sent, nothing held.
   */
  status(typeUrl: string): SyncStatus {
    const st = this.types.get(typeUrl);
    if (!st) return 'NOT SENT';
    if (st.sentNonce === null) return st.base !== null && st.held.size > 0 ? 'SYNCED' : 'NOT SENT';
    if (st.lastNack && st.lastNack.nonce === st.sentNonce) return 'NACKED';
    return st.outstanding.size > 0 ? 'STALE' : 'SYNCED';
  }

  private subscribeWildcard(st: DeltaTypeState): void {
    if (st.wildcard) return;
    st.wildcard = true;
    st.base = null; // every resource of the type is now wanted: look at all of them once
  }
}
