// The chaos suite: each scenario against a fresh `ferry up` mesh (netns mode, root), its figures to reliability/results/latest.json and RELIABILITY.md.
//
// Usage: node dist/reliability/run.js [--scenarios=a,b] [--rps=N] [--outage-s=S] [--list] [--render]
// (--render: only RELIABILITY.md again, from reliability/results/latest.json)
// Every scenario's mesh, load client and restarted processes are removed when it ends, also on failure.
// Exits 1 when a scenario misses its expectation or does not complete.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock/clock';
import { parseFlags, UsageError } from '../src/flags/flags';
import { hasTool } from '../src/os/netns';
import { netnsUnavailable } from '../src/cli/up/run';
import { addonPath } from '../sidecar/native/original-dst';
import { Mesh, REPO } from './mesh/mesh-up';
import { renderReliability, type RunResults } from './results-doc';
import type { Scenario, ScenarioOptions, ScenarioResult } from './scenario';
import { caDown } from './scenarios/ca-down.scenario';
import { configChurn } from './scenarios/config-churn.scenario';
import { connectionStorm } from './scenarios/connection-storm.scenario';
import { controllerDown } from './scenarios/controller-down.scenario';
import { networkFault } from './scenarios/network-fault.scenario';
import { replicaFault } from './scenarios/replica-fault.scenario';
import { replicaKill, replicaKillPost } from './scenarios/replica-kill.scenario';
import { rootRotation } from './scenarios/root-rotation.scenario';
import { rollingRestart } from './scenarios/rolling-restart.scenario';
import { rollingRestartProtocol } from './scenarios/rolling-restart-protocols.scenario';
import { sidecarRestart } from './scenarios/sidecar-restart.scenario';

export const SCENARIOS: readonly Scenario[] = [rollingRestart('endpoint-first'), rollingRestart('sigterm-first'), rollingRestartProtocol('h2'), rollingRestartProtocol('grpc'), rollingRestartProtocol('tcp'), rollingRestartProtocol('tcp-connect'), replicaKill(), replicaKillPost(), controllerDown(), sidecarRestart('server'), sidecarRestart('client'), caDown(), rootRotation(), networkFault('blackhole'), networkFault('partition'), networkFault('loss'), replicaFault('503-burst'), replicaFault('slow'), configChurn(), connectionStorm()];

export const HEADER = `# Reliability

Ferry's reliability as measured figures: each scenario puts a fault under an open-loop HTTP/1.1 load
(h2c, gRPC or opaque TCP where its title says so; requests leave on schedule whatever comes back, so
back-pressure hides no failure) through a
\`ferry up\` mesh in netns mode (iptables capture, STRICT mTLS) with Ferry's defaults: three replicas
of the shop's catalog (\`reliability/testdata/mesh/\`; the other protocols, of an echo app) called from
a client pod's sidecar. A request fails unless it gets a 2xx (a gRPC call, grpc-status 0 and its own
bytes back; a TCP exchange, exactly its bytes back); failures are counted by status and \`x-ferry-response-flags\`, or by the
socket error. "Time to recover" runs from the fault's start to the end of the last failed request.
\`make chaos\` runs every scenario (as root); a scenario's own command is under its heading; \`make test\`
runs the rolling restarts, the SIGKILLs and a 10 s controller outage at 200 req/s
(\`reliability/chaos-subset/\`, one test file per scenario). Before its load each scenario waits until the client sidecar
has every endpoint healthy, so no figure is taken with the balancer in panic. The
figures below are the last run's, written by the suite (\`reliability/results/latest.json\`).`;

/** Parses `--scenarios=a,b` against the known names; an unknown name is refused with the list. */
export function pickScenarios(all: readonly Scenario[], list: string | undefined): Scenario[] {
  if (list === undefined || list === '') return [...all];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((name) => {
    const s = all.find((x) => x.name === name);
    if (!s) throw new UsageError(`flag --scenarios: unknown scenario ${JSON.stringify(name)} (known: ${all.map((x) => x.name).join(', ')})`);
    return s;
  });
}

export function commandFor(s: Scenario, o: { rps: number; outageS: number }): string {
  return `node dist/reliability/run.js --scenarios=${s.name} --rps=${o.rps}${s.name === 'controller-down' ? ` --outage-s=${o.outageS}` : ''}`;
}

export async function runOne(s: Scenario, o: ScenarioOptions, command: string): Promise<ScenarioResult> {
  o.log(`${s.name}: ${s.title}`);
  const base = { name: s.name, title: s.title, expectation: s.expectation, command, ranAt: new Date(o.clock.wallNow()).toISOString() };
  let mesh: Mesh | null = null;
  let keep = true;
  try {
    mesh = await Mesh.start(s.manifests ?? o.manifests, o.clock, undefined, s.upArgs);
    const r = await s.run(mesh, o);
    o.log(`${s.name}: ${r.passed ? 'met' : 'NOT MET'} — sent ${r.figures?.sent}, failed ${r.figures?.failed} ${JSON.stringify(r.figures?.failedBy ?? {})}`);
    keep = !r.passed;
    return { ...base, ...r, error: null };
  } catch (err) {
    o.log(`${s.name}: did not complete: ${(err as Error).stack ?? err}`);
    if (mesh) o.log(`--- ferry up ---\n${mesh.log().slice(-3000)}`);
    return { ...base, passed: false, rps: o.rps, durationMs: 0, fault: null, figures: null, extra: {}, sidecars: [], notes: [], error: (err as Error).message.split('\n')[0] };
  } finally {
    await mesh?.stop(keep);
    if (mesh && keep) o.log(`${s.name}: its logs stay in ${mesh.stateDir}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positional } = parseFlags(argv, { scenarios: 'string', rps: 'number', 'outage-s': 'number', list: 'boolean', render: 'boolean' });
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name}\t${s.title}\n`);
    return 0;
  }
  if (values.render) {
    // Only RELIABILITY.md again, from the last figures.
    const results = JSON.parse(readFileSync(join(REPO, 'reliability', 'results', 'latest.json'), 'utf8')) as RunResults;
    writeFileSync(join(REPO, 'RELIABILITY.md'), renderReliability(results, HEADER));
    return 0;
  }
  const picked = pickScenarios(SCENARIOS, typeof values.scenarios === 'string' ? values.scenarios : undefined);
  const rps = typeof values.rps === 'number' ? values.rps : 500;
  if (!(rps > 0 && rps <= 5000)) throw new UsageError(`flag --rps: must be 1–5000, got ${rps}`);
  const outageS = typeof values['outage-s'] === 'number' ? values['outage-s'] : 60;
  if (!(outageS >= 2 && outageS <= 600)) throw new UsageError(`flag --outage-s: must be 2–600, got ${outageS}`);
  const why = netnsUnavailable(hasTool, existsSync(addonPath()));
  if (why) throw new UsageError(`the chaos suite runs ferry up in netns mode, not available here: ${why}`);

  const o: ScenarioOptions = { rps, outageMs: outageS * 1000, manifests: join(REPO, 'reliability', 'testdata', 'mesh'), clock: systemClock, log: (l) => process.stdout.write(`${l}\n`) };
  const startedAt = new Date(systemClock.wallNow()).toISOString();
  const results: ScenarioResult[] = [];
  for (const s of picked) results.push(await runOne(s, o, commandFor(s, { rps, outageS })));

  const dir = join(REPO, 'reliability', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  // A run of some scenarios keeps the last figures of the others, and of the soak.
  let before: RunResults | null = null;
  try {
    before = JSON.parse(readFileSync(file, 'utf8')) as RunResults;
  } catch {
    // no earlier run
  }
  const previous = (before?.scenarios ?? []).filter((p) => !results.some((r) => r.name === p.name) && SCENARIOS.some((s) => s.name === p.name));
  const order = (r: ScenarioResult): number => SCENARIOS.findIndex((s) => s.name === r.name);
  const all: RunResults = { startedAt, host: { cpus: os.cpus().length, node: process.version }, scenarios: [...previous, ...results].sort((a, b) => order(a) - order(b)), ...(before?.soak ? { soak: before.soak } : {}) };
  writeFileSync(file, `${JSON.stringify(all, null, 1)}\n`);
  writeFileSync(join(REPO, 'RELIABILITY.md'), renderReliability(all, HEADER));
  process.stdout.write(`wrote ${file} and RELIABILITY.md\n`);
  return results.every((r) => r.passed && !r.error) ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`chaos: ${err.message}\n`);
    process.exit(2);
  });
}
