// The chaos suite's short subset, run by `make test`: rolling restarts in both orders, a replica's SIGKILL (GETs and POSTs) and the controller down, each against its own `ferry up` mesh at a low rate.
//
// Each scenario is its own test file (reliability/chaos-subset/*.test.ts), so each stays well
// inside the test runner's per-file time limit; a lock runs them one at a time, so two meshes under
// load never share the two cores. The full suite (`make chaos`) runs these and the other scenarios
// at its own rate with a 60 s outage and writes RELIABILITY.md; the subset writes nothing but its
// log, and fails on a scenario that misses its expectation, with its figures. It needs root (ferry
// up in netns mode): elsewhere it is skipped with the reason, and in CI a machine that cannot run it
// fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../src/clock/clock';
import { netnsUnavailable } from '../src/cli/up/run';
import { hasTool } from '../src/os/netns';
import { addonPath } from '../sidecar/native/original-dst';
import { REPO, sleep } from './mesh/mesh-up';
import { commandFor, pickScenarios, runOne, SCENARIOS } from './run';
import type { ScenarioOptions } from './scenario';

/** The subset: the scenarios 1, 2 and 4. */
export const SUBSET = ['rolling-restart-endpoint-first', 'rolling-restart-sigterm-first', 'replica-sigkill', 'replica-sigkill-post', 'controller-down'] as const;
const RPS = 200;
const OUTAGE_S = 10;
/** A subset file waits at most this long for the one before it (each takes well under a minute). */
const LOCK_WAIT_MS = 100_000;
const LOCK_FILE = join(tmpdir(), 'ferry-chaos-subset.lock');

function skipReason(): string | null {
  const why = process.getuid?.() !== 0 ? 'needs root (ferry up in netns mode)' : netnsUnavailable(hasTool, existsSync(addonPath()));
  if (why && process.env.CI) assert.fail(`the chaos subset cannot run in CI: ${why}`);
  return why;
}

function holderAlive(file: string): boolean {
  let pid = NaN;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding this pid): waits while a
 * live process holds it, takes over one left by a dead process, gives up after `waitMs` naming the holder.
 */
export async function withLock<T>(file: string, waitMs: number, fn: () => Promise<T>, clock: Clock = systemClock): Promise<T> {
  const end = clock.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!holderAlive(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (clock.now() > end) throw new Error(`${file} still held by pid ${readFileSync(file, 'utf8').trim()} after ${waitMs} ms`);
      await sleep(250, clock);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** Declares the test of one subset scenario: its own mesh at the subset's rate, one at a time. */
export function subsetTest(name: (typeof SUBSET)[number]): void {
  test(`chaos subset at ${RPS} req/s: ${name}`, async (t) => {
    const skip = skipReason();
    if (skip) {
      process.stdout.write(`chaos subset skipped: ${skip}\n`);
      return t.skip(skip);
    }
    const [s] = pickScenarios(SCENARIOS, name);
    const lines: string[] = [];
    const o: ScenarioOptions = { rps: RPS, outageMs: OUTAGE_S * 1000, manifests: join(REPO, 'reliability', 'testdata', 'mesh'), clock: systemClock, log: (l) => lines.push(l) };
    const r = await withLock(LOCK_FILE, LOCK_WAIT_MS, () => runOne(s, o, commandFor(s, { rps: RPS, outageS: OUTAGE_S })));
    process.stdout.write(`${s.name}: sent ${r.figures?.sent}, failed ${r.figures?.failed} ${JSON.stringify(r.figures?.failedBy ?? {})} ${JSON.stringify(r.extra)}\n`);
    assert.equal(r.error, null, `${s.name} did not complete: ${r.error}\n${lines.join('\n')}`);
    assert.ok(r.passed, `${s.name}: ${s.expectation} — not met: ${JSON.stringify(r.figures)} ${r.notes.join(' ')}\n${lines.join('\n')}`);
  });
}
