// The open ADS streams of one protocol variant: by id and by node key, with their lifecycle.
//
// State-of-the-world and delta streams are registered, identified by their first request's node,
// and let go the same way; each variant keeps one registry and its own protocol state.

import { status } from '@grpc/grpc-js';
import type { Logger } from '../../observability/logger';
import type { ControllerMetrics } from '../../observability/controller-metrics';
import type { NodeInfo, NodeKeyFn } from '../types';
import { parseNode } from './node-info';
import type { SnapshotCache } from './snapshot-cache';

/** What the registry needs of a gRPC duplex call. */
export interface StreamCall {
  on(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  end(): void;
}

export interface RegisteredStream {
  readonly id: number;
  readonly call: StreamCall;
  node: NodeInfo | null;
  key: string;
}

export interface StreamRegistryOptions {
  readonly cache: SnapshotCache;
  readonly nodeKey: NodeKeyFn;
  readonly log: Logger;
  readonly metrics?: ControllerMetrics;
  /** The request message's name, for errors ("DiscoveryRequest", "DeltaDiscoveryRequest"). */
  readonly requestName: string;
  /** Added to this registry's log lines (e.g. the protocol). */
  readonly logFields?: Readonly<Record<string, unknown>>;
  readonly onNodeConnect?: (node: NodeInfo, key: string) => void;
  /** A stream closed; `remaining` streams of either variant still use `key`. */
  readonly onNodeDisconnect?: (node: NodeInfo, key: string, remaining: number) => void;
  /** Streams of the other variant open for `key`. */
  readonly otherStreams: (key: string) => number;
}

export class StreamRegistry<C extends RegisteredStream> {
  readonly conns = new Map<number, C>();
  readonly byKey = new Map<string, Set<C>>();

  constructor(private readonly opts: StreamRegistryOptions) {}

  /** Streams open for node key `key`. */
  count(key: string): number {
    return this.byKey.get(key)?.size ?? 0;
  }

  /** Streams that have identified their node. */
  get connectedCount(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.node) n++;
    return n;
  }

  /** The newest identified stream of proxy `id`. */
  newest(id: string): C | null {
    let conn: C | null = null;
    for (const c of this.conns.values()) if (c.node?.id === id && (!conn || c.id > conn.id)) conn = c;
    return conn;
  }

  /**
   * Serves `conn` until its call ends: each request goes to `onRequest`; an exception there fails
   * the call (INTERNAL); every way the call can end lets the stream go once.
   */
  serve<Req>(conn: C, onRequest: (req: Req) => void): void {
    this.conns.set(conn.id, conn);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      this.conns.delete(conn.id);
      if (!conn.node) return;
      const set = this.byKey.get(conn.key);
      set?.delete(conn);
      if (set && set.size === 0) this.byKey.delete(conn.key);
      this.opts.metrics?.connectedProxies.dec({ kind: conn.node.kind });
      this.opts.log.info('proxy disconnected', { proxy: conn.node.id, stream: conn.id, ...this.opts.logFields });
      this.opts.onNodeDisconnect?.(conn.node, conn.key, (set?.size ?? 0) + this.opts.otherStreams(conn.key));
    };
    const call = conn.call;
    call.on('data', ((req: Req) => {
      try {
        onRequest(req);
      } catch (err) {
        this.opts.log.error(`${this.opts.requestName} failed`, { stream: conn.id, err, ...this.opts.logFields });
        call.emit('error', { code: status.INTERNAL, details: String(err) });
        close();
      }
    }) as (...args: never[]) => void);
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('close', close);
    call.on('cancelled', close);
  }

  /**
   * Identifies a stream from its first request's node: its key, its set, the metric, the log, and
   * a translation for a key the cache does not have yet. False (and the call failed with
   * INVALID_ARGUMENT) when the request carries no node.
   */
  identify(conn: C, rawNode: Record<string, unknown> | undefined): boolean {
    if (conn.node) return true;
    if (!rawNode) {
      conn.call.emit('error', { code: status.INVALID_ARGUMENT, details: `the first ${this.opts.requestName} must carry node` });
      return false;
    }
    const node = parseNode(rawNode);
    conn.node = node;
    conn.key = this.opts.nodeKey(node);
    let set = this.byKey.get(conn.key);
    if (!set) this.byKey.set(conn.key, (set = new Set()));
    set.add(conn);
    this.opts.metrics?.connectedProxies.inc({ kind: node.kind });
    this.opts.log.info('proxy connected', { proxy: node.id, kind: node.kind, userAgent: node.userAgentName, nodeKey: conn.key, stream: conn.id, ...this.opts.logFields });
    if (!this.opts.cache.has(conn.key)) this.opts.onNodeConnect?.(node, conn.key);
    return true;
  }

  /** Ends every open call (server shutdown). */
  endAll(): void {
    for (const c of this.conns.values()) c.call.end();
  }
}
