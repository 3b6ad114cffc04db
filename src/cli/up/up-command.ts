// `ferry up -f FILE|DIR`: runs ordinary Kubernetes YAML as an injected, mTLS mesh on this machine, until Ctrl-C, SIGTERM or --duration.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock/clock';
import { parseFlags, UsageError } from '../../flags/flags';
import { hasTool } from '../../os/netns';
import { removeStaleRuns } from '../../os/run-record';
import { addonPath } from '../../../sidecar/native/original-dst';
import { readManifests } from './manifests';
import { DEFAULT_SCRAPE_INTERVAL_SECONDS, prometheusConfig, prometheusDuration } from './prometheus-config';
import { netnsUnavailable, UpRun, type Mode } from './run';
import { StopRequest } from './stop-request';

/**
 * The shortest workload certificate `ferry up` issues: renewal starts at 40–60 % of the lifetime and
 * one attempt may take its 10 s deadline, so below this a slow CA answer alone could outlast a certificate.
 */
export const MIN_CERT_TTL_SECONDS = 30;

export const UP_USAGE = `usage: ferry up -f FILE|DIR [flags]

Runs Kubernetes manifests (Namespaces, Deployments, Pods, Services, HTTPRoutes, TrafficPolicies,
AccessPolicies) as a local mesh: the controller with its CA (mTLS STRICT), pods in namespaces labelled
ferry.io/inject=enabled injected by the webhook's injector, every container's command as a process.

  -f, --filename FILE|DIR  the manifests (a folder is read recursively)
  --mode MODE              auto (default), netns (network namespaces with iptables capture; root) or
                           bind (loopback addresses, no capture)
  --duration S             stop after S seconds (default: run until Ctrl-C or SIGTERM)
  --ready-timeout S        how long pods may take to become ready (default 60)
  --state-dir DIR          where runs keep their folders (default $FERRY_UP_STATE_DIR or TMPDIR/ferry-up);
                           stale state of a run that crashed is removed at start
  --prometheus-config      once ready, print a Prometheus scrape config for the mesh (every sidecar's
                           stats endpoint, the controller's metrics) and write it to prometheus.yml
                           in the run folder
  --prometheus-scrape-interval S  its scrape interval (default ${DEFAULT_SCRAPE_INTERVAL_SECONDS})
  --access-log-format F    the sidecars' access-log lines (one per request and TCP connection, in each
                           sidecar's log file): text (Envoy's default line, default) or json
  --cert-ttl S             lifetime of every workload certificate, whole seconds (default 86400; at
                           least ${MIN_CERT_TTL_SECONDS}): sidecars renew at half of it, so a short one shows rotation

Once ready it prints the mesh dashboard's address (the controller's admin port: topology, golden
metrics per workload, /api/stats). Each run's folder has logs/ (one file per process), registry/ (what the controller reads) and
state.json (every pod, its IP, its sidecar's stats and health addresses, its log files).
`;

/** Parses --cert-ttl: null when absent. */
export function certTtlFlag(v: unknown): number | null {
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_CERT_TTL_SECONDS || v > 365 * 86_400) {
    throw new UsageError(`flag --cert-ttl: must be whole seconds from ${MIN_CERT_TTL_SECONDS} to ${365 * 86_400}, got ${String(v)}`);
  }
  return v;
}

export interface UpDeps {
  readonly clock?: Clock;
  readonly out?: (line: string) => void;
  /** Resolves to stop (default: SIGINT, SIGTERM or --duration). */
  readonly stopSignal?: Promise<void>;
}

/** The mode a run gets for `--mode auto|netns|bind`, and the line that says what it means. */
export function chooseMode(modeFlag: string): { mode: Mode; line: string } {
  const why = netnsUnavailable(hasTool, existsSync(addonPath()));
  if (modeFlag === 'netns' && why) throw new UsageError(`flag --mode netns: not available here (${why})`);
  const mode: Mode = modeFlag === 'bind' || (modeFlag === 'auto' && why !== null) ? 'bind' : 'netns';
  if (mode === 'netns') return { mode, line: 'netns mode — each pod in its own network namespace on a bridge, traffic captured by ferry init (iptables)' };
  return {
    mode,
    line: `bind mode — no capture${why && modeFlag === 'auto' ? ` (netns mode needs root and iptables: ${why})` : ''}; pods on loopback addresses, one outbound proxy binds every service address, so callers reach services with that proxy's identity (spiffe://cluster.local/ns/ferry-system/sa/ferry-outbound); app ports move to free ones (see state.json)`,
  };
}

export async function upCommand(argv: string[], deps: UpDeps = {}): Promise<number> {
  const { values, positional } = parseFlags(argv, {
    filename: 'string',
    mode: 'string',
    duration: 'number',
    'ready-timeout': 'number',
    'state-dir': 'string',
    'prometheus-config': 'boolean',
    'prometheus-scrape-interval': 'number',
    'access-log-format': 'string',
    'cert-ttl': 'number',
    help: 'boolean',
  }, { f: 'filename', h: 'help' });
  if (values.help) {
    process.stdout.write(UP_USAGE);
    return 0;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof values.filename !== 'string') throw new UsageError('ferry up needs -f FILE|DIR');
  const modeFlag = typeof values.mode === 'string' ? values.mode : 'auto';
  if (!['auto', 'netns', 'bind'].includes(modeFlag)) throw new UsageError(`flag --mode: ${JSON.stringify(modeFlag)} is not auto, netns or bind`);
  const duration = typeof values.duration === 'number' ? values.duration : null;
  if (duration !== null && !(duration > 0)) throw new UsageError('flag --duration: must be > 0 seconds');
  const readyTimeout = typeof values['ready-timeout'] === 'number' ? values['ready-timeout'] : 60;
  if (!(readyTimeout > 0)) throw new UsageError('flag --ready-timeout: must be > 0 seconds');
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : process.env.FERRY_UP_STATE_DIR || join(tmpdir(), 'ferry-up');
  const promConfig = values['prometheus-config'] === true;
  const scrapeInterval = typeof values['prometheus-scrape-interval'] === 'number' ? values['prometheus-scrape-interval'] : DEFAULT_SCRAPE_INTERVAL_SECONDS;
  if (values['prometheus-scrape-interval'] !== undefined && !promConfig) throw new UsageError('flag --prometheus-scrape-interval: needs --prometheus-config');
  if (prometheusDuration(scrapeInterval) === null) throw new UsageError(`flag --prometheus-scrape-interval: must be seconds > 0 in whole milliseconds (e.g. 1, 0.5, 15), got ${scrapeInterval}`);
  const certTtlSeconds = certTtlFlag(values['cert-ttl']);
  const clock = deps.clock ?? systemClock;
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));

  const manifests = readManifests([values.filename]);
  for (const line of removeStaleRuns(stateDir)) out(`ferry up: removed what a crashed run left: ${line}`);

  const { mode, line } = chooseMode(modeFlag);
  out(`ferry up: ${line}`);

  const t0 = clock.now();
  const accessLogFormat = typeof values['access-log-format'] === 'string' ? values['access-log-format'] : 'text';
  if (accessLogFormat !== 'text' && accessLogFormat !== 'json') throw new UsageError(`flag --access-log-format: ${JSON.stringify(accessLogFormat)} is not text or json`);
  const run = new UpRun({ manifests, mode, stateDir, readyTimeoutMs: readyTimeout * 1000, clock, out, accessLogFormat, certTtlSeconds });
  out(`ferry up: run folder ${run.dir}`);
  const stop = new StopRequest(deps.stopSignal);
  let code = 0;
  try {
    await stop.interrupts(run.start(), 'during start-up');
    if (promConfig) {
      const file = join(run.dir, 'prometheus.yml');
      const text = prometheusConfig(JSON.parse(readFileSync(join(run.dir, 'state.json'), 'utf8')), { scrapeIntervalSeconds: scrapeInterval });
      writeFileSync(file, text);
      out(`ferry up: Prometheus scrape config (also in ${file}):`);
      out(text.trimEnd());
    }
    const { total, meshed } = run.podCount;
    // The state path stays last: tools read it up to the end of the line.
    out(`ferry up: ready in ${((clock.now() - t0) / 1000).toFixed(1)} s — ${total} pods (${meshed} meshed, ${total - meshed} not); dashboard ${run.dashboardUrl}; state ${join(run.dir, 'state.json')}`);
    out(`ferry up: access logs (${accessLogFormat}): a line per request and TCP connection in each sidecar's log, ${join(run.dir, 'logs', '<namespace>.<pod>.ferry-proxy.log')}`);
    const timer = duration !== null ? clock.setTimeout(() => stop.request(), duration * 1000) : null;
    await stop.stopped;
    clock.clearTimeout(timer);
  } catch (err) {
    if (!stop.requested) {
      out(`ferry up: ${(err as Error).message}`);
      code = 1;
    }
  } finally {
    out('ferry up: stopping');
    const what = await run.stop();
    out(`ferry up: stopped; removed ${what}; logs kept in ${join(run.dir, 'logs')}`);
    stop.dispose();
  }
  return code;
}
