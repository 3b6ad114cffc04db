// The run record: what a run made is undone by the next run once its owner is gone, and never while it lives.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeProcess, isAlive, processStartTime, RECORD_FILE, removeStaleRuns, RunRecord, type RunRecordData } from './run-record';

test('processStartTime reads this process; a recorded pid with another start time is not the same process', () => {
  const mine = processStartTime(process.pid);
  assert.ok(mine !== null && mine > 0);
  assert.equal(isAlive(describeProcess('me', process.pid)), true);
  assert.equal(isAlive({ name: 'reused pid', pid: process.pid, startTime: mine! + 1 }), false);
  assert.equal(isAlive({ name: 'gone', pid: 2 ** 22 + 7, startTime: null }), false);
});

test('removeStaleRuns: a dead owner\'s processes and folders go, a live owner\'s record stays', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'ferry-run-record-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  t.after(() => child.kill('SIGKILL'));
  const secret = join(base, 'secret');
  mkdirSync(secret);

  const live = new RunRecord(mkdtempSync(join(base, 'live-')));
  live.addProcess('child', child.pid!);
  assert.deepEqual(removeStaleRuns(base), [], 'the owner (this process) is alive');
  assert.equal(isAlive(describeProcess('child', child.pid!)), true);

  // The same record, as a crashed owner would have left it.
  const data = JSON.parse(readFileSync(live.file, 'utf8')) as RunRecordData;
  const dead: RunRecordData = { ...data, owner: { name: 'owner', pid: 2 ** 22 + 11, startTime: null }, dirs: [secret] };
  writeFileSync(live.file, JSON.stringify(dead));
  const cleaned = removeStaleRuns(base);
  assert.equal(cleaned.length, 1);
  assert.match(cleaned[0], /owner pid \d+\): 1 processes, 0 namespaces, 0 links/);
  await exited;
  assert.throws(() => readFileSync(join(live.dir, RECORD_FILE)), /ENOENT/);
  assert.throws(() => readFileSync(secret), /ENOENT/);
});
