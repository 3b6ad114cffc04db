// The translator's memory across proxies and models: what one model shares between proxies, what
// one service object yields, and the aggregates built from the shapes of all services.
//
// A model change usually touches one service. The registry hands over the unchanged services as the
// very same objects, so what is translated from one service is kept by that object, and what is
// built from all of them (the outbound listener, route configurations) by their shapes: a change of
// endpoints alone rebuilds neither. The controller owns one cache per translator.

import { createHash } from 'node:crypto';
import type { MeshModel, MeshService } from '../model/types';
import type { Snapshot } from '../types';
import type { InboundPort } from './listeners';
import { portIdentities } from './mtls';

type Json = Record<string, unknown>;
type Resources = Map<string, Json>;

/** What the proxies of one model (and one set of options) share. */
export interface Shared {
  sidecarClusters?: Resources;
  grpcClusters?: Resources;
  assignments?: Resources;
  outbound?: Json;
  routes: Map<string, Resources>;
  bound?: { listeners: Resources; routes: Resources };
  grpcSnapshot?: Snapshot;
  /** inboundPorts() by pod IP. */
  inbound?: Map<string, InboundPort[]>;
  /** A sidecar's clusters by the shape of its inbound ports: pods alike share one map (and one encoding). */
  clusterMaps: Map<string, Resources>;
  /** A capture-mode sidecar's listeners by the content of its inbound listener. */
  listenerMaps: Map<string, Resources>;
  /** Small ids for the policy objects of this model (part of listenerMaps keys). */
  policyIds: Map<object, number>;
}

/** Per service object: its clusters (by options) and load assignments. */
export interface ServiceMemo {
  readonly clusters: Map<string, [string, Json][]>;
  assignments: [string, Json][] | null;
}

export class TranslationCache {
  private readonly perModel = new WeakMap<MeshModel, Map<string, Shared>>();
  private readonly perService = new WeakMap<MeshService, ServiceMemo>();
  private readonly shapes = new WeakMap<MeshService, string>();
  /** Values made from one resource map (e.g. its listeners with access logs), by purpose. */
  private readonly fromMaps = new WeakMap<object, Map<string, unknown>>();
  /** The last aggregate built per purpose, with the shape key it was built from. */
  private readonly aggregates = new Map<string, { readonly key: string; readonly value: unknown }>();

  /** What proxies of `model` translated with the options named by `optionsKey` share. */
  shared(model: MeshModel, optionsKey: string): Shared {
    let byOpt = this.perModel.get(model);
    if (!byOpt) this.perModel.set(model, (byOpt = new Map()));
    let s = byOpt.get(optionsKey);
    if (!s) byOpt.set(optionsKey, (s = { routes: new Map(), clusterMaps: new Map(), listenerMaps: new Map(), policyIds: new Map() }));
    return s;
  }

  /** `make()` once per (source object, purpose): the result lives as long as `source` does. */
  derived<T>(source: object, purpose: string, make: () => T): T {
    let m = this.fromMaps.get(source);
    if (!m) this.fromMaps.set(source, (m = new Map()));
    if (!m.has(purpose)) m.set(purpose, make());
    return m.get(purpose) as T;
  }

  service(svc: MeshService): ServiceMemo {
    let c = this.perService.get(svc);
    if (!c) this.perService.set(svc, (c = { clusters: new Map(), assignments: null }));
    return c;
  }

  /** The aggregate for `purpose`, rebuilt only when the shape of some service changed since the last build. */
  byShape<T>(purpose: string, services: readonly MeshService[], build: () => T): T {
    let key = '';
    for (const svc of services) key += this.shapeKey(svc);
    const last = this.aggregates.get(purpose);
    if (last && last.key === key) return last.value as T;
    const value = build();
    this.aggregates.set(purpose, { key, value });
    return value;
  }

  /**
   * What listeners and routes read of a service: everything but its endpoints, except the identities
   * behind each port (mesh TLS names them). Hashed, so a mesh's shape key is short.
   */
  private shapeKey(svc: MeshService): string {
    let k = this.shapes.get(svc);
    if (k === undefined) {
      const shape = {
        ...svc,
        ports: svc.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, ids: portIdentities(p, '') })),
        routes: [...svc.routes],
      };
      k = createHash('sha256').update(JSON.stringify(shape)).digest('base64').slice(0, 16);
      this.shapes.set(svc, k);
    }
    return k;
  }
}
