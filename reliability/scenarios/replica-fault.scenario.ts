// Scenario 8: one catalog replica answers 503 for a while, or answers slowly, under idempotent GETs (the test app's fault control).
//
// `503-burst`: every answer but its health check is a 503 for BURST_MS, so its readiness holds and only
// the client sidecar's outlier detection stands between the burst and the client. The default retry
// policy does not retry an answered 503, so each one reaches the client until the replica is ejected:
// the bound is consecutive_5xx (5) failures per ejection, plus the requests already on their way to
// it when the fifth came back. `slow`: every answer is DELAY_MS late for SLOW_MS; nothing in the
// defaults reacts to latency (outlier detection counts failures), so the figure is the p99 it costs.

import { DEFAULT_OUTLIER, DEFAULT_TIMEOUT_MS } from '../../src/controller/model/defaults';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { describeSpans, failureSpans } from '../load/failure-spans';
import { sleep } from '../mesh/mesh-up';
import { watchHost } from '../mesh/host-watch';
import { appFault } from '../mesh/pod-faults';
import { inboundRequests } from './sidecar-metrics';
import { upstreamHost } from './upstream-host';

export type ReplicaFault = '503-burst' | 'slow';

const WARM_MS = 3000;
/** Shorter than the base ejection time, so one ejection covers the burst. */
const BURST_MS = 15_000;
const SLOW_MS = 15_000;
const DELAY_MS = 1000;
/** After a burst: the ejection's end and the sweep that returns the replica. */
const AFTER_BURST_MS = DEFAULT_OUTLIER.baseEjectionTimeMs + DEFAULT_OUTLIER.intervalMs + 5000;
const AFTER_SLOW_MS = 5000;
/** The time a 503 takes to come back to the client sidecar here, for the requests already on their way when the fifth one did. */
const IN_FLIGHT_MS = 50;

/** At most this many failures while `ejections` ejections end 503 bursts from one of `replicas` replicas at `rps` (round robin). */
export function burstFailureBound(consecutive5xx: number, ejections: number, rps: number, replicas: number): number {
  return consecutive5xx * Math.max(1, ejections) + Math.ceil(((rps / replicas) * IN_FLIGHT_MS) / 1000);
}

export function replicaFault(kind: ReplicaFault): Scenario {
  const victim = 'catalog-1';
  return {
    name: kind === '503-burst' ? 'replica-503-burst' : 'replica-slow',
    title: kind === '503-burst' ? `One replica answers 503 for ${BURST_MS / 1000} s, idempotent GETs` : `One replica answers ${DELAY_MS} ms late for ${SLOW_MS / 1000} s, idempotent GETs`,
    expectation: kind === '503-burst'
      ? `ejected; failures at most consecutive_5xx (${DEFAULT_OUTLIER.consecutive5xx}) per ejection plus the requests in flight to it; back in rotation after the burst`
      : `0 failed; p99 during the slowdown reported (nothing ejects a slow replica)`,
    async run(mesh, o) {
      const client = mesh.pod('client');
      const up = upstreamHost(mesh, 'catalog', victim);
      const replicas = mesh.podsOf('catalog-').length;
      const watch = await watchHost(mesh, client.name, up.cluster, up.host);
      let what = '';
      let ejectionMs: number | null = null;
      let ejectionsInFault = 0;
      let backMs: number | null = null;
      let servedMs: number | null = null;
      let victimServed: number | null = null;
      const faultMs = kind === '503-burst' ? BURST_MS : SLOW_MS;
      const afterMs = kind === '503-burst' ? AFTER_BURST_MS : AFTER_SLOW_MS;
      const run = await underLoad(mesh, o, { client: client.name, service: 'catalog', path: '/items', method: 'GET', durationMs: WARM_MS + faultMs + afterMs, warmMs: WARM_MS, timeoutMs: DEFAULT_TIMEOUT_MS + 5000 }, async (marks) => {
        // Marked before the call: the app's fault starts when the control answers, which can take seconds on a loaded machine.
        const t0 = o.clock.wallNow();
        marks.start();
        const fault = await appFault(mesh, victim, kind === '503-burst' ? { status: 503, forMs: faultMs } : { delayMs: DELAY_MS, forMs: faultMs });
        const servedBefore = await inboundRequests(mesh.pod(victim));
        what = fault.what;
        try {
          const ejected = await watch.next('ejected', t0, faultMs);
          if (ejected) ejectionMs = Math.round(ejected.at - t0);
          await sleep(Math.max(0, t0 + faultMs - o.clock.wallNow()));
        } finally {
          await fault.undo();
        }
        const t1 = o.clock.wallNow();
        marks.end();
        victimServed = (await inboundRequests(mesh.pod(victim))) - servedBefore;
        ejectionsInFault = watch.events().filter((e) => e.kind === 'ejected' && e.at >= t0 && e.at <= t1).length;
        if (ejectionMs !== null) {
          const back = await watch.next('unejected', t0, afterMs - 2000);
          if (back) backMs = Math.round(Math.max(0, back.at - t1));
          const served = back ? await watch.next('served', back.at, Math.max(0, t1 + afterMs - 2000 - o.clock.wallNow())) : null;
          if (served) servedMs = Math.round(Math.max(0, served.at - t1));
        }
        o.log(`  ${what}: ejected after ${ejectionMs ?? 'never'} ms (${ejectionsInFault} ejections); it served ${victimServed} requests meanwhile; back in rotation ${backMs ?? '-'} ms after the fault, serving after ${servedMs ?? '-'} ms`);
      });
      watch.stop();
      const f = run.figures;
      const bound = burstFailureBound(DEFAULT_OUTLIER.consecutive5xx, ejectionsInFault, o.rps, replicas);
      const inFault = run.records.filter((r) => r.at >= run.fault.startMs && r.at <= run.fault.endMs);
      const sentInFault = inFault.length;
      const slowShare = sentInFault ? Math.round((inFault.filter((r) => r.latencyMs >= DELAY_MS).length / sentInFault) * 1000) / 10 : null;
      const passed = kind === '503-burst'
        ? f.sent > 0 && ejectionMs !== null && f.failed <= bound && servedMs !== null && f.recoveryMs !== null
        : f.sent > 0 && f.failed === 0;
      return {
        passed,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: f,
        extra: {
          fault: what,
          'ejection after (ms)': ejectionMs,
          'ejections during the fault': ejectionsInFault,
          ...(kind === '503-burst'
            ? {
                'failure bound': bound,
                'error rate during the burst (%)': sentInFault ? Math.round((f.failed / sentInFault) * 10000) / 100 : null,
                'back in rotation after the fault (ms)': backMs,
                'serving again after the fault (ms)': servedMs,
              }
            : {
                'share served by the slow replica (%)': victimServed === null || sentInFault === 0 ? null : Math.round((victimServed / sentInFault) * 1000) / 10,
                [`share of requests during the slowdown taking ≥ ${DELAY_MS} ms (%)`]: slowShare,
              }),
          'failures by send time (from the fault)': describeSpans(failureSpans(run.records, run.fault.startMs)),
          'admin read errors': watch.errors().length,
        },
        sidecars: run.sidecars,
        notes: kind === '503-burst'
          ? [
              `Bound: ${DEFAULT_OUTLIER.consecutive5xx} (consecutive_5xx) × ${Math.max(1, ejectionsInFault)} ejection(s) + ${bound - DEFAULT_OUTLIER.consecutive5xx * Math.max(1, ejectionsInFault)} in flight (${IN_FLIGHT_MS} ms of the replica's share of ${o.rps} req/s); an answered 503 is not retried by default, so each one before the ejection reaches the client.`,
              ...(f.failed > bound ? [`${f.failed} failed, past the bound of ${bound}.`] : []),
              ...(ejectionMs === null ? ['The client sidecar did not eject the replica during the burst.'] : []),
            ]
          : [
              `Outlier detection counts failures, not latency, and the route timeout (${DEFAULT_TIMEOUT_MS / 1000} s) is far above ${DELAY_MS} ms: the slow replica keeps its round-robin share, so ${slowShare}% of the requests during the slowdown waited ${DELAY_MS} ms or more${ejectionMs !== null ? ' (it was ejected nonetheless: see the ejection time)' : ''}.`,
            ],
      };
    },
  };
}
