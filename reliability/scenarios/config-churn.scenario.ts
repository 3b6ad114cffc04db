// Scenario 10: config churn — 50 registry edits per second for 60 s under load, none of which removes a serving endpoint.
//
// The edits (mesh/registry-churn.ts) move the catalog's endpoints between zones, add and remove a
// never-ready endpoint at a replica's address, and add and remove an unrelated Service on the catalog's
// port. Met when no request fails, the client sidecar's memory is flat over the churn, it rejected no
// push, and once the edits stop its configuration is the last registry's.
//
// Memory: the sidecar's RSS under load grows in steps as V8 sizes its heap (in rolling-restart, with no
// churn, the client sidecar went from 99 to 177 MiB in 45 s), so RSS alone cannot tell a leak. What
// would is the live heap: the lowest V8 heap-used sample (the one nearest a collection) over the
// churn's last 20 s against its first 20 s. Both are reported; the live heap decides.

import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CLUSTER_DOMAIN } from '../../src/controller/model/defaults';
import { outboundClusterName } from '../../src/controller/translate/envoy-names';
import { parsePrometheusText, sumWhere, type Sample } from '../../src/observability/prom-text';
import { percentile } from '../load/outcomes';
import { sleep, type Mesh } from '../mesh/mesh-up';
import { churnRegistry, servingAddresses, type ChurnFigures, type ChurnTarget, type RegistryList } from '../mesh/registry-churn';
import { sampleProcess } from '../proc/proc-sample';
import type { Scenario } from '../scenario';
import { underLoad } from '../scenario';
import { inboundRequests, sidecarMetrics } from './sidecar-metrics';

const WARM_MS = 10_000;
const AFTER_MS = 10_000;
/** Flat: the client sidecar's live heap grows by less than this over the churn (MiB). */
const HEAP_GROWTH_MB = 10;
/** The sidecar's memory is sampled this often over the churn; the live heap is the lowest heap-used sample of the first and of the last 20 s. */
const SAMPLE_MS = 2000;
const EDGE_MS = 20_000;

function getText(addr: string, path: string, timeoutMs = 3000): Promise<string> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
  });
}

/** Sums of a counter by one label's values. */
function byLabel(samples: readonly Sample[], name: string, label: string, where: Readonly<Record<string, string>> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    const k = s.labels[label] ?? '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) out[k] = (after[k] ?? 0) - (before[k] ?? 0);
  return out;
}

const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const show = (r: Record<string, number>): string => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

interface Counts {
  /** The client sidecar's xDS responses by type, applied and rejected. */
  readonly acked: Record<string, number>;
  readonly nacked: Record<string, number>;
  /** The controller's pushes (to every proxy) by type, and the NACKs it got. */
  readonly pushes: Record<string, number>;
  readonly controllerNacks: number;
  /** Registry loads the controller made. */
  readonly reloads: number;
  readonly failedReloads: number;
}

async function counts(mesh: Mesh): Promise<Counts> {
  const side = await sidecarMetrics(mesh.pod('client'));
  const ctl = parsePrometheusText(await getText(mesh.state.controller.admin, '/metrics'));
  const reg = JSON.parse(await getText(mesh.state.controller.admin, '/debug/registry')) as { reloads?: number; failedReloads?: number };
  return {
    acked: byLabel(side, 'ferry_xds_responses_total', 'type', { outcome: 'ack' }),
    nacked: byLabel(side, 'ferry_xds_responses_total', 'type', { outcome: 'nack' }),
    pushes: byLabel(ctl, 'ferry_controller_pushes_total', 'type'),
    controllerNacks: total(byLabel(ctl, 'ferry_controller_nacks_total', 'type')),
    reloads: reg.reloads ?? NaN,
    failedReloads: reg.failedReloads ?? NaN,
  };
}

/** Addresses on the pods' /24 that no pod holds (the mesh's own bridge: unanswered, nothing leaves it). */
function spareAddresses(mesh: Mesh, n: number): string[] {
  const pods = mesh.readState().pods;
  const prefix = pods[0].ip.split('.').slice(0, 3).join('.');
  const taken = new Set(pods.map((p) => p.ip));
  const out: string[] = [];
  for (let i = 250; i > 200 && out.length < n; i--) if (!taken.has(`${prefix}.${i}`)) out.push(`${prefix}.${i}`);
  return out;
}

interface ClustersPage {
  readonly clusters: { readonly name: string; readonly hosts: { readonly address: string }[] }[];
}

/** The client sidecar's admin /clusters page, read inside its network namespace (the admin listens on the pod's loopback). */
function clientClusters(mesh: Mesh): ClustersPage {
  const pod = mesh.pod('client');
  if (!pod.netns || !pod.sidecar?.admin) throw new Error('the client pod has no sidecar admin in a network namespace');
  const [host, port] = pod.sidecar.admin.split(':');
  const script = `require('http').get({host:${JSON.stringify(host)},port:${Number(port)},path:'/clusters?format=json',timeout:3000},r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>{process.stdout.write(b);process.exit(r.statusCode===200?0:1)})}).on('error',e=>{console.error(e.message);process.exit(1)})`;
  return JSON.parse(execFileSync('ip', ['netns', 'exec', pod.netns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 })) as ClustersPage;
}

/**
 * What the registry says the client should hold now against what its sidecar holds: the catalog's
 * serving endpoints, and the extra Service's cluster with its endpoints or no such cluster. '' when they agree.
 */
function configDiff(mesh: Mesh, t: ChurnTarget, registryFile: string): string {
  const list = JSON.parse(readFileSync(registryFile, 'utf8')) as RegistryList;
  const host = (s: string): string => `${s}.${t.namespace}.svc.${DEFAULT_CLUSTER_DOMAIN}`;
  const extraDeclared = list.items.some((o) => o.kind === 'Service' && o.metadata.name === 'churn-extra');
  const want: Record<string, string[] | null> = {
    [outboundClusterName(t.port, host(t.service))]: servingAddresses(list, t).map((a) => `${a}:${t.port}`),
    [outboundClusterName(t.port, host('churn-extra'))]: extraDeclared ? servingAddresses(list, { ...t, service: 'churn-extra' }).map((a) => `${a}:${t.port}`) : null,
  };
  const page = clientClusters(mesh);
  const diffs: string[] = [];
  for (const [name, hosts] of Object.entries(want)) {
    const c = page.clusters.find((x) => x.name === name);
    const have = c ? c.hosts.map((h) => h.address).sort() : null;
    if (JSON.stringify(have) !== JSON.stringify(hosts)) diffs.push(`${name}: registry ${JSON.stringify(hosts)}, sidecar ${JSON.stringify(have)}`);
  }
  return diffs.join('; ');
}

export function configChurn(churnMs = 60_000, ratePerS = 50): Scenario {
  return {
    name: 'config-churn',
    title: `Config churn: ${ratePerS} EndpointSlice edits per second for ${Math.round(churnMs / 1000)} s under load, no serving endpoint removed`,
    expectation: `0 failed; client sidecar memory flat (live heap growth < ${HEAP_GROWTH_MB} MiB over the churn, RSS reported); no push rejected; the last registry is the final config`,
    async run(mesh, o) {
      const replicas = mesh.podsOf('catalog-');
      if (replicas.length !== 3) throw new Error(`expected 3 catalog replicas, found ${replicas.map((p) => p.name).join(', ')}`);
      const svc = mesh.service('catalog');
      const target: ChurnTarget = { namespace: 'chaos', service: 'catalog', port: svc.port, replicaIps: replicas.map((p) => p.ip), spareIps: spareAddresses(mesh, 4) };
      const registryFile = join(mesh.dir, 'registry', 'mesh.json');
      const sidecarPid = mesh.pid('client', 'ferry-proxy');
      const controllerPid = mesh.controllerPid();
      if (sidecarPid === null || controllerPid === null) throw new Error('the client sidecar or the controller is not running');
      const rss = (pid: number, name: string): number | null => sampleProcess(name, pid).rssMb;
      const readiness = (): string => JSON.stringify(mesh.readState().pods.map((p) => [p.name, p.ready]));

      let churn: ChurnFigures | null = null;
      let before: Counts | null = null;
      let after: Counts | null = null;
      let diff = 'not checked';
      let convergedMs: number | null = null;
      const series: number[] = [];
      /** Heap used (MiB) by time since the churn started (ms). */
      const heap: { at: number; mb: number }[] = [];
      const MIB = 1024 * 1024;
      let rssStart: number | null = null;
      let rssEnd: number | null = null;
      let ctlStart: number | null = null;
      let ctlEnd: number | null = null;
      let readinessChanged = false;
      // Requests the replicas' sidecars served over the whole load: every answer came from a real replica.
      const served = async (): Promise<number> => (await Promise.all(replicas.map((p) => inboundRequests(mesh.pod(p.name))))).reduce((x, y) => x + y, 0);
      const servedBefore = await served();
      const run = await underLoad(mesh, o, { client: 'client', service: 'catalog', path: '/items', method: 'GET', durationMs: WARM_MS + churnMs + AFTER_MS, warmMs: WARM_MS }, async (marks) => {
        before = await counts(mesh);
        const ready0 = readiness();
        rssStart = rss(sidecarPid, 'client/ferry-proxy');
        ctlStart = rss(controllerPid, 'controller');
        marks.start();
        // The sidecar's RSS and heap over the churn, and whether any pod's readiness changed (ferry up rewrites the registry then).
        const churnStart = o.clock.now();
        const sampleHeap = (): void => {
          const at = o.clock.now() - churnStart;
          sidecarMetrics(mesh.pod('client')).then((m) => heap.push({ at, mb: sumWhere(m, 'ferry_process_nodejs_heap_size_used_bytes') / MIB }), () => undefined);
        };
        sampleHeap();
        const sampler = o.clock.setInterval(() => {
          const v = rss(sidecarPid, 'client/ferry-proxy');
          if (v !== null) series.push(v);
          sampleHeap();
          if (readiness() !== ready0) readinessChanged = true;
        }, SAMPLE_MS);
        try {
          churn = await churnRegistry(registryFile, target, { ratePerS, durationMs: churnMs, clock: o.clock });
        } finally {
          o.clock.clearInterval(sampler);
        }
        marks.end();
        rssEnd = rss(sidecarPid, 'client/ferry-proxy');
        ctlEnd = rss(controllerPid, 'controller');
        if (readiness() !== ready0) readinessChanged = true;
        // The last edit reaches the client: the registry's debounce, the controller's, one push.
        const t0 = o.clock.now();
        for (;;) {
          try {
            diff = configDiff(mesh, target, registryFile);
          } catch (err) {
            diff = `could not read the client sidecar's clusters: ${(err as Error).message.split('\n')[0]}`;
          }
          if (diff === '') {
            convergedMs = Math.round(o.clock.now() - t0);
            break;
          }
          if (o.clock.now() - t0 > 10_000) break;
          await sleep(100);
        }
        after = await counts(mesh);
        o.log(`  churn: ${churn.written} edits in ${churn.elapsedMs} ms (${churn.ratePerS}/s), ${churn.skipped} skipped, ${churn.rewrittenMeanwhile} rewritten by ferry up meanwhile; final config ${diff === '' ? `matched ${convergedMs} ms after the last edit` : `DIFFERS: ${diff}`}`);
      });
      const servedByReplicas = (await served()) - servedBefore;
      const c = churn as ChurnFigures | null;
      const b = before as Counts | null;
      const a = after as Counts | null;
      if (!c || !b || !a) throw new Error('the churn did not run to its end');
      const acked = delta(a.acked, b.acked);
      const nacked = delta(a.nacked, b.nacked);
      const pushes = delta(a.pushes, b.pushes);
      const growth = rssStart !== null && rssEnd !== null ? Math.round((rssEnd - rssStart) * 10) / 10 : null;
      const round1 = (x: number): number => Math.round(x * 10) / 10;
      const lowest = (xs: { mb: number }[]): number | null => (xs.length ? round1(Math.min(...xs.map((x) => x.mb))) : null);
      const heapFirst = lowest(heap.filter((h) => h.at < EDGE_MS));
      const heapLast = lowest(heap.filter((h) => h.at > churnMs - EDGE_MS));
      const heapGrowth = heapFirst !== null && heapLast !== null ? round1(heapLast - heapFirst) : null;
      // No sample, or a metric that reads 0: not measured, so not flat.
      const flat = heapGrowth !== null && heapFirst !== null && heapFirst > 0 && heapGrowth < HEAP_GROWTH_MB;
      const inFault = run.records.filter((r) => r.at >= run.fault.startMs && r.at < run.fault.endMs).map((r) => r.latencyMs);
      const beforeFault = run.records.filter((r) => r.at >= 1000 && r.at < run.fault.startMs).map((r) => r.latencyMs);
      const figures = run.figures;
      // p99 by 5 s window, to tell a steady cost of the churn from a spike.
      const windows: string[] = [];
      for (let w = 0; w < run.durationMs; w += 5000) windows.push(String(percentile(run.records.filter((r) => r.at >= w && r.at < w + 5000).map((r) => r.latencyMs), 99)));
      o.log(`  p99 by 5 s window (ms; the churn from ${Math.round(run.fault.startMs / 1000)} s to ${Math.round(run.fault.endMs / 1000)} s): ${windows.join(' ')}`);
      o.log(`  client sidecar RSS every ${SAMPLE_MS / 1000} s of the churn (MiB): ${rssStart} ${series.join(' ')} ${rssEnd}`);
      o.log(`  client sidecar heap used every ${SAMPLE_MS / 1000} s of the churn (MiB): ${heap.map((h) => Math.round(h.mb)).join(' ')}`);
      const notes: string[] = [];
      if (readinessChanged) notes.push('a pod changed readiness during the churn (ferry up rewrote the registry; the churn re-applied its edits on top)');
      if (!flat) notes.push(`client sidecar live heap grew ${heapGrowth} MiB over the churn (${heapFirst} → ${heapLast} MiB)`);
      if (total(nacked) > 0) notes.push(`the client sidecar rejected ${total(nacked)} pushes`);
      if (diff !== '') notes.push(`final config differs from the registry: ${diff}`);
      return {
        passed: figures.failed === 0 && figures.sent > 0 && flat && total(nacked) === 0 && diff === '',
        rps: o.rps,
        durationMs: run.durationMs,
        fault: run.fault,
        figures,
        extra: {
          'requests the 3 replicas served': servedByReplicas,
          'registry edits written': c.written,
          'edits per second': c.ratePerS,
          'edit slots skipped (driver behind)': c.skipped,
          'registry rewritten by ferry up meanwhile': c.rewrittenMeanwhile,
          'controller registry loads': a.reloads - b.reloads,
          'controller failed registry loads': a.failedReloads - b.failedReloads,
          'controller pushes (all proxies)': show(pushes),
          'controller NACKs received': a.controllerNacks - b.controllerNacks,
          'client sidecar xDS responses applied': show(acked),
          'client sidecar xDS responses rejected': total(nacked),
          'edits per client endpoint push': acked.ClusterLoadAssignment ? Math.round((c.written / acked.ClusterLoadAssignment) * 10) / 10 : null,
          'p99 before the churn (ms)': percentile(beforeFault, 99),
          'p99 during the churn (ms)': percentile(inFault, 99),
          'client sidecar RSS churn start → end (MiB)': `${rssStart} → ${rssEnd}`,
          'client sidecar RSS max during the churn (MiB)': series.length ? Math.max(...series) : null,
          'client sidecar live heap, first → last 20 s of the churn (MiB)': `${heapFirst} → ${heapLast}`,
          'controller RSS churn start → end (MiB)': `${ctlStart} → ${ctlEnd}`,
          'final config matched the registry after (ms)': convergedMs,
        },
        sidecars: run.sidecars,
        notes,
      };
    },
  };
}
