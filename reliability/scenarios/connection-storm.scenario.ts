// Scenario 9: a connection storm (idle connections, slowloris, TLS stalls) on the client sidecar's
// outbound listener and on the replicas' inbound listeners while normal traffic runs.
//
// After a baseline the storm opens: half of it from the client pod (captured by its sidecar's outbound
// listener, as the app's own connections are), half from the host to the replicas' pod addresses
// (captured by their inbound listeners, STRICT mTLS: a plaintext request head is no client of theirs,
// and a TLS handshake that never finishes has to time out). The storm holds its connections for
// STORM_MS, then a quiet phase follows. The sidecars' RSS and descriptors are sampled every second.

import { percentile } from '../load/outcomes';
import { peakOpen, stormFigures, type StormConnection, type StormKind } from '../load/storm';
import { sleep, type Mesh } from '../mesh/mesh-up';
import { startStorm } from '../mesh/storm-in-pod';
import { sampleSidecars, underLoad, type Scenario } from '../scenario';

/** Storm connections in all, half outbound, half inbound; most idle, a few hundred slow. */
export const STORM_CONNECTIONS = 10_000;
const SLOW_PER_SIDE = 150;
const BASELINE_MS = 10_000;
const STORM_MS = 25_000;
const AFTER_MS = 10_000;
/** Normal traffic's p99 during the storm may be at most this many times its baseline p99 (the machine is shared and noisy)… */
export const P99_FACTOR = 3;
/** …or this much above it, whichever is larger (a 3 ms baseline p99 tripled is within noise). */
export const P99_SLACK_MS = 20;
/** A sidecar's RSS during the storm may grow by at most this much over its baseline (MiB): ~10 KiB per storm connection. */
export const RSS_GROWTH_BOUND_MB = 128;
/**
 * Connections each storm process opens per second: 5,000 in about 8 s, inside the 10 s the inbound
 * listeners give a handshake, so the whole storm is open at once at its peak.
 */
const OPEN_PER_SECOND = 600;
/**
 * Descriptors a sidecar may hold over its baseline once the storm has gone: 16, or 1 % of the storm's
 * connections to it if more — the normal traffic's own keep-alive connections, downstream and pooled
 * upstream, grow while its latency rises during the storm, and stay open.
 */
const fdSlack = (stormConnections: number): number => Math.max(16, Math.ceil(stormConnections / 100));

interface Peak {
  rssMb: number;
  fds: number;
}

function peaks(mesh: Mesh, into: Map<string, Peak>): void {
  for (const [pod, s] of sampleSidecars(mesh)) {
    if (s === null || s.rssMb === null || s.fds === null) continue;
    const p = into.get(pod) ?? { rssMb: 0, fds: 0 };
    into.set(pod, { rssMb: Math.max(p.rssMb, s.rssMb), fds: Math.max(p.fds, s.fds) });
  }
}

function kindFigures(prefix: string, conns: readonly StormConnection[], kind: StormKind, extra: Record<string, number | string | null>): void {
  const f = stormFigures(conns, kind);
  if (f.started === 0) return;
  extra[`${prefix} ${kind}: opened / closed by the proxy / still open at the end`] = `${f.opened} / ${f.closedByPeer} / ${f.stillOpen}`;
  extra[`${prefix} ${kind}: closed after, median / max (ms)`] = f.closeP50Ms === null ? null : `${Math.round(f.closeP50Ms)} / ${f.closeMaxMs}`;
  const errs = Object.entries(f.errors).map(([k, v]) => `${k} ${v}`).join(', ');
  if (errs !== '') extra[`${prefix} ${kind}: errors`] = errs;
}

export function connectionStorm(): Scenario {
  return {
    name: 'connection-storm',
    title: `Connection storm: ${STORM_CONNECTIONS.toLocaleString('en')} idle connections and slowloris on the outbound and inbound listeners`,
    expectation: `normal traffic 0 failed, p99 within ${P99_FACTOR}× baseline (or +${P99_SLACK_MS} ms); sidecar RSS +${RSS_GROWTH_BOUND_MB} MiB at most; descriptors back to baseline after`,
    async run(mesh, o) {
      const service = mesh.service('catalog');
      const replicas = mesh.podsOf('catalog-');
      const perSide = STORM_CONNECTIONS / 2;
      const outStorm = { targets: [service], idle: perSide - SLOW_PER_SIDE, slowloris: SLOW_PER_SIDE, tlsStall: 0 };
      const inStorm = { targets: replicas.map((p) => ({ ip: p.ip, port: service.port })), idle: perSide - SLOW_PER_SIDE, slowloris: SLOW_PER_SIDE / 2, tlsStall: SLOW_PER_SIDE / 2 };
      const base = new Map<string, Peak>();
      const during = new Map<string, Peak>();
      const after = new Map<string, Peak>();
      let outConns: StormConnection[] = [];
      let inConns: StormConnection[] = [];
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: BASELINE_MS + STORM_MS + AFTER_MS, warmMs: BASELINE_MS }, async (marks) => {
        peaks(mesh, base);
        const common = { openPerSecond: OPEN_PER_SECOND, byteIntervalMs: 2000, durationMs: STORM_MS };
        const [outbound, inbound] = await Promise.all([startStorm(mesh, 'client', { ...outStorm, ...common }), startStorm(mesh, null, { ...inStorm, ...common })]);
        marks.start();
        let ended = false;
        const both = Promise.all([outbound.done, inbound.done]).finally(() => (ended = true));
        while (!ended) {
          peaks(mesh, during);
          await Promise.race([sleep(1000), both]);
        }
        const [o1, i1] = await both;
        outConns = o1.connections;
        inConns = i1.connections;
        marks.end();
        // Give the proxies a moment to see the storm's closes, then sample the quiet phase.
        await sleep(AFTER_MS / 2);
        peaks(mesh, after);
      });
      const extra: Record<string, number | string | null> = {};
      const baseline = run.records.filter((r) => r.at < run.fault.startMs).map((r) => r.latencyMs);
      const baseP99 = percentile(baseline, 99);
      const stormP99 = run.figures.faultP99Ms;
      extra['baseline p99 (ms)'] = baseP99 === null ? null : Math.round(baseP99 * 10) / 10;
      extra['storm p99 (ms)'] = stormP99 === null ? null : Math.round(stormP99 * 10) / 10;
      extra['storm connections open at once, outbound / inbound (peak)'] = `${peakOpen(outConns, STORM_MS)} / ${peakOpen(inConns, STORM_MS)}`;
      for (const k of ['idle', 'slowloris', 'tls-stall'] as const) kindFigures('outbound', outConns, k, extra);
      for (const k of ['idle', 'slowloris', 'tls-stall'] as const) kindFigures('inbound', inConns, k, extra);
      const notes: string[] = [];
      let bounded = true;
      let settled = true;
      for (const [pod, b] of [...base].sort(([x], [y]) => x.localeCompare(y))) {
        const d = during.get(pod);
        const a = after.get(pod);
        extra[`${pod} sidecar RSS MiB before / peak / after`] = `${b.rssMb} / ${d?.rssMb ?? '?'} / ${a?.rssMb ?? '?'}`;
        extra[`${pod} sidecar fds before / peak / after`] = `${b.fds} / ${d?.fds ?? '?'} / ${a?.fds ?? '?'}`;
        if (d === undefined || d.rssMb - b.rssMb > RSS_GROWTH_BOUND_MB) {
          bounded = false;
          notes.push(`${pod}'s sidecar grew from ${b.rssMb} to ${d?.rssMb ?? '?'} MiB during the storm (bound +${RSS_GROWTH_BOUND_MB}).`);
        }
        const stormHere = pod === 'client' ? perSide : Math.ceil(perSide / replicas.length);
        if (a === undefined || a.fds > b.fds + fdSlack(stormHere)) {
          settled = false;
          notes.push(`${pod}'s sidecar held ${a?.fds ?? '?'} descriptors after the storm (baseline ${b.fds}, slack ${fdSlack(stormHere)}).`);
        }
      }
      const latencyOk = baseP99 !== null && stormP99 !== null && stormP99 <= Math.max(baseP99 * P99_FACTOR, baseP99 + P99_SLACK_MS);
      if (!latencyOk) notes.push(`Normal traffic's p99 went from ${baseP99} ms to ${stormP99} ms during the storm.`);
      const inTls = stormFigures(inConns, 'tls-stall');
      const timedOut = inTls.started === 0 || inTls.stillOpen === 0;
      if (!timedOut) notes.push(`${inTls.stillOpen} stalled TLS handshakes on the inbound listeners were still open when the storm ended.`);
      return {
        passed: run.figures.failed === 0 && run.figures.sent > 0 && latencyOk && bounded && settled && timedOut,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: run.figures,
        extra,
        sidecars: run.sidecars,
        notes,
      };
    },
  };
}
