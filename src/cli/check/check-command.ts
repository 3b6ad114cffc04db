// `ferry check`: every sidecar's workload certificate — held, renewing on time, not close to expiry — from its own metrics.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../clock/clock';
import { FerryError } from '../../errors';
import { parseFlags, UsageError } from '../../flags/flags';
import { newestUpRun, parseControllerUrl } from '../stat/stat-command';
import { judgeIdentity, sidecarIdentity, type Level, type SidecarIdentity } from './identity-check';
import { httpGetText, scrapeSidecars, targetsFromSd, targetsFromState, type SidecarTarget } from './sidecar-survey';
import { meshDefaultsLines } from '../../controller/model/defaults-summary';

export const CHECK_USAGE = `usage: ferry check [flags]

Scrapes every sidecar's metrics and reports its workload certificate: an error when it has none or it
expired, a warning while its renewals fail or when a renewal is overdue (the CA is away or hangs),
else the time left; and the root it chains to and the roots it trusts (a root rotation's progress).
Then lists the defaults a service without a TrafficPolicy gets (retries, ejection, health checks).
Exits 0 when every sidecar is fine, 1 otherwise.

  --state FILE       a \`ferry up\` run's state.json: check its sidecars (works while the controller
                     is down; default: the newest running \`ferry up\` under --state-dir)
  --controller URL   check the sidecars the controller's /api/targets lists instead (http://H:P)
  --state-dir DIR    where \`ferry up\` keeps its runs (default $FERRY_UP_STATE_DIR or TMPDIR/ferry-up)
  --grace S          how late a renewal may be before it is reported (default 10)
  --timeout S        per sidecar scrape (default 3)
  -o, --output FMT   json
`;

export interface CheckedSidecar {
  readonly pod: string;
  readonly address: string;
  readonly level: Level;
  readonly message: string;
  readonly identity: SidecarIdentity | null;
}

export interface CheckDeps {
  readonly clock?: Clock;
  readonly out?: (text: string) => void;
}

/** The sidecars to check, from the flags. */
export async function checkTargets(values: Record<string, unknown>, clock: Clock): Promise<SidecarTarget[]> {
  if (typeof values.state === 'string' && typeof values.controller === 'string') throw new UsageError('--state and --controller exclude each other');
  if (typeof values.controller === 'string') {
    const { host, port } = parseControllerUrl(values.controller);
    let body: string;
    try {
      body = await httpGetText(`${host}:${port}`, '/api/targets', 5000, clock);
    } catch (err) {
      throw new FerryError('FERRY_ERR_CHECK_TARGETS', `the controller at ${host}:${port}: /api/targets: ${(err as Error).message}`, { cause: err });
    }
    return targetsFromSd(JSON.parse(body) as { targets: string[]; labels: Record<string, string> }[]);
  }
  const stateDir = typeof values['state-dir'] === 'string' ? values['state-dir'] : process.env.FERRY_UP_STATE_DIR || join(tmpdir(), 'ferry-up');
  return targetsFromState(typeof values.state === 'string' ? values.state : newestUpRun(stateDir).stateFile);
}

/** Scrapes and judges every target. */
export async function checkSidecars(targets: readonly SidecarTarget[], o: { graceMs: number; timeoutMs: number; clock: Clock }): Promise<CheckedSidecar[]> {
  const scrapes = await scrapeSidecars(targets, o.timeoutMs, o.clock);
  const now = o.clock.wallNow();
  return scrapes.map(({ target, samples, error }) => {
    if (samples === null) return { pod: target.pod, address: target.address, level: 'error', message: `metrics unreachable: ${error}`, identity: null };
    const identity = sidecarIdentity(samples);
    return { pod: target.pod, address: target.address, ...judgeIdentity(identity, now, o.graceMs), identity };
  });
}

/** A root fingerprint's first four bytes: enough to tell roots apart in a table. */
function shortRoot(fp: string): string {
  return fp.split(':').slice(0, 4).join(':');
}

/** Which root the certificate chains to and which roots are trusted: what a root rotation waits on. */
function rootsText(id: SidecarIdentity | null): string {
  if (!id || (id.root === null && id.trustedRoots.length === 0)) return '';
  return `  [root ${id.root ? shortRoot(id.root) : '-'}; trusts ${id.trustedRoots.map(shortRoot).join(', ') || '-'}]`;
}

export function formatCheck(rows: readonly CheckedSidecar[]): string {
  const width = Math.max(3, ...rows.map((r) => r.pod.length));
  const tag: Record<Level, string> = { ok: 'ok', warn: 'WARN', error: 'ERROR' };
  const lines = [`${'POD'.padEnd(width)}  STATE  CERTIFICATE`, ...rows.map((r) => `${r.pod.padEnd(width)}  ${tag[r.level].padEnd(5)}  ${r.message}${rootsText(r.identity)}`)];
  const count = (l: Level): number => rows.filter((r) => r.level === l).length;
  lines.push(`${rows.length} sidecar${rows.length === 1 ? '' : 's'}: ${count('ok')} ok, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}, ${count('error')} error${count('error') === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}

export async function checkCommand(argv: string[], deps: CheckDeps = {}): Promise<number> {
  const { values, positional } = parseFlags(argv, { state: 'string', controller: 'string', 'state-dir': 'string', grace: 'number', timeout: 'number', output: 'string', help: 'boolean' }, { o: 'output', h: 'help' });
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  if (values.help) {
    out(CHECK_USAGE);
    return 0;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const grace = typeof values.grace === 'number' ? values.grace : 10;
  if (!(grace >= 0)) throw new UsageError('flag --grace: must be >= 0 seconds');
  const timeout = typeof values.timeout === 'number' ? values.timeout : 3;
  if (!(timeout > 0)) throw new UsageError('flag --timeout: must be > 0 seconds');
  if (values.output !== undefined && values.output !== 'json') throw new UsageError(`flag --output: ${JSON.stringify(values.output)} is not json`);
  const clock = deps.clock ?? systemClock;
  const targets = await checkTargets(values, clock);
  if (targets.length === 0) throw new FerryError('FERRY_ERR_CHECK_TARGETS', 'no sidecars to check');
  const rows = await checkSidecars(targets, { graceMs: grace * 1000, timeoutMs: timeout * 1000, clock });
  out(values.output === 'json' ? `${JSON.stringify(rows, null, 1)}\n` : `${formatCheck(rows)}\nMesh defaults for a service without a TrafficPolicy:\n${meshDefaultsLines().join('\n')}\n`);
  return rows.every((r) => r.level === 'ok') ? 0 : 1;
}
