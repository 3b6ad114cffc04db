import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from './clock';
import { FakeClock } from './fake-clock.fixture';

test('systemClock: monotonic now, epoch wallNow, timers that fire and clear', async () => {
  const a = systemClock.now();
  assert.ok(Math.abs(systemClock.wallNow() - Date.now()) < 1000);
  let fired = 0;
  const cleared = systemClock.setTimeout(() => fired++, 1);
  systemClock.clearTimeout(cleared);
  await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 5));
  assert.equal(fired, 0);
  assert.ok(systemClock.now() >= a);
});

test('FakeClock: timers fire in due order as time passes, intervals re-arm, cleared ones never fire', () => {
  const c = new FakeClock(0, 10_000);
  const log: string[] = [];
  c.setTimeout(() => log.push(`b@${c.now()}`), 20);
  c.setTimeout(() => log.push(`a@${c.now()}`), 10);
  const gone = c.setTimeout(() => log.push('never'), 15);
  const every = c.setInterval(() => log.push(`i@${c.now()}`), 8);
  c.clearTimeout(gone);
  c.advance(5);
  assert.deepEqual(log, []);
  c.advance(20);
  assert.deepEqual(log, ['i@8', 'a@10', 'i@16', 'b@20', 'i@24']);
  assert.equal(c.now(), 25);
  assert.equal(c.wallNow(), 10_025);
  c.clearInterval(every);
  c.advance(100);
  assert.equal(log.length, 5);
  assert.equal(c.pending, 0);
});

test('FakeClock: a timer set by a firing timer fires in the same advance when due', () => {
  const c = new FakeClock(0);
  const log: number[] = [];
  c.setTimeout(() => c.setTimeout(() => log.push(c.now()), 5), 5);
  c.advance(10);
  assert.deepEqual(log, [10]);
});
