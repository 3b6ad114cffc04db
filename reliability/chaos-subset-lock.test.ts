import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from './chaos-subset';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('withLock: holds the file with its pid while fn runs, removes it after, also when fn throws', async (t) => {
  const file = join(tempDir(t), 'lock');
  const seen = await withLock(file, 1000, async () => readFileSync(file, 'utf8').trim());
  assert.equal(seen, String(process.pid));
  assert.equal(existsSync(file), false);
  await assert.rejects(withLock(file, 1000, async () => { throw new Error('boom'); }), /boom/);
  assert.equal(existsSync(file), false);
});

test('withLock: runs one at a time', async (t) => {
  const file = join(tempDir(t), 'lock');
  const order: string[] = [];
  const one = (name: string) => withLock(file, 5000, async () => {
    order.push(`${name} in`);
    await new Promise((r) => setTimeout(r, 300));
    order.push(`${name} out`);
  });
  await Promise.all([one('a'), one('b')]);
  assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out']);
});

test('withLock: takes over a lock left by a dead process; gives up on a live holder after the wait, naming it', async (t) => {
  const file = join(tempDir(t), 'lock');
  const dead = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => dead.on('exit', r));
  writeFileSync(file, `${dead.pid}\n`);
  assert.equal(await withLock(file, 1000, async () => 'ran'), 'ran');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
  t.after(() => live.kill('SIGKILL'));
  writeFileSync(file, `${live.pid}\n`);
  await assert.rejects(withLock(file, 300, async () => 'never'), new RegExp(`still held by pid ${live.pid} after 300 ms`));
  assert.equal(readFileSync(file, 'utf8').trim(), String(live.pid), "the live holder's lock is left alone");
});
