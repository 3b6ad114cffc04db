// `ferry stat` and `ferry edges`: the mesh's golden metrics from the controller's /api/stats, once or --watch.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock/clock';
import type { StatsDocument } from '../../controller/stats/mesh-stats';
import { FerryError } from '../../errors';
import { parseFlags, UsageError } from '../../flags/flags';
import { statsFromPrometheus } from './prometheus-stats';
import { edgeRows, formatEdges, formatStatTable, statRows, type Resource, type StatQuery } from './stat-table';

export const STAT_USAGE = `usage: ferry stat [deploy|pod|svc] [NAME] [flags]

The mesh's golden metrics per workload (deploy, the default), pod or service, from the controller's
scrapes of every sidecar: inbound success rate, requests per second, latency quantiles, open TCP
connections and the share of traffic over mTLS. MESHED counts the pods with a connected sidecar.

  -n, --namespace NS   only this namespace (default: all, with a NAMESPACE column)
  --from WORKLOAD      the traffic a workload sends (ns/name, or name with -n), by destination
  -t, --window S       the span the rates cover (default 60 s; at most what the controller keeps)
  -w, --watch          refresh at the controller's scrape interval until Ctrl-C
  -o, --output FMT     wide (adds TCP bytes and the window) or json
  --controller URL     the controller's admin address (http://H:P or H:P; default: the newest running
                       \`ferry up\` under --state-dir)
  --prometheus URL     read PromQL from a Prometheus that scrapes the sidecars instead (e.g. through the
                       controller's /api/targets); MESHED then counts scraped sidecars only
  --state-dir DIR      where \`ferry up\` keeps its runs (default $FERRY_UP_STATE_DIR or TMPDIR/ferry-up)
`;

export const EDGES_USAGE = `usage: ferry edges [flags]

Each pair of workloads that talked in the window: SRC → DST, the client's SPIFFE identity as the
destination's sidecar saw it, the server's identity, and whether the traffic was mTLS.

  -n, --namespace NS   edges with either end in this namespace
  -t, --window S       the span (default 60 s)
  -w, --watch          refresh until Ctrl-C
  -o, --output FMT     json
  --controller URL     as for ferry stat
  --prometheus URL     as for ferry stat (edges then seen from the destination's side only)
  --state-dir DIR      as for ferry stat
`;

export interface StatDeps {
  readonly clock?: Clock;
  readonly out?: (text: string) => void;
  /** Resolves to end --watch (default: SIGINT or SIGTERM). */
  readonly stopSignal?: Promise<void>;
}

/** The admin address of the newest `ferry up` run under `stateDir` whose process still runs. */
export function controllerFromUpRuns(stateDir: string): string {
  return newestUpRun(stateDir).admin;
}

/** The newest `ferry up` run under `stateDir` whose process still runs: its state file and controller admin address. */
export function newestUpRun(stateDir: string): { stateFile: string; admin: string } {
  const runs = existsSync(stateDir) ? readdirSync(stateDir).filter((e) => e.startsWith('run-')) : [];
  const live: { file: string; admin: string; mtime: number }[] = [];
  for (const r of runs) {
    const file = join(stateDir, r, 'state.json');
    // A run that stopped removed its record.json; one without a controller yet has none to show.
    if (!existsSync(file) || !existsSync(join(stateDir, r, 'record.json'))) continue;
    try {
      const state = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; controller?: { admin?: string } | null };
      if (!state.controller?.admin || typeof state.pid !== 'number' || !processAlive(state.pid)) continue;
      live.push({ file, admin: state.controller.admin, mtime: statSync(file).mtimeMs });
    } catch {
      // being written right now: the next look will see it
    }
  }
  if (live.length === 0) {
    throw new UsageError(`no running \`ferry up\` found under ${stateDir}; start one (ferry up -f DIR) or name the controller with --controller http://HOST:PORT`);
  }
  const newest = live.sort((a, b) => b.mtime - a.mtime)[0];
  return { stateFile: newest.file, admin: newest.admin };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `http://H:P`, `H:P` → host and port; anything else is a usage error naming the flag. */
export function parseControllerUrl(raw: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`flag --controller: ${JSON.stringify(raw)} is not an address (http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`flag --controller: ${JSON.stringify(raw)}: the admin server speaks http://`);
  if (!url.port) throw new UsageError(`flag --controller: ${JSON.stringify(raw)} has no port`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

function getStats(addr: { host: string; port: number }, windowS: number, clock: Clock): Promise<StatsDocument> {
  const path = `/api/stats?window=${windowS}&series=0`;
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => req.destroy(new Error('timed out after 5 s')), 5000);
    const req = request({ host: addr.host, port: addr.port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clock.clearTimeout(timer);
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 404) return reject(new FerryError('FERRY_ERR_ADMIN', `${addr.host}:${addr.port} has no /api/stats: is the controller running with --stats-interval 0, or is this not a controller?`));
        if (res.statusCode !== 200) return reject(new FerryError('FERRY_ERR_ADMIN', `/api/stats: HTTP ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as StatsDocument);
        } catch (err) {
          reject(new FerryError('FERRY_ERR_ADMIN', '/api/stats: not JSON', { cause: err }));
        }
      });
    });
    req.on('error', (err) => {
      clock.clearTimeout(timer);
      reject(new FerryError('FERRY_ERR_ADMIN', `cannot reach the controller admin at ${addr.host}:${addr.port}: ${err.message}`, { cause: err }));
    });
    req.end();
  });
}

const COMMON = {
  namespace: 'string',
  window: 'number',
  watch: 'boolean',
  output: 'string',
  controller: 'string',
  prometheus: 'string',
  'state-dir': 'string',
  help: 'boolean',
} as const;
const ALIASES = { n: 'namespace', w: 'watch', o: 'output', t: 'window', h: 'help' };

interface Common {
  readonly namespace: string | null;
  readonly windowS: number;
  readonly watch: boolean;
  readonly output: 'table' | 'wide' | 'json';
  /** Where the document comes from: the controller's /api/stats, or PromQL. */
  readonly fetch: (clock: Clock) => Promise<StatsDocument>;
}

function common(values: Record<string, unknown>): Common {
  const str = (k: string): string | null => (typeof values[k] === 'string' ? (values[k] as string) : null);
  const windowS = typeof values.window === 'number' ? values.window : 60;
  if (!(windowS > 0)) throw new UsageError('flag --window: must be > 0 seconds');
  const output = str('output') ?? 'table';
  if (!['table', 'wide', 'json'].includes(output)) throw new UsageError(`flag --output: ${JSON.stringify(output)} is not wide or json`);
  const prometheus = str('prometheus');
  if (prometheus !== null && str('controller') !== null) throw new UsageError('--prometheus and --controller exclude each other: the stats come from one of them');
  let fetch: Common['fetch'];
  if (prometheus !== null) {
    try {
      new URL(prometheus.includes('://') ? prometheus : `http://${prometheus}`);
    } catch {
      throw new UsageError(`flag --prometheus: ${JSON.stringify(prometheus)} is not a URL (http://HOST:PORT)`);
    }
    fetch = (clock) => statsFromPrometheus(prometheus, windowS, clock);
  } else {
    const stateDir = str('state-dir') ?? (process.env.FERRY_UP_STATE_DIR || join(tmpdir(), 'ferry-up'));
    const controller = parseControllerUrl(str('controller') ?? controllerFromUpRuns(stateDir));
    fetch = (clock) => getStats(controller, windowS, clock);
  }
  return { namespace: str('namespace'), windowS, watch: values.watch === true, output: output as Common['output'], fetch };
}

/** Prints once, or every scrape interval with --watch until stopped. */
async function loop(c: Common, deps: StatDeps, render: (doc: StatsDocument) => string): Promise<number> {
  const clock = deps.clock ?? systemClock;
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  let doc = await c.fetch(clock);
  if (!c.watch) {
    out(render(doc));
    return 0;
  }
  let stop = false;
  let wake: () => void = () => undefined;
  const onSignal = (): void => {
    stop = true;
    wake();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void deps.stopSignal?.then(onSignal);
  const tty = process.stdout.isTTY === true && deps.out === undefined;
  try {
    while (!stop) {
      out(`${tty ? '\x1b[2J\x1b[H' : ''}${doc.generatedAt}  (every ${doc.intervalMs / 1000} s, window ${doc.windowMs / 1000} s; ${doc.targets.up}/${doc.targets.total} sidecars scraped)\n${render(doc)}${tty ? '' : '\n'}`);
      await new Promise<void>((r) => {
        wake = r;
        clock.setTimeout(r, doc.intervalMs).unref();
      });
      if (!stop) doc = await c.fetch(clock);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return 0;
}

export async function statCommand(argv: string[], deps: StatDeps = {}): Promise<number> {
  const { values, positional } = parseFlags(argv, { ...COMMON, from: 'string' }, ALIASES);
  if (values.help) {
    (deps.out ?? ((t: string) => process.stdout.write(t)))(STAT_USAGE);
    return 0;
  }
  const kinds: Record<string, Resource> = { deploy: 'deploy', deployment: 'deploy', deployments: 'deploy', workload: 'deploy', pod: 'pod', pods: 'pod', po: 'pod', svc: 'svc', service: 'svc', services: 'svc' };
  let rest = positional;
  let resource: Resource = 'deploy';
  if (rest.length > 0 && kinds[rest[0]] !== undefined) {
    resource = kinds[rest[0]];
    rest = rest.slice(1);
  } else if (rest.length > 1) {
    throw new UsageError(`${JSON.stringify(rest[0])} is not a resource type (deploy, pod or svc)`);
  }
  if (rest.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(rest[1])}`);
  const c = common(values);
  const from = typeof values.from === 'string' ? values.from : null;
  if (from !== null && resource !== 'deploy') throw new UsageError('flag --from: only with deploy (the rows are the workloads it calls)');
  const q: StatQuery = { resource, name: rest[0] ?? null, namespace: c.namespace, from, wide: c.output === 'wide' };
  return loop(c, deps, (doc) => {
    const rows = statRows(doc, q);
    return c.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatStatTable(rows, q);
  });
}

export async function edgesCommand(argv: string[], deps: StatDeps = {}): Promise<number> {
  const { values, positional } = parseFlags(argv, COMMON, ALIASES);
  if (values.help) {
    (deps.out ?? ((t: string) => process.stdout.write(t)))(EDGES_USAGE);
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const c = common(values);
  if (c.output === 'wide') throw new UsageError('flag --output: ferry edges knows json only');
  return loop(c, deps, (doc) => {
    const edges = edgeRows(doc, c.namespace);
    return c.output === 'json' ? `${JSON.stringify(edges, null, 2)}\n` : formatEdges(edges);
  });
}
