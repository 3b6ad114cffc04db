// The snapshot cache: per node key, the encoded resources of each type with a content-hash version.

import { createHash } from 'node:crypto';
import { ConfigError } from '../../errors';
import { encodeResource, type AnyMessage } from '../../xds/protos';
import { PUSH_ORDER, shortTypeName, type ResourceTypeUrl } from '../../xds/type-urls';
import type { Snapshot } from '../types';

/** One resource, encoded once and shared by every stream that is sent it. */
export interface EncodedResource {
  readonly name: string;
  readonly object: Readonly<Record<string, unknown>>;
  readonly any: AnyMessage;
  /** Content hash of the resource (its JSON form). */
  readonly hash: string;
}

/** All resources of one type for one node key, and their version. */
export interface TypeSnapshot {
  readonly typeUrl: ResourceTypeUrl;
  /** Content hash over (name, hash) of every resource: equal content ⇒ equal version, across restarts. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
  /** Encoded DiscoveryResponse bodies (without nonce) by subset; filled by the ADS server. */
  readonly bodies: Map<string, Buffer>;
  /** changedSince() results by the older snapshot. */
  readonly diffs: WeakMap<TypeSnapshot, ReadonlySet<string>>;
}

/**
 * Names of the resources that differ between `from` and `to` (added, removed or changed content).
 * Computed once per pair and remembered on `to`: every stream that held `from` shares the answer,
 * so a push to a thousand streams costs one comparison of the two snapshots, not a thousand.
 */
export function changedSince(from: TypeSnapshot, to: TypeSnapshot): ReadonlySet<string> {
  if (from === to) return EMPTY;
  let d = to.diffs.get(from);
  if (d) return d;
  const out = new Set<string>();
  if (from.version !== to.version) {
    for (const [name, r] of to.resources) if (from.resources.get(name)?.hash !== r.hash) out.add(name);
    for (const name of from.resources.keys()) if (!to.resources.has(name)) out.add(name);
  }
  d = out;
  to.diffs.set(from, d);
  return d;
}

const EMPTY: ReadonlySet<string> = new Set();

/** `changeAt`: when the change behind the new snapshot happened (ms), if the caller knows it. */
export type SnapshotListener = (key: string, changed: readonly ResourceTypeUrl[], changeAt?: number) => void;

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export class SnapshotCache {
  private readonly entries = new Map<string, Map<ResourceTypeUrl, TypeSnapshot>>();
  private readonly listeners = new Set<SnapshotListener>();
  /**
   * Shared across node keys: proxies of one mesh get mostly the same resources (often the very same
   * frozen objects), so each is hashed and encoded once, and a type whose content another key already
   * has is the same TypeSnapshot — encoded response bodies included.
   */
  private readonly encoded = new WeakMap<object, { readonly hash: string; readonly any: AnyMessage }>();
  private readonly byVersion = new Map<string, TypeSnapshot>();
  /**
   * By the very resource map a translation returned: a map shared by a thousand proxies (the mesh's
   * clusters, its endpoints) is looked at once per change, not once per proxy.
   */
  private readonly byMap = new Map<ResourceTypeUrl, WeakMap<object, TypeSnapshot>>(PUSH_ORDER.map((t) => [t, new WeakMap()]));

  /**
   * Replaces the snapshot of `key`. Unchanged types keep their version (and are not pushed);
   * unchanged resources are not encoded again. Atomic: a resource that fails to encode throws a
   * ConfigError naming it, and the previous snapshot stays. Returns the types whose version changed.
   */
  setSnapshot(key: string, snapshot: Snapshot, changeAt?: number): ResourceTypeUrl[] {
    const prev = this.entries.get(key);
    const next = new Map<ResourceTypeUrl, TypeSnapshot>();
    const changed: ResourceTypeUrl[] = [];
    for (const typeUrl of PUSH_ORDER) {
      const resources = snapshot[typeUrl];
      const before = prev?.get(typeUrl);
      if (!resources) {
        if (before) changed.push(typeUrl);
        continue;
      }
      const byMap = this.byMap.get(typeUrl)!;
      // Only a frozen map (deepFreeze makes a Map's setters throw) can be known by identity.
      const frozen = Object.isFrozen(resources);
      let ts = frozen ? byMap.get(resources) : undefined;
      if (!ts) {
        ts = this.intern(this.encodeType(typeUrl, resources, before));
        if (frozen) byMap.set(resources, ts);
      }
      if (before && before.version === ts.version) next.set(typeUrl, before);
      else {
        next.set(typeUrl, ts);
        changed.push(typeUrl);
      }
    }
    for (const t of Object.keys(snapshot)) {
      if (!PUSH_ORDER.includes(t as ResourceTypeUrl)) throw new ConfigError(`snapshot[${key}]`, `unknown resource type ${t}`);
    }
    this.entries.set(key, next);
    if (changed.length > 0) for (const l of this.listeners) l(key, changed, changeAt);
    return changed;
  }

  get(key: string): ReadonlyMap<ResourceTypeUrl, TypeSnapshot> | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The TypeSnapshot another key already has for this content, else `ts` (remembered for the next). */
  private intern(ts: TypeSnapshot): TypeSnapshot {
    const k = `${ts.typeUrl}|${ts.version}`;
    const shared = this.byVersion.get(k);
    if (shared) return shared;
    if (this.byVersion.size >= 10_000) this.pruneVersions();
    this.byVersion.set(k, ts);
    return ts;
  }

  /** Keeps only the shared type snapshots some key still uses. */
  private pruneVersions(): void {
    const live = new Set<TypeSnapshot>();
    for (const e of this.entries.values()) for (const ts of e.values()) live.add(ts);
    for (const [k, ts] of this.byVersion) if (!live.has(ts)) this.byVersion.delete(k);
  }

  private encodeType(
    typeUrl: ResourceTypeUrl,
    resources: ReadonlyMap<string, Record<string, unknown>>,
    before: TypeSnapshot | undefined,
  ): TypeSnapshot {
    const out = new Map<string, EncodedResource>();
    let versionInput = '';
    for (const name of [...resources.keys()].sort()) {
      const object = resources.get(name)!;
      const old = before?.resources.get(name);
      if (old && old.object === object) {
        out.set(name, old);
        versionInput += `${name}\0${old.hash}\n`;
        continue;
      }
      let e = this.encoded.get(object);
      if (e === undefined) {
        const hash = sha(JSON.stringify(object));
        e = old && old.hash === hash ? old : { hash, any: encodeResource(typeUrl, object, `${shortTypeName(typeUrl)}[${name}]`) };
        this.encoded.set(object, e);
      }
      out.set(name, old && old.hash === e.hash ? old : Object.freeze({ name, object, any: e.any, hash: e.hash }));
      versionInput += `${name}\0${e.hash}\n`;
    }
    return { typeUrl, version: sha(versionInput), resources: out, bodies: new Map(), diffs: new WeakMap() };
  }

  /** Called synchronously after each setSnapshot that changed a type. Returns an unsubscribe. */
  onChange(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
