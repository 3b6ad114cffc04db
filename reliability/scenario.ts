// What a chaos scenario is (a fault under open-loop load through a `ferry up` mesh) and what it reports.

import { systemClock, type Clock } from '../src/clock/clock';
import type { LoadProtocol } from './load/exchange';
import { retryFigures, summarize, type LoadFigures, type RequestRecord, type RetryFigures } from './load/outcomes';
import { startLoadInPod } from './mesh/load-in-pod';
import type { Mesh } from './mesh/mesh-up';
import { sampleProcess, type ProcSample } from './proc/proc-sample';
import { waitEndpointsHealthy } from './scenarios/sidecar-metrics';
import { serviceCluster } from './scenarios/upstream-host';

export interface ScenarioOptions {
  /** Requests per second of the load. */
  readonly rps: number;
  /** How long the controller stays down in `controller-down` (ms). */
  readonly outageMs: number;
  /** The manifests `ferry up` runs. */
  readonly manifests: string;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

export interface SidecarSample {
  readonly pod: string;
  readonly before: ProcSample | null;
  readonly after: ProcSample | null;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly expectation: string;
  readonly command: string;
  /** ISO time the scenario started. */
  readonly ranAt: string;
  readonly passed: boolean;
  readonly rps: number;
  readonly durationMs: number;
  /** The fault window, ms since the load started. */
  readonly fault: { startMs: number; endMs: number } | null;
  readonly figures: LoadFigures | null;
  /** Scenario-specific figures (ejection time, resync time, …). */
  readonly extra: Readonly<Record<string, number | string | null>>;
  readonly sidecars: readonly SidecarSample[];
  readonly notes: readonly string[];
  /** Set when the scenario could not run to the end. */
  readonly error: string | null;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** The expectation in words, as RELIABILITY.md shows it. */
  readonly expectation: string;
  /** The manifests `ferry up` runs for this scenario, when not the suite's (`ScenarioOptions.manifests`). */
  readonly manifests?: string;
  /** Further `ferry up` flags for this scenario's mesh (e.g. a short certificate lifetime). */
  readonly upArgs?: readonly string[];
  /** Runs against a fresh mesh (the runner starts and removes it). */
  run(mesh: Mesh, o: ScenarioOptions): Promise<Omit<ScenarioResult, 'name' | 'title' | 'expectation' | 'command' | 'ranAt' | 'error'>>;
}

/** The meshed pods' sidecars: RSS and descriptors now, by pod name. */
export function sampleSidecars(mesh: Mesh): Map<string, ProcSample | null> {
  const out = new Map<string, ProcSample | null>();
  for (const p of mesh.readState().pods.filter((x) => x.meshed)) {
    const pid = mesh.pid(p.name, 'ferry-proxy');
    out.set(p.name, pid === null ? null : sampleProcess(`${p.name}/ferry-proxy`, pid));
  }
  return out;
}

export function pairSamples(before: Map<string, ProcSample | null>, after: Map<string, ProcSample | null>): SidecarSample[] {
  return [...new Set([...before.keys(), ...after.keys()])].sort().map((pod) => ({ pod, before: before.get(pod) ?? null, after: after.get(pod) ?? null }));
}

/** The fault, told when it starts and ends (wall clock, as the load client's records are based on it). */
export interface FaultMarks {
  start(): void;
  end(): void;
}

export interface LoadedRun {
  readonly figures: LoadFigures;
  readonly fault: { startMs: number; endMs: number };
  readonly durationMs: number;
  readonly sidecars: SidecarSample[];
  /** The load client's retries on a fresh connection (none unless the spec turned them on). */
  readonly retries: RetryFigures;
  /** Every request of the run, for a scenario's own figures. */
  readonly records: readonly RequestRecord[];
}

/**
 * Runs `fault` under the load from pod `client` to service `service` (its first port, in `protocol`,
 * default http1): the load starts, `warmMs` later the fault runs (it marks its window), the load goes
 * on until `durationMs`.
 */
export async function underLoad(
  mesh: Mesh,
  o: ScenarioOptions,
  spec: {
    client: string; service: string; protocol?: LoadProtocol; path: string; method: 'GET' | 'POST'; bodyBytes?: number;
    /** The longest the load runs; with `tailMs` it ends that long after the fault's end, if sooner. */
    durationMs: number; tailMs?: number;
    warmMs: number; timeoutMs?: number; retryOnFreshConnection?: boolean; reuseConnections?: boolean;
  },
  fault: (marks: FaultMarks) => Promise<void>,
): Promise<LoadedRun> {
  const clock = o.clock ?? systemClock;
  await waitEndpointsHealthy(mesh.pod(spec.client), serviceCluster(mesh, spec.service).cluster, clock);
  const before = sampleSidecars(mesh);
  const load = await startLoadInPod(mesh, spec.client, { target: mesh.service(spec.service), protocol: spec.protocol, path: spec.path, method: spec.method, bodyBytes: spec.bodyBytes, rps: o.rps, durationMs: spec.durationMs, timeoutMs: spec.timeoutMs ?? 5000, retryOnFreshConnection: spec.retryOnFreshConnection, reuseConnections: spec.reuseConnections });
  const done = load.done;
  done.catch(() => undefined);
  let startWall = NaN;
  let endWall = NaN;
  await new Promise<void>((r) => clock.setTimeout(r, Math.max(0, load.startedAtWall + spec.warmMs - clock.wallNow())));
  await fault({ start: () => (startWall = clock.wallNow()), end: () => (endWall = clock.wallNow()) });
  if (Number.isNaN(startWall)) throw new Error('the scenario never marked the start of its fault');
  if (Number.isNaN(endWall)) endWall = clock.wallNow();
  let durationMs = spec.durationMs;
  if (spec.tailMs !== undefined) {
    const stopAt = endWall + spec.tailMs;
    if (stopAt < load.startedAtWall + spec.durationMs) {
      await new Promise<void>((r) => clock.setTimeout(r, Math.max(0, stopAt - clock.wallNow())));
      load.stop();
      durationMs = Math.round(Math.max(stopAt, clock.wallNow()) - load.startedAtWall);
    }
  }
  const file = await done;
  const window = { startMs: startWall - file.startedAtWall, endMs: endWall - file.startedAtWall };
  const after = sampleSidecars(mesh);
  return { figures: summarize(file.records, window), fault: window, durationMs, sidecars: pairSamples(before, after), retries: retryFigures(file.records), records: file.records };
}
