// The chaos suite's short subset, run by `make test`: rolling restarts in both orders, a replica's SIGKILL (GETs and POSTs) and the controller down, each against its own `ferry up` mesh at a low rate.
//
// The full suite (`make chaos`) runs these and the other scenarios at its own rate with a 60 s
// outage and writes RELIABILITY.md; this test writes nothing but its log, and fails on any scenario
// that misses its expectation, with its figures. It needs root (ferry up in netns mode): elsewhere it
// is skipped with the reason, and in CI a machine that cannot run it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../src/clock/clock';
import { netnsUnavailable } from '../src/cli/up/run';
import { hasTool } from '../src/os/netns';
import { addonPath } from '../sidecar/native/original-dst';
import { REPO } from './mesh/mesh-up';
import { commandFor, pickScenarios, runOne, SCENARIOS } from './run';
import type { ScenarioOptions } from './scenario';

/** The subset: the scenarios 1, 2 and 4. */
export const SUBSET = ['rolling-restart-endpoint-first', 'rolling-restart-sigterm-first', 'replica-sigkill', 'replica-sigkill-post', 'controller-down'];
const RPS = 200;
const OUTAGE_S = 10;

function skipReason(): string | null {
  const why = process.getuid?.() !== 0 ? 'needs root (ferry up in netns mode)' : netnsUnavailable(hasTool, existsSync(addonPath()));
  if (why && process.env.CI) assert.fail(`the chaos subset cannot run in CI: ${why}`);
  return why;
}

test(`chaos subset at ${RPS} req/s: ${SUBSET.join(', ')}`, { timeout: 8 * 60_000 }, async (t) => {
  const skip = skipReason();
  if (skip) {
    process.stdout.write(`chaos subset skipped: ${skip}\n`);
    return t.skip(skip);
  }
  const lines: string[] = [];
  const o: ScenarioOptions = { rps: RPS, outageMs: OUTAGE_S * 1000, manifests: join(REPO, 'reliability', 'testdata', 'mesh'), clock: systemClock, log: (l) => lines.push(l) };
  for (const s of pickScenarios(SCENARIOS, SUBSET.join(','))) {
    await t.test(s.name, async () => {
      const r = await runOne(s, o, commandFor(s, { rps: RPS, outageS: OUTAGE_S }));
      process.stdout.write(`${s.name}: sent ${r.figures?.sent}, failed ${r.figures?.failed} ${JSON.stringify(r.figures?.failedBy ?? {})} ${JSON.stringify(r.extra)}\n`);
      assert.equal(r.error, null, `${s.name} did not complete: ${r.error}\n${lines.join('\n')}`);
      assert.ok(r.passed, `${s.name}: ${s.expectation} — not met: ${JSON.stringify(r.figures)} ${r.notes.join(' ')}\n${lines.join('\n')}`);
    });
  }
});
