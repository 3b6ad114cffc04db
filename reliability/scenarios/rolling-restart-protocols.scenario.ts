// Scenario 1 in other protocols: the rolling restart with the endpoint update first, under an h2c, a gRPC or an opaque TCP load, against the echo app.
//
// The same restart as rolling-restart.scenario.ts (endpoint terminating, 1 s, SIGTERM, a 3 s drain,
// restart, ready; one replica after the other) on the echo app's three replicas
// (reliability/testdata/mesh-protocols/), each protocol on its own declared port.
//
// What each variant claims:
// - h2: 0 failed: every request, a stream on the client's shared HTTP/2 connection to its sidecar, gets a 2xx;
// - grpc: 0 failed: every unary call ends with grpc-status 0 and its reply is its request's bytes;
// - tcp-connect: 0 failed: every exchange is a connection of its own that writes 256 bytes and must
//   read back exactly those (an altered, extra or missing byte fails it, as does a reset), so no new
//   connection reached a replica that had stopped serving and none open at a drain's end was cut;
// - tcp: long-lived connections, reused one exchange at a time as a connection pool does. Opaque TCP
//   gives neither the app nor the proxy a message boundary, so a replica that drains can only close
//   its connections, and an exchange whose bytes were on their way then gets no echo. What the mesh
//   owes such a connection, and what is checked: not one byte altered, every cut visible to the client
//   (a close or a reset under the exchange, on a connection that had carried earlier ones), and no
//   exchange on a new connection failing (new connections go to serving replicas only). The cuts are
//   counted, not hidden: they are the failures of the run, and nothing else may fail.

import { join } from 'node:path';
import type { LoadProtocol } from '../load/exchange';
import { isOk } from '../load/outcomes';
import { REPO, sleep } from '../mesh/mesh-up';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { restartReplica, ROLLING_TAIL_MS } from './rolling-restart.scenario';
import { responseConflicts, retriesAttempted } from './sidecar-metrics';

export type RestartProtocol = 'h2' | 'grpc' | 'tcp' | 'tcp-connect';

const MANIFESTS = join(REPO, 'reliability', 'testdata', 'mesh-protocols');
/** Bytes of each gRPC message and of each TCP exchange. */
const EXCHANGE_BYTES = 256;

/** Ends of an exchange that mean its connection was cut under it (not a timeout, not altered bytes). */
const CUT = new Set(['ESHORT', 'ECONNRESET', 'EPIPE']);

const LOADS: Readonly<Record<RestartProtocol, { protocol: LoadProtocol; service: string; path: string; method: 'GET' | 'POST'; bodyBytes: number; reuse?: boolean; words: string }>> = {
  h2: { protocol: 'h2c', service: 'echo-h2', path: '/items', method: 'GET', bodyBytes: 0, words: 'h2c (HTTP/2 prior knowledge) requests' },
  grpc: { protocol: 'grpc', service: 'echo-grpc', path: '/ferry.chaos.Echo/Echo', method: 'POST', bodyBytes: EXCHANGE_BYTES, words: `unary gRPC calls of ${EXCHANGE_BYTES} bytes` },
  tcp: { protocol: 'tcp', service: 'echo-tcp', path: '/', method: 'GET', bodyBytes: EXCHANGE_BYTES, reuse: true, words: `opaque TCP exchanges of ${EXCHANGE_BYTES} echoed bytes on long-lived, reused connections` },
  'tcp-connect': { protocol: 'tcp', service: 'echo-tcp', path: '/', method: 'GET', bodyBytes: EXCHANGE_BYTES, words: `opaque TCP connections, each echoing ${EXCHANGE_BYTES} bytes` },
};

const EXPECTATIONS: Readonly<Record<RestartProtocol, string>> = {
  h2: '0 failed',
  grpc: '0 failed: every call grpc-status 0 with its own bytes back',
  'tcp-connect': '0 failed: every connection’s bytes echoed exactly',
  tcp: '0 altered, 0 failed on new connections; only exchanges on a connection its draining replica closed fail, visibly (counted)',
};

export function rollingRestartProtocol(p: RestartProtocol): Scenario {
  const load = LOADS[p];
  return {
    name: `rolling-restart-${p}`,
    title: `Rolling restart of 3 replicas, SIGTERM + graceful drain, endpoint update before the SIGTERM, under ${load.words}`,
    expectation: EXPECTATIONS[p],
    manifests: MANIFESTS,
    async run(mesh, o) {
      const replicas = mesh.podsOf('echo-').map((x) => x.name);
      if (replicas.length !== 3) throw new Error(`expected 3 echo replicas, found ${replicas.join(', ')}`);
      const http = load.protocol !== 'tcp';
      const retriesBefore = http ? await retriesAttempted(mesh.pod('client')) : 0;
      const restarts: number[] = [];
      let reapplied = 0;
      const run = await underLoad(mesh, o, { client: 'client', service: load.service, protocol: load.protocol, path: load.path, method: load.method, bodyBytes: load.bodyBytes, reuseConnections: load.reuse, durationMs: 45_000, tailMs: ROLLING_TAIL_MS, warmMs: 3000 }, async (marks) => {
        marks.start();
        for (const pod of replicas) {
          const r = await restartReplica(mesh, pod, 'endpoint-first', o.clock, o.log, 'echo');
          restarts.push(r.restartMs);
          reapplied += r.reapplied;
          await sleep(1000);
        }
        marks.end();
      });
      const figures = run.figures;
      const altered = (figures.failedBy.EMISMATCH ?? 0) + (figures.failedBy.EEXTRA ?? 0);
      const failed = run.records.filter((r) => !isOk(r));
      const cut = failed.filter((r) => r.reused && CUT.has(r.error)).length;
      // Pooled TCP: the cuts of reused connections are the only failures allowed; anything else (a timeout, a new connection failing, altered bytes) is not.
      const passed = figures.sent > 0 && (p === 'tcp' ? altered === 0 && cut === failed.length : figures.failed === 0);
      return {
        passed,
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures,
        extra: {
          'restart per replica (ms)': restarts.join(' / '),
          ...(http
            ? {
                'client retries': await retriesAttempted(mesh.pod('client')).then((n) => n - retriesBefore, () => null),
                'client response conflicts': await responseConflicts(mesh.pod('client')).catch(() => null),
              }
            : {}),
          ...(p === 'h2' ? {} : { 'exchanges with altered bytes': altered, 'bytes echoed and verified': figures.ok * EXCHANGE_BYTES }),
          ...(p === 'tcp'
            ? {
                'exchanges cut with their connection': cut,
                'failed on a new connection': failed.filter((r) => !r.reused).length,
                'exchanges on reused connections': run.records.filter((r) => r.reused).length,
              }
            : {}),
          'terminating mark re-applied': reapplied,
        },
        sidecars: run.sidecars,
        notes: [],
      };
    },
  };
}
