// Scenario 7: a network fault in one catalog replica's namespace under idempotent GETs — its inbound port blackholed, the whole pod cut off, or lossy.
//
// `blackhole`: every packet to the replica's port 8080 is dropped (iptables in its namespace, before
// the sidecar's capture), so the client sidecar's connection to it stays open and answers nothing; the
// replica's health port still answers, so its readiness holds and only the client sidecar's own
// timeouts and outlier detection act. `partition`: every packet into the pod is dropped (its port, its
// health port, its xDS answers), so its readiness probe fails too and `ferry up` marks its endpoint
// not ready: the controller's endpoint update races outlier detection. `loss`: `tc netem delay 200ms loss 30%` on the replica's eth0
// where the kernel has netem; where it has not, that sub-case is skipped with tc's error and 30% of
// the packets to port 8080 are dropped at random instead (iptables statistic), no delay.
// Ejection and return are read from the client sidecar's admin (/clusters, the replica's endpoint).

import { DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS } from '../../src/config/http-connection-manager';
import { DEFAULT_OUTLIER, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from '../../src/controller/model/defaults';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../../src/controller/translate/clusters';
import { describeSpans, failureSpans } from '../load/failure-spans';
import { hasTool } from '../../src/os/netns';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { sleep } from '../mesh/mesh-up';
import { isServingStatus } from '../mesh/host-tracker';
import { watchHost } from '../mesh/host-watch';
import { dropInbound, droppedPackets, FaultUnavailableError, netem, type PodFault } from '../mesh/pod-faults';
import { upstreamHost } from './upstream-host';

export type NetworkFault = 'blackhole' | 'partition' | 'loss';

const WARM_MS = 3000;
/** How long the fault stays: past the route timeout, so the timeouts it causes can eject the replica while it lasts. */
const FAULT_MS: Record<NetworkFault, number> = { blackhole: DEFAULT_TIMEOUT_MS + 10_000, partition: DEFAULT_TIMEOUT_MS + 10_000, loss: 20_000 };
/**
 * A cut-off pod fails its readiness probe (catalog.yaml: every 1 s; Kubernetes' defaults: 1 s timeout,
 * 3 failures; a failing probe takes its timeout, then the period) and its endpoint should turn not
 * ready, which the controller pushes to the client sidecar.
 */
const PROBE_PERIOD_MS = 1000;
const PROBE_TIMEOUT_MS = 1000;
const PROBE_FAILURES = 3;
export const READINESS_LOSS_MS = PROBE_FAILURES * (PROBE_PERIOD_MS + PROBE_TIMEOUT_MS);

const NAMES: Record<NetworkFault, string> = { blackhole: 'net-blackhole', partition: 'net-partition', loss: 'net-loss' };
const TITLES: Record<NetworkFault, string> = {
  blackhole: "One replica's inbound port blackholed (iptables DROP in its netns), idempotent GETs",
  partition: 'One replica cut off (every packet into its netns dropped: its port, health port and xDS), idempotent GETs',
  loss: 'Packet loss into one replica (netem delay 200ms loss 30%, or iptables 30% random drop without netem), idempotent GETs',
};
/** After the fault: long enough for an ejection to end (base ejection time) and the next sweep to return the replica. */
const AFTER_MS = DEFAULT_OUTLIER.baseEjectionTimeMs + DEFAULT_OUTLIER.intervalMs + 5000;
/** Slack on a bound for this shared, noisy machine. */
const SLACK_MS = 2000;

/**
 * When the client sidecar should eject a blackholed replica, ms after the fault: the requests on its open
 * HTTP/2 connection hang until the route timeout; once they fill the server's stream limit the pool
 * opens another connection, whose SYN is dropped, and after the connect timeout that attempt counts as
 * a connect failure (a 5xx to outlier detection). Whichever comes first yields consecutive_5xx failures.
 */
export function blackholeEjectionMs(rps: number, replicas: number): number {
  const fillMs = (DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS / (rps / replicas)) * 1000;
  return Math.round(Math.min(DEFAULT_TIMEOUT_MS, fillMs + DEFAULT_CONNECT_TIMEOUT_MS) + (DEFAULT_OUTLIER.consecutive5xx * replicas * 1000) / rps);
}

export function networkFault(kind: NetworkFault): Scenario {
  const victim = 'catalog-1';
  return {
    name: NAMES[kind],
    title: TITLES[kind],
    expectation: kind === 'partition'
      ? `out of the client's rotation (not ready or ejected) within the earlier of the readiness bound (${PROBE_FAILURES} × (${PROBE_PERIOD_MS / 1000} s period + ${PROBE_TIMEOUT_MS / 1000} s timeout)) and the blackhole's ejection bound, + ${SLACK_MS / 1000} s; p99 during the fault within the route timeout; back in rotation after the fault`
      : kind === 'blackhole'
      ? `ejected within min(route timeout ${DEFAULT_TIMEOUT_MS / 1000} s, time to fill the dead connection's ${DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS} streams + connect timeout ${DEFAULT_CONNECT_TIMEOUT_MS / 1000} s) + ${SLACK_MS / 1000} s; p99 during the fault within the route timeout; back in rotation after the fault`
      : `p99 during the fault within the route timeout (${DEFAULT_TIMEOUT_MS / 1000} s); no failure after the fault; ejection reported`,
    async run(mesh, o) {
      const client = mesh.pod('client');
      const up = upstreamHost(mesh, 'catalog', victim);
      const watch = await watchHost(mesh, client.name, up.cluster, up.host);
      const notes: string[] = [];
      let applied = '';
      let ejectionMs: number | null = null;
      let backMs: number | null = null;
      let servedMs: number | null = null;
      let dropped: number | null = null;
      let outMs: number | null = null;
      /** When `ferry up` saw the cut-off pod fail its readiness, and when its endpoint turned not ready in the registry. */
      let notReadyMs: number | null = null;
      let notReadyInRegistryMs: number | null = null;
      let outBy = '';
      const faultMs = FAULT_MS[kind];
      const run = await underLoad(mesh, o, { client: client.name, service: 'catalog', path: '/items', method: 'GET', durationMs: WARM_MS + faultMs + AFTER_MS, warmMs: WARM_MS, timeoutMs: DEFAULT_TIMEOUT_MS + 5000 }, async (marks) => {
        // Marked before the fault is made, so the times below are upper bounds.
        const t0 = o.clock.wallNow();
        marks.start();
        let fault: PodFault | null = null;
        if (kind === 'loss') {
          if (!hasTool('tc')) notes.push('tc (iproute2) is not installed: the netem sub-case (delay 200ms loss 30%) was skipped.');
          else {
            try {
              fault = netem(mesh, victim, ['delay', '200ms', 'loss', '30%']);
            } catch (err) {
              if (!(err instanceof FaultUnavailableError)) throw err;
              notes.push(`The netem sub-case (delay 200ms loss 30%) was skipped: the kernel has no netem here — ${err.message}. Loss alone was applied instead: 30% of the packets into the replica's port dropped at random (iptables statistic), no added delay.`);
            }
          }
          fault ??= dropInbound(mesh, victim, up.port, 0.3);
        } else fault = dropInbound(mesh, victim, kind === 'partition' ? null : up.port, null);
        applied = fault.what;
        try {
          if (kind === 'partition') {
            // Out of rotation by whichever comes first: the endpoint update or an ejection.
            const deadline = t0 + faultMs;
            while ((outMs === null || notReadyInRegistryMs === null) && o.clock.wallNow() < deadline) {
              if (notReadyMs === null && !mesh.pod(victim).ready) notReadyMs = Math.round(o.clock.wallNow() - t0);
              if (notReadyInRegistryMs === null && mesh.endpointConditions(victim)?.ready === false) notReadyInRegistryMs = Math.round(o.clock.wallNow() - t0);
              if (outMs !== null) {
                await sleep(100);
                continue;
              }
              const gone = watch.events().find((e) => e.at >= t0 && (e.kind === 'ejected' || (e.kind === 'membership' && !isServingStatus(e.status))));
              if (gone) {
                outMs = Math.round(gone.at - t0);
                outBy = gone.kind === 'ejected' ? 'ejected (outlier detection)' : `endpoint ${gone.kind === 'membership' ? gone.status.toLowerCase() : ''} (readiness)`;
              } else await sleep(50);
            }
          }
          const ejected = kind === 'partition' ? watch.first('ejected', t0) : await watch.next('ejected', t0, faultMs);
          if (ejected) ejectionMs = Math.round(ejected.at - t0);
          await sleep(Math.max(0, t0 + faultMs - o.clock.wallNow()));
          if (fault.what.includes('iptables')) dropped = droppedPackets(mesh, victim);
        } finally {
          fault.undo();
        }
        const t1 = o.clock.wallNow();
        marks.end();
        // Back in rotation and serving again: only after it left.
        const left = kind === 'partition' ? outMs : ejectionMs;
        if (left !== null) {
          const back = await watch.nextInRotation(t1, AFTER_MS - 2000);
          if (back !== null) backMs = Math.round(back - t1);
          const served = back !== null ? await watch.next('served', back, Math.max(0, t1 + AFTER_MS - 2000 - o.clock.wallNow())) : null;
          if (served) servedMs = Math.round(Math.max(0, served.at - t1));
        }
        o.log(`  ${applied}: ${kind === 'partition' ? `out of rotation after ${outMs ?? 'never'} ms (${outBy || '-'}); ` : ''}ejected after ${ejectionMs ?? 'never'} ms; after the fault back in rotation after ${backMs ?? '-'} ms, serving after ${servedMs ?? '-'} ms; ${dropped ?? '-'} packets dropped`);
      });
      watch.stop();
      const replicas = mesh.podsOf('catalog-').length;
      const expectedMs = blackholeEjectionMs(o.rps, replicas);
      const f = run.figures;
      const p99Ok = f.faultP99Ms !== null && f.faultP99Ms <= DEFAULT_TIMEOUT_MS + SLACK_MS / 2;
      const recovered = f.recoveryMs !== null;
      const leftInTime = kind === 'loss'
        || (kind === 'blackhole' && ejectionMs !== null && ejectionMs <= expectedMs + SLACK_MS)
        || (kind === 'partition' && outMs !== null && outMs <= Math.min(READINESS_LOSS_MS, expectedMs) + SLACK_MS);
      const passed = f.sent > 0 && p99Ok && recovered && leftInTime && (kind === 'loss' || servedMs !== null);
      if (kind === 'partition') {
        notes.push(`A cut-off replica fails its readiness probe too, so its endpoint turns not ready (${PROBE_FAILURES} failed probes, every ${PROBE_PERIOD_MS / 1000} s with a ${PROBE_TIMEOUT_MS / 1000} s timeout: ≤ ${READINESS_LOSS_MS / 1000} s) and the controller takes it out of the client's endpoints; outlier detection alone would take ≈ ${(expectedMs / 1000).toFixed(1)} s as for a blackholed port. Requests already on its open connection still wait for the route timeout. Measured: out of rotation after ${outMs === null ? 'never' : `${(outMs / 1000).toFixed(1)} s, by ${outBy}`}.`);
        if (notReadyMs !== null && notReadyInRegistryMs === null) {
          notes.push(`\`ferry up\` saw the pod fail its readiness probe after ${(notReadyMs / 1000).toFixed(1)} s but its endpoint stayed ready in the registry for the whole fault: once a pod has been ready, \`ferry up\` writes its EndpointSlice endpoints as ready (src/cli/up/run.ts, writeRegistry), unlike Kubernetes, so only outlier detection took it out.`);
        }
      }
      if (kind === 'blackhole') {
        notes.push(`The blackholed replica's HTTP/2 connection stays open and answers nothing: the requests on it, up to the server sidecar's ${DEFAULT_DOWNSTREAM_MAX_CONCURRENT_STREAMS} concurrent streams, wait for the route timeout (${DEFAULT_TIMEOUT_MS / 1000} s; no per-try timeout by default) and fail 504 UT, not retried (retry_on ${DEFAULT_RETRIES.retryOn.join(',')}). Once they fill it the pool opens another connection, whose SYN is dropped; after the connect timeout (${DEFAULT_CONNECT_TIMEOUT_MS / 1000} s) that attempt is a connect failure, retried on another replica and counted by outlier detection; ${DEFAULT_OUTLIER.consecutive5xx} in a row eject. Expected ejection at ${o.rps} req/s over ${replicas} replicas: min(route timeout, time to fill the streams + connect timeout) ≈ ${(expectedMs / 1000).toFixed(1)} s; measured ${ejectionMs === null ? 'none' : `${(ejectionMs / 1000).toFixed(1)} s`}.`);
      }
      return {
        passed,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures: f,
        extra: {
          fault: applied,
          ...(kind === 'partition'
            ? { 'out of rotation after (ms)': outMs, 'out of rotation by': outBy || null, 'pod not ready after (ms)': notReadyMs, 'endpoint not ready in the registry after (ms)': notReadyInRegistryMs }
            : {}),
          'ejection after (ms)': ejectionMs,
          'back in rotation after the fault (ms)': backMs,
          'serving again after the fault (ms)': servedMs,
          'packets dropped': dropped,
          ...(kind === 'blackhole' ? { 'expected ejection after (ms)': expectedMs } : {}),
          'failures by send time (from the fault)': describeSpans(failureSpans(run.records, run.fault.startMs)),
          'p99 bound': `route timeout ${DEFAULT_TIMEOUT_MS} ms (no per-try timeout by default)`,
          'admin read errors': watch.errors().length,
        },
        sidecars: run.sidecars,
        notes: [
          ...notes,
          ...(kind === 'loss' && ejectionMs === null
            ? [`No failure reached outlier detection, so nothing ejected the lossy replica: a lost packet costs a TCP retransmission (its timeout starts at 200 ms and doubles), and on the one HTTP/2 connection between the sidecars a stalled segment holds up every stream behind it. The p99 during the fault is that cost; nothing in the defaults bounds it below the route timeout (${DEFAULT_TIMEOUT_MS / 1000} s).`]
            : []),
          ...(kind === 'blackhole' && ejectionMs === null ? [`The client sidecar did not eject the blackholed replica within the fault's ${faultMs / 1000} s.`] : []),
          ...(!p99Ok ? [`p99 during the fault (${f.faultP99Ms} ms) is past the route timeout.`] : []),
          ...(!recovered ? ['Requests still failed in the last second of the run.'] : []),
        ],
      };
    },
  };
}
