// Tests for StopRequest: a caller's promise stops it, start-up work is interrupted, handlers are removed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopRequest } from './stop-request';

test('a stop from the caller resolves stopped, interrupts work still running, and dispose removes the signal handlers', async () => {
  const before = process.listenerCount('SIGTERM');
  let fire: () => void = () => undefined;
  const s = new StopRequest(new Promise<void>((r) => (fire = r)));
  assert.equal(process.listenerCount('SIGTERM'), before + 1);
  const never = new Promise<number>(() => undefined);
  const racing = s.interrupts(never, 'during start-up');
  assert.equal(s.requested, false);
  fire();
  await s.stopped;
  assert.equal(s.requested, true);
  await assert.rejects(racing, /interrupted during start-up/);
  const other = new StopRequest();
  assert.equal(await other.interrupts(Promise.resolve(7), 'x'), 7, 'work that finishes first wins');
  other.dispose();
  s.dispose();
  assert.equal(process.listenerCount('SIGTERM'), before);
});
