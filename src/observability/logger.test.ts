// The logger: one JSON line per event, stamped with its clock's wall time; children share sink, clock and level.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/fake-clock.fixture';
import { Logger } from './logger';

test('each line carries the wall time of the injected clock; a child keeps the clock, sink and level', () => {
  const clock = new FakeClock(0, Date.UTC(2026, 4, 1, 12, 0, 0));
  const lines: string[] = [];
  const log = new Logger('ferry', 'info', (l) => lines.push(l), clock);
  log.info('first', { n: 1 });
  clock.advance(1_500);
  log.child('ads').warn('second');
  log.debug('not written');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    [
      { time: '2026-05-01T12:00:00.000Z', level: 'info', component: 'ferry', msg: 'first', n: 1 },
      { time: '2026-05-01T12:00:01.500Z', level: 'warn', component: 'ferry.ads', msg: 'second' },
    ],
  );
});
