// One ADS stream's protocol state per type: subscriptions, versions and nonces sent, ACKs and NACKs.
//
// Pure (no I/O, `now` passed in). The server feeds it each DiscoveryRequest (`onRequest`) and asks
// it what to send when a request or a snapshot change calls for a response (`plan`).

import { FULL_STATE_TYPES } from '../../xds/type-urls';
import { changedSince, type EncodedResource, type TypeSnapshot } from './snapshot-cache';

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
  /** The names, sorted, and joined with newlines (the body cache's key for a named subset). */
  sortedNames: readonly string[];
  namesKey: string;
  /** The subscription changed since the last response: the next one carries the whole subset. */
  namesChanged: boolean;
  /** The wire bytes of the subscription's names, when the request carried them. */
  namesRaw: Buffer | null;
  sentVersion: string | null;
  sentNonce: string | null;
  /** The snapshot the client was last brought up to, for its subscribed names. */
  sentFrom: TypeSnapshot | null;
  /** How many resources that gave the client (for syncz). */
  sentCount: number;
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
  /** Read only when `resourceNamesRaw` is absent or differs from the previous request's. */
  readonly resourceNames: readonly string[];
  /** The names as encoded on the wire: equal bytes, equal subscription (no decoding needed). */
  readonly resourceNamesRaw?: Buffer;
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
  /** With the snapshot, identifies the resources sent: "*" for all, else sorted names (subscribed, or changed when incremental). */
  readonly subsetKey: string;
  /** Only the resources that changed (RDS/EDS may be sent so; LDS/CDS never are). */
  readonly incremental: boolean;
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
    if (st && req.responseNonce !== '' && req.responseNonce !== st.sentNonce) return { kind: 'stale' };
    // An ACK repeating the subscription byte for byte: nothing to decode or compare.
    const sameRaw = st !== undefined && req.resourceNamesRaw !== undefined && st.namesRaw !== null && req.resourceNamesRaw.equals(st.namesRaw);
    const wildcard = sameRaw ? st!.wildcard : FULL_STATE_TYPES.has(req.typeUrl) && (req.resourceNames.length === 0 || req.resourceNames.includes('*'));
    const names = sameRaw ? st!.names : new Set(req.resourceNames.filter((n) => n !== '*'));
    // Kept as a copy: the request's buffer is a view into a larger gRPC message.
    const namesRaw = sameRaw ? st!.namesRaw : req.resourceNamesRaw ? Buffer.from(req.resourceNamesRaw) : null;
    if (!st || req.responseNonce === '') {
      // A new subscription, or a client that resubscribes without a nonce (e.g. after a reconnect).
      const sortedNames = [...names].sort();
      st = {
        wildcard,
        names,
        sortedNames,
        namesKey: sortedNames.join('\n'),
        namesChanged: true,
        namesRaw,
        sentVersion: st?.sentVersion ?? null,
        sentNonce: st?.sentNonce ?? null,
        sentFrom: null,
        sentCount: 0,
        sentAt: st?.sentAt ?? null,
        changeAt: now,
        ackedVersion: req.versionInfo || (st?.ackedVersion ?? null),
        ackedNonce: st?.ackedNonce ?? null,
        lastNack: st?.lastNack ?? null,
      };
      this.types.set(req.typeUrl, st);
      return { kind: 'subscribe', respond: true };
    }
    const namesChanged = !sameRaw && (st.wildcard !== wildcard || !sameNames(st.names, names));
    st.namesRaw = namesRaw;
    if (namesChanged) {
      st.wildcard = wildcard;
      st.names = names;
      st.sortedNames = [...names].sort();
      st.namesKey = st.sortedNames.join('\n');
      st.namesChanged = true;
    }
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
   * is planned on a first request (`force`), when the subscription changed, or when resources this
   * client should have differ from those it was sent — so a NACKed response is never sent again
   * unchanged, and names a client asked for before they existed are sent when they appear. RDS and
   * EDS responses to a snapshot change carry only what changed (the protocol allows it for types
   * whose absence does not mean deletion); the cost is proportional to the change, not the mesh,
   * because the difference between two snapshots is computed once for every stream. Records the
   * response as sent.
   */
  plan(typeUrl: string, ts: TypeSnapshot | undefined, now: number, changeAt: number, force = false): PlannedResponse | null {
    const st = this.types.get(typeUrl);
    if (!st || !ts) return null;
    const fullState = FULL_STATE_TYPES.has(typeUrl);
    const whole = force || st.namesChanged || st.sentFrom === null;
    let subset: EncodedResource[];
    let subsetKey: string;
    if (!whole) {
      const changed = changedSince(st.sentFrom!, ts);
      if (changed.size === 0) return this.advance(st, ts);
      if (st.wildcard) {
        subset = [...ts.resources.values()];
        subsetKey = '*';
      } else {
        const names: string[] = [];
        if (changed.size < st.names.size) {
          for (const n of changed) if (st.names.has(n)) names.push(n);
        } else for (const n of st.names) if (changed.has(n)) names.push(n);
        if (names.length === 0) return this.advance(st, ts);
        if (fullState) subset = this.named(st, ts);
        else {
          names.sort();
          subset = [];
          for (const n of names) {
            const r = ts.resources.get(n);
            if (r) subset.push(r);
          }
          // Only removals: nothing to say in a response that cannot express them.
          if (subset.length === 0) return this.advance(st, ts);
          return this.record(st, ts, now, changeAt, subset, subset.map((r) => r.name).join('\n'), true);
        }
        subsetKey = st.namesKey;
      }
    } else {
      subset = st.wildcard ? [...ts.resources.values()] : this.named(st, ts);
      subsetKey = st.wildcard ? '*' : st.namesKey;
      // Named RDS/EDS with nothing known yet: wait (absence in a response would not mean "gone").
      if (!fullState && subset.length === 0) return null;
    }
    return this.record(st, ts, now, changeAt, subset, subsetKey, false);
  }

  /** What the client holds of this type after the responses sent so far (for config dumps). */
  held(typeUrl: string): EncodedResource[] {
    const st = this.types.get(typeUrl);
    if (!st || !st.sentFrom) return [];
    return st.wildcard ? [...st.sentFrom.resources.values()] : this.named(st, st.sentFrom);
  }

  private named(st: TypeStreamState, ts: TypeSnapshot): EncodedResource[] {
    const out: EncodedResource[] = [];
    for (const n of st.sortedNames) {
      const r = ts.resources.get(n);
      if (r) out.push(r);
    }
    return out;
  }

  /** Nothing this client subscribes to changed: it is up to date with `ts` without a response. */
  private advance(st: TypeStreamState, ts: TypeSnapshot): null {
    st.sentFrom = ts;
    return null;
  }

  private record(st: TypeStreamState, ts: TypeSnapshot, now: number, changeAt: number, subset: EncodedResource[], subsetKey: string, incremental: boolean): PlannedResponse {
    const nonce = this.nextNonce();
    st.sentVersion = ts.version;
    st.sentNonce = nonce;
    st.sentFrom = ts;
    st.namesChanged = false;
    st.sentCount = incremental ? st.sentCount : subset.length;
    st.sentAt = now;
    st.changeAt = st.changeAt === null ? changeAt : Math.min(st.changeAt, changeAt);
    return { typeUrl: ts.typeUrl, version: ts.version, nonce, resources: subset, subsetKey, incremental };
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
