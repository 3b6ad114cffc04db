// A shard of simulated Ferry sidecars for xds-convergence: opens ADS streams, subscribes like the sidecar, ACKs everything.
//
// Run by xds-convergence.ts with fork(): node xds-simulator.js --target=H:P --from=J --count=K --services=S
// Each stream is its own HTTP/2 connection (as separate pods would have) carrying one gRPC call, spoken
// directly over node:http2 (xds-h2-stream.ts) and read with the wire helpers (xds-wire.ts): real
// sidecars each have their own CPU, while here 250 share a process and four processes share a core, so
// grpc-js's per-message client overhead and protobufjs decoding would land in the measured time.
// It asks for CDS and LDS (wildcard), then EDS for the clusters' service names and RDS for the
// listeners' route names, and ACKs every response. Messages to the parent (IPC):
//   {type:'synced'} once every stream has ACKed all four types, {type:'armed', id} after an
//   `expect`, {type:'converged', id, first, last} once every stream has written its ACK of an EDS
//   response carrying the expected address (wall-clock ms), {type:'error', message}.

import { ADS_METHOD_PATH, encodeDiscoveryRequest } from '../src/xds/ads-service';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../src/xds/type-urls';
import { GrpcH2Stream } from './xds-h2-stream';
import { simulatedNodeId } from './xds-registry';
import { clusterEdsName, decodeResponseHeader, encodeRequest, encodeResourceNames, listenerRdsNames, resourcesContain } from './xds-wire';

/** Streams opened but not yet synced, at most: connects in waves, as pods of a rollout would. */
const OPEN_AHEAD = 50;

interface TypeState {
  names: string[] | null; // null: wildcard
  /** resource_names as encoded, once per subscription change. */
  namesField: Buffer;
  version: string;
  nonce: string;
}

/** Wall-clock ms with sub-ms resolution, comparable across processes of this machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

interface Expectation {
  readonly id: number;
  readonly marker: Buffer;
  first: number;
  last: number;
  pending: number;
}

class SimStream {
  private readonly call: GrpcH2Stream;
  private readonly types = new Map<string, TypeState>();
  private readonly nodeField: Buffer;
  synced = false;
  /** The expectation this stream has already met. */
  metId = 0;

  constructor(target: string, private readonly j: number, services: number, private readonly shard: Shard) {
    this.nodeField = encodeDiscoveryRequest({ node: { id: simulatedNodeId(j, services), cluster: 'bench', userAgentName: 'ferry', userAgentVersion: '0.1.0' } });
    for (const t of [CLUSTER_TYPE, LISTENER_TYPE, ENDPOINT_TYPE, ROUTE_TYPE]) {
      this.types.set(t, { names: t === CLUSTER_TYPE || t === LISTENER_TYPE ? null : [], namesField: Buffer.alloc(0), version: '', nonce: '' });
    }
    this.call = new GrpcH2Stream(target, ADS_METHOD_PATH, {
      onMessage: (m) => this.onMessage(m),
      onError: (err) => {
        if (!shard.stopping) shard.fail(`stream ${j}: ${err.message}`);
      },
    });
    this.send(CLUSTER_TYPE);
    this.send(LISTENER_TYPE);
  }

  private send(typeUrl: string): void {
    const s = this.types.get(typeUrl)!;
    this.call.write(encodeRequest(s.version, this.nodeField, s.namesField, typeUrl, s.nonce));
  }

  private subscribe(typeUrl: string, names: string[]): void {
    const s = this.types.get(typeUrl)!;
    const sorted = [...new Set(names)].sort();
    if (s.names !== null && s.names.length === sorted.length && s.names.every((n, i) => n === sorted[i])) return;
    s.names = sorted;
    s.namesField = encodeResourceNames(sorted);
    this.send(typeUrl);
  }

  private onMessage(message: Buffer): void {
    let res;
    try {
      res = decodeResponseHeader(message);
    } catch (err) {
      this.shard.fail(`stream ${this.j}: malformed DiscoveryResponse: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const s = this.types.get(res.typeUrl);
    if (!s) return;
    s.version = res.versionInfo;
    s.nonce = res.nonce;
    this.send(res.typeUrl); // the ACK
    if (res.typeUrl === CLUSTER_TYPE) {
      const names: string[] = [];
      for (const r of res.resources) {
        const n = clusterEdsName(r);
        if (n !== null) names.push(n);
      }
      this.subscribe(ENDPOINT_TYPE, names);
    } else if (res.typeUrl === LISTENER_TYPE) {
      this.subscribe(ROUTE_TYPE, res.resources.flatMap((r) => listenerRdsNames(r)));
    } else if (res.typeUrl === ENDPOINT_TYPE) {
      const e = this.shard.expectation;
      if (e && this.metId !== e.id && resourcesContain(res.resources, e.marker)) {
        this.metId = e.id;
        this.shard.met(wallNow());
      }
    }
    if (!this.synced && [...this.types.values()].every((t) => t.version !== '' || (t.names !== null && t.names.length === 0))) {
      this.synced = true;
      this.shard.streamSynced();
    }
  }

  close(): Promise<void> {
    return this.call.close();
  }
}

class Shard {
  readonly streams: SimStream[] = [];
  expectation: Expectation | null = null;
  stopping = false;
  private syncedCount = 0;
  private next: number;

  constructor(private readonly target: string, private readonly from: number, private readonly count: number, private readonly services: number) {
    this.next = from;
  }

  start(): void {
    this.openMore();
  }

  private openMore(): void {
    while (this.next < this.from + this.count && this.next - this.from - this.syncedCount < OPEN_AHEAD) {
      this.streams.push(new SimStream(this.target, this.next, this.services, this));
      this.next++;
    }
  }

  streamSynced(): void {
    this.syncedCount++;
    if (this.syncedCount === this.count) process.send!({ type: 'synced' });
    else this.openMore();
  }

  expect(id: number, markerHex: string): void {
    this.expectation = { id, marker: Buffer.from(markerHex, 'hex'), first: 0, last: 0, pending: this.streams.length };
    process.send!({ type: 'armed', id });
  }

  met(at: number): void {
    const e = this.expectation!;
    if (e.first === 0) e.first = at;
    e.last = at;
    if (--e.pending === 0) process.send!({ type: 'converged', id: e.id, first: e.first, last: e.last });
  }

  fail(message: string): void {
    process.send!({ type: 'error', message });
  }

  stop(): void {
    this.stopping = true;
    for (const s of this.streams) void s.close();
  }
}

function arg(argv: readonly string[], name: string): string {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  if (!a) throw new Error(`xds-simulator: --${name}= is required`);
  return a.slice(name.length + 3);
}

function main(argv: readonly string[]): void {
  if (!process.send) throw new Error('xds-simulator: run it with fork() (it reports over IPC)');
  const shard = new Shard(arg(argv, 'target'), Number(arg(argv, 'from')), Number(arg(argv, 'count')), Number(arg(argv, 'services')));
  process.on('message', (m: { cmd: string; id?: number; marker?: string }) => {
    if (m.cmd === 'expect') shard.expect(m.id!, m.marker!);
    else if (m.cmd === 'stop') {
      shard.stop();
      setTimeout(() => process.exit(0), 200).unref();
      process.disconnect();
    }
  });
  process.on('disconnect', () => {
    shard.stop();
    setTimeout(() => process.exit(0), 200).unref();
  });
  shard.start();
}

if (require.main === module) main(process.argv.slice(2));
