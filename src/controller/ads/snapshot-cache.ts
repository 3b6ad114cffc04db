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
}

export type SnapshotListener = (key: string, changed: readonly ResourceTypeUrl[]) => void;

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
   * Replaces the snapshot of `key`. Unchanged types keep their version (and are not pushed);
   * unchanged resources are not encoded again. Atomic: a resource that fails to encode throws a
   * ConfigError naming it, and the previous snapshot stays. Returns the types whose version changed.
   */
  setSnapshot(key: string, snapshot: Snapshot): ResourceTypeUrl[] {
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
      let ts = this.encodeType(typeUrl, resources, before);
      if (before && before.version === ts.version) next.set(typeUrl, before);
      else {
        const shared = this.byVersion.get(`${typeUrl}|${ts.version}`);
        if (shared) ts = shared;
        else {
          if (this.byVersion.size >= 10_000) this.pruneVersions();
          this.byVersion.set(`${typeUrl}|${ts.version}`, ts);
        }
        next.set(typeUrl, ts);
        changed.push(typeUrl);
      }
    }
    for (const t of Object.keys(snapshot)) {
      if (!PUSH_ORDER.includes(t as ResourceTypeUrl)) throw new ConfigError(`snapshot[${key}]`, `unknown resource type ${t}`);
    }
    this.entries.set(key, next);
    if (changed.length > 0) for (const l of this.listeners) l(key, changed);
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
    return { typeUrl, version: sha(versionInput), resources: out, bodies: new Map() };
  }

  /** Called synchronously after each setSnapshot that changed a type. Returns an unsubscribe. */
  onChange(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
