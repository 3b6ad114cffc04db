// `ferry demo` (`make demo`): the shop (examples/shop) through `ferry up` — injection, mTLS and metrics,
// the three things a mesh is for — with traffic for a while, then what each showed, read back from the
// sidecars' own metrics and the controller.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock, type Clock } from '../../clock/clock';
import { FerryError } from '../../errors';
import { parseFlags, UsageError } from '../../flags/flags';
import type { StatsDocument } from '../../controller/stats/mesh-stats';
import { parsePrometheusText, type Sample } from '../../observability/prom-text';
import { removeStaleRuns } from '../../os/run-record';
import { readManifests } from '../up/manifests';
import { UpRun } from '../up/run';
import { StopRequest } from '../up/stop-request';
import { chooseMode } from '../up/up-command';
import { formatStatTable, statRows } from '../stat/stat-table';
import { deniedLines, injectionLines, mtlsLines, rescueLines, type DeniedCall, type DemoInput, type DemoPod, type DemoService } from './report';

export const DEMO_USAGE = `usage: ferry demo [--seconds S] [--keep] [--mode auto|netns|bind] [--state-dir DIR]

Runs the shop (examples/shop) as a local mesh with \`ferry up\`: pods in the labelled namespace are
injected, every meshed call is mutual TLS with SPIFFE identities, and the sidecars' metrics are
summed up by the controller. After S seconds of traffic (default 40) it prints what happened and
stops everything; --keep keeps the mesh running until Ctrl-C.
`;

const SHOP = resolve(__dirname, '..', '..', '..', '..', 'examples', 'shop');
const TRUST_DOMAIN = 'cluster.local';

interface StatePod {
  readonly namespace: string;
  readonly name: string;
  readonly workload: string;
  readonly labels: Record<string, string>;
  readonly serviceAccount?: string;
  readonly netns: string | null;
  readonly meshed: boolean;
  readonly notMeshedBecause: string | null;
  readonly sidecar: { readonly stats: string } | null;
}

interface RunState {
  readonly mode: 'netns' | 'bind';
  readonly controller: { readonly admin: string } | null;
  readonly outbound: { readonly stats: string } | null;
  readonly services: readonly { readonly namespace: string; readonly name: string; readonly clusterIP: string | null; readonly ports: readonly number[] }[];
  readonly pods: readonly StatePod[];
}

function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((done) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => done({ status: 0, body: err.message }));
  });
}

/** `Deployment shop/catalog-v1` → `catalog-v1`. */
function workloadName(w: string): string {
  const slash = w.lastIndexOf('/');
  return slash >= 0 ? w.slice(slash + 1) : w;
}

/** Services and their selectors, from what the controller reads. */
function servicesOf(runDir: string): DemoService[] {
  const list = JSON.parse(readFileSync(join(runDir, 'registry', 'mesh.json'), 'utf8')) as { items: { kind: string; metadata: { namespace: string; name: string }; spec?: { selector?: Record<string, string> } }[] };
  return list.items.filter((o) => o.kind === 'Service').map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name, selector: o.spec?.selector ?? {} }));
}

async function scrape(state: RunState): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>();
  const targets: [string, string][] = state.pods.filter((p) => p.sidecar).map((p) => [`${p.namespace}/${p.name}`, p.sidecar!.stats]);
  if (state.outbound) targets.push(['ferry-system/ferry-outbound', state.outbound.stats]);
  await Promise.all(targets.map(async ([key, addr]) => {
    const r = await httpGet(`http://${addr}/stats/prometheus`);
    out.set(key, r.status === 200 ? parsePrometheusText(r.body) : []);
  }));
  return out;
}

/**
 * A call the shop's AccessPolicy must refuse: from the cart pod (its own identity, through its own
 * sidecar in netns mode) to the catalog, which only the frontend may call.
 */
async function deniedCall(state: RunState): Promise<DeniedCall | null> {
  const catalog = state.services.find((s) => s.namespace === 'shop' && s.name === 'catalog');
  const cart = state.pods.find((p) => p.namespace === 'shop' && p.labels.app === 'cart');
  if (!catalog?.clusterIP || !cart) return null;
  const url = `http://${catalog.clusterIP}:${catalog.ports[0]}/items`;
  if (state.mode === 'bind' || cart.netns === null) {
    const r = await httpGet(url);
    return { from: 'the host (through the outbound proxy)', to: 'shop/catalog', ...r };
  }
  const script = `require('node:http').get(${JSON.stringify(url)},{timeout:3000},(r)=>{let b='';r.setEncoding('utf8');r.on('data',(c)=>b+=c);r.on('end',()=>console.log(r.statusCode+'\\n'+b))}).on('error',(e)=>console.log('0\\n'+e.message))`;
  const text = await new Promise<string>((done) => {
    execFile('ip', ['netns', 'exec', cart.netns!, process.execPath, '-e', script], { timeout: 10_000 }, (err, stdout) => done(err && !stdout ? `0\n${err.message}` : stdout));
  });
  const nl = text.indexOf('\n');
  return { from: `${cart.namespace}/${cart.name} (identity ${`spiffe://${TRUST_DOMAIN}/ns/shop/sa/${cart.serviceAccount ?? 'default'}`})`, to: 'shop/catalog', status: Number(text.slice(0, nl)) || 0, body: text.slice(nl + 1) };
}

function demoInput(state: RunState, runDir: string, namespaces: ReadonlyMap<string, Record<string, string>>, samples: Map<string, Sample[]>, denied: DeniedCall | null): DemoInput {
  const pods: DemoPod[] = state.pods.map((p) => ({
    namespace: p.namespace, name: p.name, workload: workloadName(p.workload), labels: p.labels, meshed: p.meshed,
    notMeshedBecause: p.notMeshedBecause, serviceAccount: p.serviceAccount ?? 'default', namespaceLabels: namespaces.get(p.namespace) ?? {},
  }));
  return { mode: state.mode, trustDomain: TRUST_DOMAIN, pods, services: servicesOf(runDir), samples, denied };
}

/** What the frontend answered so far (its sidecar's inbound count): requests, 2xx, over mutual TLS. */
function servedSoFar(state: RunState, samples: Map<string, Sample[]>): { total: number; ok: number; mtls: number } {
  let total = 0;
  let ok = 0;
  let mtls = 0;
  for (const p of state.pods.filter((x) => x.labels.app === 'frontend')) {
    for (const s of samples.get(`${p.namespace}/${p.name}`) ?? []) {
      if (s.name !== 'ferry_requests_total' || s.labels.reporter !== 'destination') continue;
      total += s.value;
      if (s.labels.response_code?.startsWith('2')) ok += s.value;
      if (s.labels.connection_security_policy === 'mutual_tls') mtls += s.value;
    }
  }
  return { total, ok, mtls };
}

export interface DemoDeps {
  readonly clock?: Clock;
  readonly out?: (line: string) => void;
  readonly stopSignal?: Promise<void>;
  readonly shopDir?: string;
}

export async function demoCommand(argv: string[], deps: DemoDeps = {}): Promise<number> {
  const { values, positional } = parseFlags(argv, { seconds: 'number', keep: 'boolean', mode: 'string', 'state-dir': 'string', help: 'boolean' }, { h: 'help' });
  if (values.help) {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const seconds = typeof values.seconds === 'number' ? values.seconds : 40;
  if (!(seconds > 0)) throw new UsageError('flag --seconds: must be > 0');
  const modeFlag = typeof values.mode === 'string' ? values.mode : 'auto';
  if (!['auto', 'netns', 'bind'].includes(modeFlag)) throw new UsageError(`flag --mode: ${JSON.stringify(modeFlag)} is not auto, netns or bind`);
  const clock = deps.clock ?? systemClock;
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const shop = deps.shopDir ?? SHOP;
  if (!existsSync(shop)) throw new FerryError('FERRY_ERR_UP_START', `the shop's manifests are missing: ${shop}`);
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : process.env.FERRY_UP_STATE_DIR || join(tmpdir(), 'ferry-up');

  out(`ferry demo: the shop (${shop}) as a local mesh`);
  for (const line of removeStaleRuns(stateDir)) out(`ferry demo: removed what a crashed run left: ${line}`);
  const { mode, line } = chooseMode(modeFlag);
  out(`ferry demo: ${line}`);
  const all = readManifests([shop]);
  // Bind mode has one outbound identity for every caller, so the shop's AccessPolicy (only the frontend
  // may call the catalog) would refuse the frontend too: that variant runs without it, and says so.
  const manifests = mode === 'bind' ? { ...all, meshObjects: all.meshObjects.filter((o) => o.kind !== 'AccessPolicy') } : all;
  if (mode === 'bind') out('ferry demo: bind mode leaves the AccessPolicy out (every caller has the outbound proxy\'s identity); as root, netns mode gives each pod its own');
  const run = new UpRun({ manifests, mode, stateDir, readyTimeoutMs: 90_000, clock, out: (l) => out(`  ${l}`) });
  const stop = new StopRequest(deps.stopSignal);
  const sleep = (ms: number): Promise<void> => new Promise((r) => {
    const t = clock.setTimeout(r, ms);
    void stop.stopped.then(() => {
      clock.clearTimeout(t);
      r();
    });
  });
  let code = 0;
  try {
    const t0 = clock.now();
    await stop.interrupts(run.start(), 'during start-up');
    const { total, meshed } = run.podCount;
    out(`ferry demo: ready in ${((clock.now() - t0) / 1000).toFixed(1)} s — ${total} pods, ${meshed} meshed; run folder ${run.dir}`);
    const state = (): RunState => JSON.parse(readFileSync(join(run.dir, 'state.json'), 'utf8')) as RunState;
    out(`ferry demo: traffic for ${seconds} s (loadgen calls the frontend, which calls catalog and cart; cart keeps counts in store over TCP)`);
    const until = clock.now() + seconds * 1000;
    while (!stop.requested && clock.now() < until) {
      await sleep(Math.min(10_000, until - clock.now()));
      const st = state();
      const so = servedSoFar(st, await scrape(st));
      const share = (k: number): string => (so.total ? `${((100 * k) / so.total).toFixed(1)} %` : '–');
      out(`  ${Math.round((seconds * 1000 - (until - clock.now())) / 1000)} s: the frontend answered ${so.total} requests, ${share(so.ok)} with 200, ${share(so.mtls)} over mutual TLS`);
    }
    if (stop.requested) throw new Error('interrupted');
    const s = state();
    const denied = mode === 'netns' ? await deniedCall(s) : null;
    const input = demoInput(s, run.dir, manifests.namespaces, await scrape(s), denied);
    const report: string[] = [];
    const section = (title: string, lines: readonly string[]): void => {
      out('');
      out(title);
      for (const l of lines) out(l);
      report.push(...lines);
    };
    section('1. Injection — a namespace labelled ferry.io/inject=enabled gets the sidecar in every pod', injectionLines(input.pods, mode));
    section('2. mTLS — certificates from the mesh CA, STRICT: who called whom, with which identities', [...mtlsLines(input), ...deniedLines(denied, mode)]);
    const stats = s.controller ? await httpGet(`http://${s.controller.admin}/api/stats?window=30&series=0`) : null;
    const table = stats?.status === 200
      ? formatStatTable(statRows(JSON.parse(stats.body) as StatsDocument, { resource: 'deploy', name: null, namespace: null, from: null, wide: false }), { resource: 'deploy', name: null, namespace: null, from: null, wide: false })
      : `  ✗ the controller's /api/stats did not answer (${stats?.status ?? 'no controller'})\n`;
    section('3. Metrics — summed up across the sidecars by the controller (ferry stat, last 30 s)', [
      ...table.trimEnd().split('\n').map((l) => (l.startsWith('  ✗') ? l : `  ${l}`)),
      ...rescueLines(input),
    ]);
    // In bind mode the AccessPolicy refuses every caller (one outbound identity), so only netns mode is held to the ✓ marks.
    if (mode === 'netns' && report.some((l) => l.startsWith('  ✗'))) code = 1;
    out(`  the same from the shell: ferry stat, ferry edges; in a browser: the dashboard at ${run.dashboardUrl} (./bin/ferry demo --keep keeps it running)`);
    out(`  access logs: a line per request and TCP connection in each sidecar's log, ${join(run.dir, 'logs', '<namespace>.<pod>.ferry-proxy.log')}`);
    out('');
    if (values.keep) {
      out(`ferry demo: --keep: the mesh keeps running; Ctrl-C stops it (state ${join(run.dir, 'state.json')})`);
      await stop.stopped;
    }
  } catch (err) {
    if (!stop.requested) {
      out(`ferry demo: ${(err as Error).message}`);
      code = 1;
    }
  } finally {
    out('ferry demo: stopping');
    const what = await run.stop();
    out(`ferry demo: stopped; removed ${what}; logs kept in ${join(run.dir, 'logs')}`);
    stop.dispose();
  }
  return code;
}
