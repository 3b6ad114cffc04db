// `make soak`: the chaos suite's mesh under steady load for a long time, with periodic rolling restarts and config edits; figures to reliability/results/latest.json (its `soak`) and RELIABILITY.md.
//
// Usage: node dist/reliability/soak.js [--duration=1h] [--rps=1000] [--restart-every=D] [--edit-every=D]
//          [--warmup=D] [--window=D] [--sample-every=D]
// The load is open loop (reliability/load/) from the client pod's sidecar to the catalog's three
// replicas, in consecutive one-minute segments (each its own load client, the next one started a second
// before the last one ends, so the load never pauses). Every `--restart-every` the catalog is restarted
// replica by replica (endpoint terminating first, then SIGTERM and the graceful drain, as the
// rolling-restart scenario does); every `--edit-every` a second Service over the same replicas is added to
// or removed from the registry the controller watches, so every sidecar gets a new configuration.
// Every sidecar's and the controller's RSS and descriptors are sampled from /proc. The soak passes
// with 0 failed requests, RSS growth under 5 % from the window after the warm-up to the last window,
// descriptors at most 5 above, and no sidecar or controller restarted.
// Exits 1 when it misses that, 2 when it could not run.

import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../src/clock/clock';
import { parseFlags, UsageError } from '../src/flags/flags';
import { hasTool } from '../src/os/netns';
import { netnsUnavailable } from '../src/cli/up/run';
import { addonPath } from '../sidecar/native/original-dst';
import { Mesh, REPO, sleep } from './mesh/mesh-up';
import { startLoadInPod } from './mesh/load-in-pod';
import { sampleProcess } from './proc/proc-sample';
import { renderReliability, type RunResults } from './results-doc';
import { HEADER } from './run';
import { restartReplica } from './scenarios/rolling-restart.scenario';
import { sidecarMetrics } from './scenarios/sidecar-metrics';
import { parseSoakDuration, SoakLoad, trendOf, trendProblems, type SoakResult, type TrendBounds, type TrendSample } from './soak-figures';

const SEGMENT_MS = 60_000;
/** The next load segment starts this long before the current one ends (a load client takes a few hundred ms to start). */
const OVERLAP_MS = 1000;
const TIMEOUT_MS = 5000;
/** How long a config edit may take to reach the client's sidecar before it counts as not applied. */
const EDIT_SEEN_WITHIN_MS = 10_000;

/** Whether the client's sidecar has healthy endpoints in the added Service's cluster. */
async function canarySeen(mesh: Mesh): Promise<boolean> {
  const samples = await sidecarMetrics(mesh.pod('client'));
  return samples.some((x) => x.name === 'ferry_upstream_endpoints' && (x.labels.destination_cluster ?? '').includes('catalog-canary') && x.labels.health === 'healthy' && x.value > 0);
}

export interface SoakOptions {
  readonly durationMs: number;
  readonly rps: number;
  readonly restartEveryMs: number;
  readonly editEveryMs: number;
  readonly sampleEveryMs: number;
  readonly bounds: TrendBounds;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** Defaults scaled to the duration: an hour gets 5 min warm-up and windows and a restart every 10 min. */
export function soakDefaults(durationMs: number): { warmupMs: number; windowMs: number; restartEveryMs: number; editEveryMs: number; sampleEveryMs: number } {
  return {
    warmupMs: Math.round(clamp(durationMs * 0.15, 30_000, 300_000)),
    windowMs: Math.round(clamp(durationMs * 0.15, 30_000, 300_000)),
    restartEveryMs: Math.round(clamp(durationMs / 5, 60_000, 600_000)),
    editEveryMs: 30_000,
    sampleEveryMs: 10_000,
  };
}

/** The registry file of the added Service: a copy of the catalog's Service and EndpointSlices under another name. */
function canaryObjects(mesh: Mesh): unknown {
  const list = JSON.parse(readFileSync(join(mesh.dir, 'registry', 'mesh.json'), 'utf8')) as { items: Record<string, any>[] };
  const svc = list.items.find((o) => o.kind === 'Service' && o.metadata?.name === 'catalog');
  const slices = list.items.filter((o) => o.kind === 'EndpointSlice' && o.metadata?.labels?.['kubernetes.io/service-name'] === 'catalog');
  if (!svc || slices.length === 0) throw new Error('the registry has no catalog Service with EndpointSlices to copy');
  const copy = JSON.parse(JSON.stringify({ svc, slices })) as { svc: Record<string, any>; slices: Record<string, any>[] };
  copy.svc.metadata.name = 'catalog-canary';
  delete copy.svc.spec.clusterIP;
  delete copy.svc.spec.clusterIPs;
  copy.slices.forEach((s, i) => {
    s.metadata.name = `catalog-canary-${i}`;
    s.metadata.labels['kubernetes.io/service-name'] = 'catalog-canary';
  });
  return { apiVersion: 'v1', kind: 'List', items: [copy.svc, ...copy.slices] };
}

/** Each long-lived process of the mesh now: every sidecar and the controller. */
function longLived(mesh: Mesh): { name: string; pid: number | null }[] {
  const sidecars = mesh.readState().pods.filter((p) => p.meshed).map((p) => ({ name: `${p.name}/ferry-proxy`, pid: mesh.pid(p.name, 'ferry-proxy') }));
  return [...sidecars, { name: 'controller', pid: mesh.controllerPid() }];
}

export async function runSoak(mesh: Mesh, o: SoakOptions): Promise<Omit<SoakResult, 'ranAt' | 'command' | 'error'>> {
  const { clock, log } = o;
  const load = new SoakLoad();
  const samples = new Map<string, TrendSample[]>();
  const pending: Promise<void>[] = [];
  let t0Wall: number | null = null;
  let finished = false;
  let segments = 0;
  let restarts = 0;
  let edits = 0;
  const restartMs: number[] = [];
  const editSeenMs: number[] = [];
  let editsNotSeen = 0;
  const elapsed = (): number => (t0Wall === null ? 0 : clock.wallNow() - t0Wall);
  const canaryFile = join(mesh.dir, 'registry', 'soak-canary.json');

  const loadLoop = async (): Promise<void> => {
    for (;;) {
      const remaining = o.durationMs - elapsed();
      if (remaining < 1000) return;
      const segMs = Math.min(SEGMENT_MS, remaining);
      const seg = await startLoadInPod(mesh, 'client', { target: mesh.service('catalog'), path: '/items', method: 'GET', rps: o.rps, durationMs: segMs, timeoutMs: TIMEOUT_MS });
      if (t0Wall === null) t0Wall = seg.startedAtWall;
      const base = t0Wall;
      segments++;
      pending.push(seg.done.then((f) => load.add(f.records, f.startedAtWall - base)));
      await sleep(Math.max(0, seg.startedAtWall + segMs - OVERLAP_MS - clock.wallNow()), clock);
    }
  };

  const sampler = async (): Promise<void> => {
    while (!finished) {
      const at = elapsed();
      for (const p of longLived(mesh)) {
        const list = samples.get(p.name) ?? [];
        samples.set(p.name, list);
        const s = p.pid === null ? null : sampleProcess(p.name, p.pid);
        list.push({ atMs: Math.round(at), pid: p.pid ?? 0, rssMb: s?.rssMb ?? null, fds: s?.fds ?? null });
      }
      await sleep(o.sampleEveryMs, clock);
    }
  };

  const every = async (periodMs: number, what: () => Promise<void>): Promise<void> => {
    for (let k = 1; ; k++) {
      while (!finished && elapsed() < k * periodMs) await sleep(Math.min(500, periodMs), clock);
      // No fault may start in the last minute: the load must see the mesh settle.
      if (finished || elapsed() > o.durationMs - 60_000) return;
      await what();
    }
  };

  const rolling = async (): Promise<void> => {
    log(`soak ${Math.round(elapsed() / 1000)} s: rolling restart of the catalog`);
    for (const pod of mesh.podsOf('catalog-').map((p) => p.name)) {
      const r = await restartReplica(mesh, pod, 'endpoint-first', clock, log);
      restartMs.push(r.restartMs);
      await sleep(1000, clock);
    }
    restarts++;
  };

  const edit = async (): Promise<void> => {
    const adding = !existsSync(canaryFile);
    const t0 = clock.now();
    if (!adding) rmSync(canaryFile);
    else {
      const tmp = `${canaryFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(canaryObjects(mesh)));
      // A rename, so the controller never reads half a file.
      renameSync(tmp, canaryFile);
    }
    edits++;
    // The edit counts as applied once the client's sidecar shows the cluster (or stops showing it).
    for (;;) {
      if ((await canarySeen(mesh).catch(() => !adding)) === adding) {
        editSeenMs.push(Math.round(clock.now() - t0));
        return;
      }
      if (clock.now() - t0 > EDIT_SEEN_WITHIN_MS) {
        editsNotSeen++;
        log(`soak ${Math.round(elapsed() / 1000)} s: the client's sidecar did not ${adding ? 'get' : 'drop'} catalog-canary within ${EDIT_SEEN_WITHIN_MS} ms`);
        return;
      }
      await sleep(50, clock);
    }
  };

  const loadDone = loadLoop();
  await sleep(2000, clock);
  const sampling = sampler();
  const faults = Promise.all([every(o.restartEveryMs, rolling), every(o.editEveryMs, edit)]);
  try {
    await loadDone;
  } finally {
    finished = true;
  }
  await faults;
  await sampling;
  await Promise.all(pending);

  const trends = [...samples.entries()].map(([name, s]) => trendOf(name, s, o.bounds));
  const problems = trends.flatMap((t) => trendProblems(t, o.bounds));
  if (load.failed > 0) problems.unshift(`${load.failed} of ${load.sent} requests failed (${Object.entries(load.failedBy).map(([k, v]) => `${v} × ${k}`).join(', ')})`);
  if (load.sent === 0) problems.unshift('no request was sent');
  if (editsNotSeen > 0) problems.push(`${editsNotSeen} of ${edits} config edits did not reach the client's sidecar within ${EDIT_SEEN_WITHIN_MS} ms`);
  return {
    passed: problems.length === 0,
    durationMs: o.durationMs,
    rps: o.rps,
    load: { sent: load.sent, ok: load.ok, failed: load.failed, failedBy: load.failedBy, p50Ms: load.percentile(50), p99Ms: load.percentile(99), maxSendLagMs: Math.round(load.maxSendLagMs * 10) / 10, firstFailures: load.firstFailures },
    segments,
    rollingRestarts: restarts,
    replicaRestartMs: restartMs,
    configEdits: edits,
    editSeenMs: { max: editSeenMs.length ? Math.max(...editSeenMs) : null, median: editSeenMs.length ? [...editSeenMs].sort((a, b) => a - b)[editSeenMs.length >> 1] : null },
    bounds: o.bounds,
    trends,
    problems,
  };
}

function durationFlag(values: Record<string, unknown>, name: string, def: number): number {
  const v = values[name];
  if (v === undefined) return def;
  if (typeof v !== 'string') throw new UsageError(`flag --${name}: expected a duration such as 90s, 10m, 1h`);
  try {
    return parseSoakDuration(name, v);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const spec = { duration: 'string', rps: 'number', 'restart-every': 'string', 'edit-every': 'string', warmup: 'string', window: 'string', 'sample-every': 'string' } as const;
  const { values, positional } = parseFlags(argv, spec);
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const durationMs = durationFlag(values, 'duration', 3_600_000);
  const d = soakDefaults(durationMs);
  const rps = typeof values.rps === 'number' ? values.rps : 1000;
  if (!(rps > 0 && rps <= 5000)) throw new UsageError(`flag --rps: must be 1–5000, got ${rps}`);
  const bounds: TrendBounds = { warmupMs: durationFlag(values, 'warmup', d.warmupMs), windowMs: durationFlag(values, 'window', d.windowMs), maxRssGrowthPct: 5, maxFdGrowth: 5 };
  if (bounds.warmupMs + 2 * bounds.windowMs > durationMs) throw new UsageError(`the soak (${durationMs / 1000} s) is shorter than its warm-up and two windows (${(bounds.warmupMs + 2 * bounds.windowMs) / 1000} s): nothing to compare`);
  const o: SoakOptions = {
    durationMs,
    rps,
    restartEveryMs: durationFlag(values, 'restart-every', d.restartEveryMs),
    editEveryMs: durationFlag(values, 'edit-every', d.editEveryMs),
    sampleEveryMs: durationFlag(values, 'sample-every', d.sampleEveryMs),
    bounds,
    clock: systemClock,
    log: (l) => process.stdout.write(`${l}\n`),
  };
  const why = netnsUnavailable(hasTool, existsSync(addonPath()));
  if (why) throw new UsageError(`the soak runs ferry up in netns mode, not available here: ${why}`);
  const command = `node dist/reliability/soak.js --duration=${typeof values.duration === 'string' ? values.duration : '1h'} --rps=${rps}`;
  const ranAt = new Date(systemClock.wallNow()).toISOString();
  o.log(`soak: ${durationMs / 1000} s at ${rps} req/s; rolling restart every ${o.restartEveryMs / 1000} s, config edit every ${o.editEveryMs / 1000} s; baseline after ${bounds.warmupMs / 1000} s`);
  let result: SoakResult;
  let mesh: Mesh | null = null;
  let keep = true;
  try {
    mesh = await Mesh.start(join(REPO, 'reliability', 'testdata', 'mesh'), systemClock);
    const r = await runSoak(mesh, o);
    result = { ...r, ranAt, command, error: null };
    keep = !r.passed;
  } catch (err) {
    o.log(`soak: did not complete: ${(err as Error).stack ?? err}`);
    if (mesh) o.log(`--- ferry up ---\n${mesh.log().slice(-3000)}`);
    result = { ranAt, command, error: (err as Error).message.split('\n')[0], passed: false, durationMs, rps, load: null, segments: 0, rollingRestarts: 0, replicaRestartMs: [], configEdits: 0, editSeenMs: { max: null, median: null }, bounds, trends: [], problems: [] };
  } finally {
    await mesh?.stop(keep);
    if (mesh && keep) o.log(`soak: its logs stay in ${mesh.stateDir}`);
  }
  o.log(`soak: ${result.passed ? 'met' : 'NOT MET'} — sent ${result.load?.sent}, failed ${result.load?.failed}${result.problems.length ? `; ${result.problems.join('; ')}` : ''}`);

  const file = join(REPO, 'reliability', 'results', 'latest.json');
  let all: RunResults = { startedAt: ranAt, host: { cpus: os.cpus().length, node: process.version }, scenarios: [] };
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as RunResults;
  } catch {
    // no chaos run yet
  }
  all = { ...all, soak: result };
  writeFileSync(file, `${JSON.stringify(all, null, 1)}\n`);
  writeFileSync(join(REPO, 'RELIABILITY.md'), renderReliability(all, HEADER));
  o.log(`wrote ${file} and RELIABILITY.md`);
  return result.passed ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`soak: ${err.message}\n`);
    process.exit(2);
  });
}
